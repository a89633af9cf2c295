#include "s3/s3_client.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <thread>

namespace roomrec::s3 {
namespace {

constexpr uint32_t kMaxParts = 10000;

std::string empty_sha256() { return sha256_hex("", 0); }

std::string unquote(std::string s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') return s.substr(1, s.size() - 2);
  return s;
}

std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

bool parse_u64(std::string_view s, uint64_t& out) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\n' || s.front() == '\r' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t'))
    s.remove_suffix(1);
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool transient(ErrorCode c) { return c == ErrorCode::unavailable || c == ErrorCode::timeout; }

// Reads exactly n bytes of src into out (replacing it).
Status read_exactly(ByteSource& src, uint64_t n, uint64_t done_before, uint64_t total, std::string& out) {
  out.resize(static_cast<size_t>(n));
  uint64_t got = 0;
  while (got < n) {
    auto r = src.read(reinterpret_cast<uint8_t*>(out.data()) + got, static_cast<size_t>(n - got));
    if (!r) return r.status();
    if (*r == 0)
      return Status::error(ErrorCode::invalid_argument, "body ended after " + std::to_string(done_before + got) +
                                                            " of the " + std::to_string(total) + " bytes announced");
    got += *r;
  }
  return Status::ok();
}

// The source must be at its end once every announced byte is read.
Status expect_end(ByteSource& src, uint64_t total) {
  uint8_t extra;
  auto r = src.read(&extra, 1);
  if (!r) return r.status();
  if (*r != 0)
    return Status::error(ErrorCode::invalid_argument,
                         "body is longer than the " + std::to_string(total) + " bytes announced");
  return Status::ok();
}

}  // namespace

// One S3 operation, signed afresh for each attempt.
struct S3Client::Call {
  std::string method;
  std::string key;
  std::vector<std::pair<std::string, std::string>> query;
  Headers headers;
  bool has_body = false;
  std::string_view body;
  std::string payload_sha256;  // empty: SHA-256 of the empty payload
  const BodySink* sink = nullptr;
  bool sink_used = false;      // bytes reached the sink: no retry possible
};

S3Client::S3Client(S3Uri uri, S3ClientOptions o)
    : uri_(std::move(uri)), credentials_(credentials_of(uri_)), options_(std::move(o)), http_(options_.http) {}

Result<HttpResponse> S3Client::send(Call& call, uint32_t retries) {
  if (uri_.presigned)
    return Status::error(ErrorCode::invalid_argument, "S3Client needs a bucket URI, not a presigned URL");
  BodySink wrapped;
  if (call.sink) {
    wrapped = [&call](const uint8_t* p, size_t n) {
      call.sink_used = true;
      return (*call.sink)(p, n);
    };
  }
  const std::string payload = call.has_body && call.payload_sha256.empty() ? std::string(kUnsignedPayload)
                              : call.payload_sha256.empty()                 ? empty_sha256()
                                                                            : call.payload_sha256;
  for (uint32_t attempt = 0;; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100u << std::min(attempt - 1, 6u)));
    S3Request req = make_request(uri_, call.method, call.key);
    req.query = call.query;
    req.headers = call.headers;
    sign_headers(req, credentials_, payload, static_cast<int64_t>(std::time(nullptr)));
    const std::string url = req.url();
    Result<HttpResponse> r = call.has_body ? http_.request(call.method, url, req.headers, call.body)
                                           : http_.request(call.method, url, req.headers, nullptr, 0, wrapped);
    const bool can_retry = attempt < retries && !call.sink_used;
    if (!r) {
      if (can_retry && transient(r.status().code())) continue;
      return r;
    }
    if (can_retry && is_transient_status(r->status)) continue;
    return r;
  }
}

Status S3Client::put(const std::string& key, std::string_view bytes, std::string_view content_type) {
  const uint64_t size = bytes.size();
  if (size > 0 && size >= options_.multipart_threshold) {
    uint64_t off = 0;
    return put_multipart(key, size, content_type, options_.retries,
                         [&](uint64_t n) -> Result<std::string_view> {
                           std::string_view part = bytes.substr(static_cast<size_t>(off), static_cast<size_t>(n));
                           off += n;
                           return part;
                         });
  }
  return put_single(key, bytes, content_type, options_.retries);
}

