// The S3 operations roomrec needs (PutObject, multipart upload, GetObject, HeadObject,
// DeleteObject, ListObjectsV2), signed with SigV4 headers, over one HttpClient.
#pragma once

#include <roomrec/byte_source.h>
#include <roomrec/status.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "s3/http_client.h"
#include "s3/s3_uri.h"
#include "s3/sigv4.h"

namespace roomrec::s3 {

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
  std::string etag;  // without the surrounding quotes S3 puts around it
};

struct ListResult {
  std::vector<ObjectInfo> objects;
  std::vector<std::string> common_prefixes;
};

struct S3ClientOptions {
  HttpOptions http;
  uint64_t multipart_threshold = 64ull << 20;  // bodies of this size or more go multipart
  uint64_t part_size = 16ull << 20;            // raised when 10,000 parts would not hold the body
  uint32_t retries = 3;                        // extra attempts for transient failures (100, 200, 400 ms apart)
};

// One per thread (owns an HttpClient).
class S3Client {
 public:
  // uri: not presigned. The keys below are FULL keys (use uri.key(relative) to prefix them).
  S3Client(S3Uri uri, S3ClientOptions o = {});

  // A single PUT with Content-MD5 and x-amz-content-sha256 UNSIGNED-PAYLOAD, or multipart
  // (CreateMultipartUpload, UploadPart with Content-MD5 each, CompleteMultipartUpload;
  // AbortMultipartUpload on failure) when size >= multipart_threshold.
  // The ByteSource overload reads the body (a part at a time for multipart) into memory to compute
  // Content-MD5; as the bytes are then in memory, each request is retried (`retries`) on transient
  // failures in both overloads. A source that fails or ends early is not retried.
  Status put(const std::string& key, ByteSource& body, uint64_t size,
             std::string_view content_type = "application/octet-stream");
  Status put(const std::string& key, std::string_view bytes, std::string_view content_type = "application/octet-stream");
  // Streams the object to sink; retried only while the sink has received nothing.
  Status get(const std::string& key, const BodySink& sink);
  // Small objects, whole in memory.
  Result<std::string> get(const std::string& key);
  Result<ObjectInfo> head(const std::string& key);
  // DeleteObject (ok when the key does not exist, as S3 answers).
  Status remove(const std::string& key);
  // ListObjectsV2 with prefix and optional delimiter, following continuation tokens to the end.
  Result<ListResult> list(const std::string& prefix, std::string_view delimiter = "");

  const S3Uri& uri() const { return uri_; }
  HttpClient& http() { return http_; }

 private:
  struct Call;
  Result<HttpResponse> send(Call& call, uint32_t retries);
  Status put_single(const std::string& key, std::string_view bytes, std::string_view content_type, uint32_t retries);
  template <class NextPart>
  Status put_multipart(const std::string& key, uint64_t size, std::string_view content_type, uint32_t retries,
                       NextPart&& next_part);

  S3Uri uri_;
  Credentials credentials_;
  S3ClientOptions options_;
  HttpClient http_;
};

// PUT to an already presigned URL (opaque): Content-MD5 header set (when not empty), exact
// Content-Length. Not retried.
Status put_presigned(HttpClient& http, const std::string& url, ByteSource& body, uint64_t size,
                     std::string_view content_md5_b64);

// put_presigned() of a local file, read afresh for each attempt: transient failures (connection
// errors, timeouts, 5xx, 429) are retried up to `retries` times, 100, 200, 400 ms... apart; any other
// answer (an expired or forged URL: 403) is returned at once.
Status put_presigned_file(HttpClient& http, const std::string& url, const std::string& path,
                          uint32_t retries = 3);

}  // namespace roomrec::s3
