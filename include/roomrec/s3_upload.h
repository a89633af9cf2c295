// Uploading chunks to S3 through presigned PUT URLs.
//
// A UrlProvider answers "where do I PUT this chunk?" with a presigned URL:
//  - the local presigner signs it itself from an S3 URI
//    (http(s)://KEY:SECRET@host:port/bucket/prefix?path_style=true&region=...);
//  - the connector client asks a connector service over HTTP:
//      POST {url}  {"app":"a","room":"r","peer":"p","session":1,"index":0,"from_ts":1,"to_ts":2,"key":"..."}
//      answer      {"s3_uri":"https://...presigned PUT URL..."}
//                  (also accepted: {"status":true,"data":{"s3_uri":"..."}})
//  - a host callback answers later, from any thread.
// The presigned sink PUTs each chunk with Content-MD5 (so the server checks
// its integrity) and asks for a fresh URL on every attempt, so an expired URL
// costs one retry, never a chunk.
#pragma once

#include <roomrec/clock.h>
#include <roomrec/export.h>
#include <roomrec/status.h>
#include <roomrec/upload_queue.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace roomrec {

// The reference's RecordReq: what a connector is told about a chunk.
struct RecordReq {
  std::string app, room, peer;
  uint64_t session = 0;
  uint32_t index = 0;
  uint64_t from_ts = 0, to_ts = 0;
};

using UrlAnswer = std::function<void(Result<std::string> presigned_put_url)>;

class ROOMREC_API UrlProvider {
 public:
  virtual ~UrlProvider() = default;
  // Asks for a PUT URL for `key`; `answer` is called exactly once, from any
  // thread, now or later.
  virtual void request(const RecordReq& req, const std::string& key, UrlAnswer answer) = 0;
  virtual std::string describe() const = 0;
};

// Signs PUT URLs from an S3 URI, for {uri prefix}/{key}, valid expires_s.
ROOMREC_API Result<std::shared_ptr<UrlProvider>> make_local_presigner(std::string_view s3_uri,
                                                                      uint32_t expires_s = 86400,
                                                                      const Clock* clock = nullptr);

struct ConnectorConfig {
  std::string url;                                            // POST endpoint
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. Authorization: Bearer ...
  uint64_t timeout_ms = 10'000;
};
ROOMREC_API std::shared_ptr<UrlProvider> make_connector_client(ConnectorConfig config);

using UrlCallback = std::function<void(const RecordReq& req, const std::string& key, UrlAnswer answer)>;
ROOMREC_API std::shared_ptr<UrlProvider> make_callback_provider(UrlCallback callback);

enum class RecordHookKind { started, peer_joined };

struct PresignedSinkConfig {
  uint64_t url_timeout_ms = 30'000;  // waiting for a provider's answer
  uint64_t connect_timeout_ms = 5'000;
  uint64_t low_speed_time_s = 20;    // abort a PUT moving < 1 KiB/s for this long
  std::string ca_file;               // TLS trust (system default when empty)
  // Called once per room recording (started, path = "{prefix}/{app}/{room}/{record_id}")
  // and once per peer session (peer_joined, path = ".../{peer}/{session}"), when the
  // first chunk is uploaded. Any upload thread.
  std::function<void(RecordHookKind kind, const RecordReq& req, const std::string& path)> on_record_event;
  std::string path_prefix;           // prepended to hook paths (the S3 URI's prefix)
};

ROOMREC_API std::shared_ptr<ChunkSink> make_presigned_sink(std::shared_ptr<UrlProvider> provider,
                                                           PresignedSinkConfig config = {});

// A sink for a "file://..." URI or a plain path (LocalDirectorySink), or for an
// S3 URI (presigned sink with a local presigner).
ROOMREC_API Result<std::shared_ptr<ChunkSink>> make_sink_for_uri(std::string_view uri,
                                                                 PresignedSinkConfig config = {});

}  // namespace roomrec