Status S3Client::put(const std::string& key, ByteSource& body, uint64_t size, std::string_view content_type) {
  const std::string what = "PUT " + uri_.bucket + "/" + key;
  if (size > 0 && size >= options_.multipart_threshold) {
    std::string scratch;
    uint64_t off = 0;
    // Each part is read into memory before it is sent, so its request is retried like any other.
    return put_multipart(key, size, content_type, options_.retries, [&](uint64_t n) -> Result<std::string_view> {
      Status s = read_exactly(body, n, off, size, scratch);
      off += n;
      if (s.is_ok() && off == size) s = expect_end(body, size);
      if (!s) return s.with_context(what + ": request body");
      return std::string_view(scratch);
    });
  }
  // Content-MD5 goes before the body: read it whole first.
  std::string bytes;
  Status s = read_exactly(body, size, 0, size, bytes);
  if (s.is_ok()) s = expect_end(body, size);
  if (!s) return s.with_context(what + ": request body");
  return put_single(key, bytes, content_type, options_.retries);
}

Status S3Client::put_single(const std::string& key, std::string_view bytes, std::string_view content_type,
                            uint32_t retries) {
  Call c;
  c.method = "PUT";
  c.key = key;
  c.headers = {{"Content-Type", std::string(content_type)}, {"Content-MD5", content_md5_base64(bytes)}};
  c.has_body = true;
  c.body = bytes;
  auto r = send(c, retries);
  if (!r) return r.status();
  return check_status(*r, "PUT " + uri_.bucket + "/" + key);
}

template <class NextPart>
Status S3Client::put_multipart(const std::string& key, uint64_t size, std::string_view content_type,
                               uint32_t retries, NextPart&& next_part) {
  const std::string what = uri_.bucket + "/" + key;
  uint64_t part_size = std::max<uint64_t>(options_.part_size, 1);
  part_size = std::max<uint64_t>(part_size, (size + kMaxParts - 1) / kMaxParts);

  // CreateMultipartUpload.
  std::string upload_id;
  {
    Call c;
    c.method = "POST";
    c.key = key;
    c.query = {{"uploads", ""}};
    c.headers = {{"Content-Type", std::string(content_type)}};
    auto r = send(c, retries);
    if (!r) return r.status();
    if (Status s = check_status(*r, "CreateMultipartUpload " + what); !s) return s;
    auto doc = parse_xml(r->body);
    if (doc && doc->name == "InitiateMultipartUploadResult") upload_id = doc->child_text("UploadId");
    if (upload_id.empty())
      return Status::error(ErrorCode::internal, "CreateMultipartUpload " + what + ": no UploadId in the answer");
  }

  auto abort = [&](Status why) {
    Call c;
    c.method = "DELETE";
    c.key = key;
    c.query = {{"uploadId", upload_id}};
    (void)send(c, retries);  // best effort: the first error is the one that matters
    return why;
  };

  std::vector<std::string> etags;
  uint64_t off = 0;
  for (uint32_t number = 1; off < size; ++number) {
    const uint64_t n = std::min(part_size, size - off);
    Result<std::string_view> part = next_part(n);
    if (!part) return abort(part.status());
    Call c;
    c.method = "PUT";
    c.key = key;
    c.query = {{"partNumber", std::to_string(number)}, {"uploadId", upload_id}};
    c.headers = {{"Content-MD5", content_md5_base64(*part)}};
    c.has_body = true;
    c.body = *part;
    auto r = send(c, retries);
    if (!r) return abort(r.status());
    if (Status s = check_status(*r, "UploadPart " + std::to_string(number) + " of " + what); !s) return abort(s);
    std::string etag = r->header("ETag");
    if (etag.empty())
      return abort(Status::error(ErrorCode::internal,
                                 "UploadPart " + std::to_string(number) + " of " + what + ": no ETag in the answer"));
    etags.push_back(std::move(etag));
    off += n;
  }

  // CompleteMultipartUpload.
  std::string xml = "<CompleteMultipartUpload>";
  for (size_t i = 0; i < etags.size(); ++i)
    xml += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" + xml_escape(etags[i]) +
           "</ETag></Part>";
  xml += "</CompleteMultipartUpload>";
  Call c;
  c.method = "POST";
  c.key = key;
  c.query = {{"uploadId", upload_id}};
  c.headers = {{"Content-Type", "application/xml"}};
  c.has_body = true;
  c.body = xml;
  c.payload_sha256 = sha256_hex(xml.data(), xml.size());
  auto r = send(c, retries);
  if (!r) return abort(r.status());
  if (Status s = check_status(*r, "CompleteMultipartUpload " + what); !s) return abort(s);
  // S3 may answer 200 and still fail, with an Error document in the body.
  if (auto doc = parse_xml(r->body); doc && doc->name == "Error") {
    HttpResponse as_error = *r;
    as_error.status = 500;
    return abort(check_status(as_error, "CompleteMultipartUpload " + what));
  }
  return Status::ok();
}

Status S3Client::get(const std::string& key, const BodySink& sink) {
  Call c;
  c.method = "GET";
  c.key = key;
  c.sink = &sink;
  auto r = send(c, options_.retries);
  if (!r) return r.status();
  return check_status(*r, "GET " + uri_.bucket + "/" + key);
}

Result<std::string> S3Client::get(const std::string& key) {
  Call c;
  c.method = "GET";
  c.key = key;
  auto r = send(c, options_.retries);
  if (!r) return r.status();
  if (Status s = check_status(*r, "GET " + uri_.bucket + "/" + key); !s) return s;
  return std::move(r->body);
}

Result<ObjectInfo> S3Client::head(const std::string& key) {
  Call c;
  c.method = "HEAD";
  c.key = key;
  auto r = send(c, options_.retries);
  if (!r) return r.status();
  const std::string what = "HEAD " + uri_.bucket + "/" + key;
  if (Status s = check_status(*r, what); !s) return s;
  ObjectInfo info;
  info.key = key;
  info.etag = unquote(r->header("ETag"));
  if (!parse_u64(r->header("Content-Length"), info.size))
    return Status::error(ErrorCode::internal, what + ": no valid Content-Length in the answer");
  return info;
}

Status S3Client::remove(const std::string& key) {
  Call c;
  c.method = "DELETE";
  c.key = key;
  auto r = send(c, options_.retries);
  if (!r) return r.status();
  return check_status(*r, "DELETE " + uri_.bucket + "/" + key);
}

Result<ListResult> S3Client::list(const std::string& prefix, std::string_view delimiter) {
  const std::string what = "ListObjectsV2 " + uri_.bucket + "/" + prefix;
  ListResult out;
  std::string token;
  for (int page = 0;; ++page) {
    Call c;
    c.method = "GET";
    c.query = {{"list-type", "2"}, {"prefix", prefix}};
    if (!delimiter.empty()) c.query.emplace_back("delimiter", std::string(delimiter));
    if (!token.empty()) c.query.emplace_back("continuation-token", token);
    auto r = send(c, options_.retries);
    if (!r) return r.status();
    if (Status s = check_status(*r, what); !s) return s;
    auto doc = parse_xml(r->body);
    if (!doc) return doc.status().with_context(what);
    if (doc->name != "ListBucketResult")
      return Status::error(ErrorCode::internal, what + ": unexpected answer <" + doc->name + ">");
    for (const XmlNode& n : doc->children) {
      if (n.name == "Contents") {
        ObjectInfo o;
        o.key = n.child_text("Key");
        o.etag = unquote(n.child_text("ETag"));
        if (!parse_u64(n.child_text("Size"), o.size))
          return Status::error(ErrorCode::internal, what + ": bad <Size> for " + o.key);
        out.objects.push_back(std::move(o));
      } else if (n.name == "CommonPrefixes") {
        out.common_prefixes.push_back(n.child_text("Prefix"));
      }
    }
    if (doc->child_text("IsTruncated") != "true") break;
    std::string next = doc->child_text("NextContinuationToken");
    if (next.empty() || next == token)
      return Status::error(ErrorCode::internal, what + ": truncated listing without a new continuation token");
    token = std::move(next);
  }
  return out;
}

Status put_presigned(HttpClient& http, const std::string& url, ByteSource& body, uint64_t size,
                     std::string_view content_md5_b64) {
  Headers headers;
  if (!content_md5_b64.empty()) headers.emplace_back("Content-MD5", std::string(content_md5_b64));
  auto r = http.request("PUT", url, headers, &body, size);
  if (!r) return r.status();
  return check_status(*r, "PUT " + strip_query(url));
}

Status put_presigned_file(HttpClient& http, const std::string& url, const std::string& path, uint32_t retries) {
  for (uint32_t attempt = 0;; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100u << std::min(attempt - 1, 6u)));
    auto src = file_source(path);
    if (!src) return src.status();
    std::error_code ec;
    const uint64_t size = std::filesystem::file_size(path, ec);
    if (ec) return Status::error(ErrorCode::io, "cannot size " + path + ": " + ec.message());
    Status s = put_presigned(http, url, *src.value(), size, "");
    if (s.is_ok() || attempt >= retries || !transient(s.code())) return s;
  }
}

}  // namespace roomrec::s3
