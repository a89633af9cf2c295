#include "s3/http_client.h"

#include "util/base64.h"
#include "util/utf8.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <mutex>

namespace roomrec::s3 {
namespace {

constexpr size_t kErrorBodyCap = 64 * 1024;

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

bool icontains(std::string_view hay, std::string_view needle) {
  if (needle.empty()) return true;
  if (hay.size() < needle.size()) return false;
  for (size_t i = 0; i + needle.size() <= hay.size(); ++i)
    if (iequals(hay.substr(i, needle.size()), needle)) return true;
  return false;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

bool is_2xx(long status) { return status >= 200 && status < 300; }

// Everything a transfer's callbacks need.
struct Transfer {
  HttpResponse* response = nullptr;
  const BodySink* sink = nullptr;
  bool sink_stopped = false;
  const HttpOptions* options = nullptr;
  bool refused_address = false;
};

int progress_cb(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  return t->options->cancel && t->options->cancel->load() ? 1 : 0;  // non-zero: CURLE_ABORTED_BY_CALLBACK
}

// Opens each connection's socket once its peer address passed address_allowed.
curl_socket_t open_socket_cb(void* user, curlsocktype, curl_sockaddr* a) {
  auto* t = static_cast<Transfer*>(user);
  char text[INET6_ADDRSTRLEN] = "";
  if (a->family == AF_INET)
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&a->addr)->sin_addr, text, sizeof text);
  else if (a->family == AF_INET6)
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&a->addr)->sin6_addr, text, sizeof text);
  if (!text[0] || !t->options->address_allowed(text)) {
    t->refused_address = true;
    return CURL_SOCKET_BAD;
  }
  return ::socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

// Failures before an HTTP answer was read: what a client-chosen target must not tell apart.
bool is_connect_phase(CURLcode c) {
  switch (c) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_HTTP2:
    case CURLE_PARTIAL_FILE:
      return true;
    default:
      return false;
  }
}

size_t header_cb(char* data, size_t size, size_t nitems, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * nitems;
  std::string_view line(data, n);
  if (line.starts_with("HTTP/")) {
    // A new status line (after a 1xx, or a resend): start over.
    t->response->headers.clear();
    t->response->status = 0;
    size_t sp = line.find(' ');
    if (sp != std::string_view::npos) {
      long code = 0;
      size_t i = sp + 1;
      while (i < line.size() && line[i] >= '0' && line[i] <= '9') code = code * 10 + (line[i++] - '0');
      t->response->status = code;
    }
    return n;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return n;  // blank line ending the headers, or junk
  t->response->headers.emplace_back(std::string(trim(line.substr(0, colon))),
                                    std::string(trim(line.substr(colon + 1))));
  return n;
}

size_t write_cb(char* data, size_t size, size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * nmemb;
  if (is_2xx(t->response->status)) {
    if (t->sink && *t->sink) {
      if (!(*t->sink)(reinterpret_cast<const uint8_t*>(data), n)) {
        t->sink_stopped = true;
        return 0;  // CURLE_WRITE_ERROR
      }
      return n;
    }
    t->response->body.append(data, n);
    return n;
  }
  std::string& b = t->response->body;
  if (b.size() < kErrorBodyCap) b.append(data, std::min(n, kErrorBodyCap - b.size()));
  return n;  // the rest of a long error body is read and dropped
}

ErrorCode code_of(CURLcode c) {
  switch (c) {
    case CURLE_OPERATION_TIMEDOUT: return ErrorCode::timeout;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_BAD_FUNCTION_ARGUMENT: return ErrorCode::invalid_argument;
    case CURLE_OUT_OF_MEMORY: return ErrorCode::resource_exhausted;
    default: return ErrorCode::unavailable;  // refused, reset, DNS, TLS, empty reply, ...
  }
}

}  // namespace

// The request body: a caller's ByteSource, or bytes in memory (which can be rewound).
struct HttpClient::Body {
  ByteSource* source = nullptr;
  std::string_view bytes;
  bool in_memory = false;
  uint64_t length = 0;
  uint64_t sent = 0;
  Status error;  // why the read callback aborted

  static size_t read_cb(char* buf, size_t size, size_t nitems, void* user) {
    auto* b = static_cast<Body*>(user);
    size_t max = size * nitems;
    uint64_t remaining = b->length - b->sent;
    if (remaining == 0 || max == 0) return 0;
    size_t want = static_cast<size_t>(std::min<uint64_t>(max, remaining));
    if (b->in_memory) {
      std::memcpy(buf, b->bytes.data() + b->sent, want);
      b->sent += want;
      return want;
    }
    auto r = b->source->read(reinterpret_cast<uint8_t*>(buf), want);
    if (!r) {
      b->error = r.status();
      return CURL_READFUNC_ABORT;
    }
    if (*r == 0 || *r > want) {
      b->error = Status::error(ErrorCode::invalid_argument,
                               "request body ended after " + std::to_string(b->sent) + " of the " +
                                   std::to_string(b->length) + " bytes announced");
      return CURL_READFUNC_ABORT;
    }
    b->sent += *r;
    if (b->sent == b->length) {
      // Everything announced is read: the source must be at its end, or the object would be cut short.
      uint8_t extra;
      auto p = b->source->read(&extra, 1);
      if (!p) {
        b->error = p.status();
        return CURL_READFUNC_ABORT;
      }
      if (*p != 0) {
        b->error = Status::error(ErrorCode::invalid_argument,
                                 "request body is longer than the " + std::to_string(b->length) +
                                     " bytes announced");
        return CURL_READFUNC_ABORT;
      }
    }
    return *r;
  }

  // curl rewinds to resend (e.g. a kept-alive connection that turned out dead).
  static int seek_cb(void* user, curl_off_t offset, int origin) {
    auto* b = static_cast<Body*>(user);
    if (origin != SEEK_SET || offset < 0 || static_cast<uint64_t>(offset) > b->length)
      return CURL_SEEKFUNC_CANTSEEK;
    if (b->in_memory) {
      b->sent = static_cast<uint64_t>(offset);
      return CURL_SEEKFUNC_OK;
    }
    if (offset == 0 && b->sent == 0) return CURL_SEEKFUNC_OK;
    return CURL_SEEKFUNC_CANTSEEK;  // a ByteSource cannot go back: curl fails this attempt
  }
};

void http_global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return v;
  return {};
}

HttpClient::HttpClient(HttpOptions o) : options_(std::move(o)) {
  http_global_init();
  curl_ = curl_easy_init();
}

HttpClient::~HttpClient() {
  if (curl_) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

Result<HttpResponse> HttpClient::request(std::string_view method, const std::string& url, const Headers& headers,
                                         ByteSource* body, uint64_t content_length, BodySink sink) {
  if (!body) {
    if (content_length != 0)
      return Status::error(ErrorCode::invalid_argument,
                           std::string(method) + " " + strip_query(url) + ": content_length without a body");
    if (method == "PUT" || method == "POST") {
      Body empty;
      empty.in_memory = true;
      return perform(method, url, headers, &empty, sink);
    }
    return perform(method, url, headers, nullptr, sink);
  }
  Body b;
  b.source = body;
  b.length = content_length;
  return perform(method, url, headers, &b, sink);
}

Result<HttpResponse> HttpClient::request(std::string_view method, const std::string& url, const Headers& headers,
                                         std::string_view body) {
  Body b;
  b.bytes = body;
  b.in_memory = true;
  b.length = body.size();
  return perform(method, url, headers, &b, nullptr);
}

Result<HttpResponse> HttpClient::perform(std::string_view method, const std::string& url, const Headers& headers,
                                         Body* body, const BodySink& sink) {
  const std::string where = std::string(method) + " " + strip_query(url);
  CURL* c = static_cast<CURL*>(curl_);
  if (!c) return Status::error(ErrorCode::internal, where + ": curl_easy_init failed");
  // Back to defaults; live connections, DNS and TLS session caches stay.
  curl_easy_reset(c);

  HttpResponse response;
  Transfer t;
  t.response = &response;
  t.sink = sink ? &sink : nullptr;
  t.options = &options_;
  if (options_.cancel && options_.cancel->load()) return Status::error(ErrorCode::cancelled, where + ": cancelled");
  char errbuf[CURL_ERROR_SIZE];
  errbuf[0] = '\0';

  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout_ms));
  if (options_.low_speed_time_s > 0) {
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, static_cast<long>(options_.low_speed_limit_bytes));
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options_.low_speed_time_s));
  }
  if (options_.total_timeout_ms > 0)
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.total_timeout_ms));
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, options_.verify_tls ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, options_.verify_tls ? 2L : 0L);
  if (!options_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, options_.ca_file.c_str());
  if (!options_.ca_path.empty()) curl_easy_setopt(c, CURLOPT_CAPATH, options_.ca_path.c_str());

  if (options_.cancel) {
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress_cb);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
  }
  if (options_.address_allowed) {
    curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_socket_cb);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &t);
    curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);  // a kept-alive connection was checked for another URL
    curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
  }
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);

  const std::string m(method);
  if (m == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (m == "POST") {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body ? body->length : 0));
    if (!body) curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
  } else if (body) {
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(body->length));
    if (m != "PUT") curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, m.c_str());
  } else if (m != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, m.c_str());
  }
  if (body) {
    curl_easy_setopt(c, CURLOPT_READFUNCTION, &Body::read_cb);
    curl_easy_setopt(c, CURLOPT_READDATA, body);
    curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, &Body::seek_cb);
    curl_easy_setopt(c, CURLOPT_SEEKDATA, body);
  }

  curl_slist* list = nullptr;
  bool has_content_type = false;
  for (const auto& [k, v] : headers) {
    if (iequals(k, "content-type")) has_content_type = true;
    // "Name;" sends an empty header; "Name:" would remove it.
    std::string line = v.empty() ? k + ";" : k + ": " + v;
    curl_slist* next = curl_slist_append(list, line.c_str());
    if (!next) {
      curl_slist_free_all(list);
      return Status::error(ErrorCode::resource_exhausted, where + ": out of memory for headers");
    }
    list = next;
  }
  list = curl_slist_append(list, "Expect:");
  // curl would add "Content-Type: application/x-www-form-urlencoded" to a POST.
  if (m == "POST" && !has_content_type) list = curl_slist_append(list, "Content-Type:");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);

  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(list);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  // Nothing of ours may outlive this call inside the handle.
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, nullptr);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, nullptr);

  if (rc != CURLE_OK) {
    if (body && !body->error.is_ok()) {
      Status s = body->error;
      return s.with_context(where + ": request body");
    }
    if (t.sink_stopped)
      return Status::error(ErrorCode::cancelled, where + ": the response body's receiver stopped the transfer");
    if (rc == CURLE_ABORTED_BY_CALLBACK) return Status::error(ErrorCode::cancelled, where + ": cancelled");
    if (options_.opaque_connect_errors && (is_connect_phase(rc) || t.refused_address))
      return Status::error(ErrorCode::unavailable, where + ": cannot connect");
    std::string detail = errbuf[0] ? std::string(errbuf) : std::string(curl_easy_strerror(rc));
    while (!detail.empty() && (detail.back() == '\n' || detail.back() == '\r')) detail.pop_back();
    detail = util::printable_text(detail);
    // curl's text may quote the URL: keep the signature in a presigned query out of logs.
    if (size_t q = url.find('?'); q != std::string::npos) {
      std::string query = url.substr(q);
      for (size_t at; (at = detail.find(query)) != std::string::npos;) detail.replace(at, query.size(), "?...");
    }
    return Status::error(code_of(rc), where + ": " + detail + " (" + curl_easy_strerror(rc) + ")");
  }
  if (status != 0) response.status = status;
  return response;
}

// ---- status checks ---------------------------------------------------------------------------

bool is_transient_status(long status) { return status == 408 || status == 429 || (status >= 500 && status < 600); }

namespace {

// At most this much of an S3 error <Message> goes into an error text.
constexpr size_t kMaxReflectedMessage = 120;

// An S3 error code ("NoSuchKey", "AccessDenied"): letters, digits and dots, short.
bool is_error_code_token(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.')) return false;
  return true;
}

struct S3Error {
  std::string code, message;
};

S3Error s3_error_of(const HttpResponse& r) {
  S3Error e;
  if (r.body.find('<') == std::string::npos) return e;
  auto doc = parse_xml(r.body);
  if (!doc || doc->name != "Error") return e;
  e.code = doc->child_text("Code");
  e.message = doc->child_text("Message");
  return e;
}

}  // namespace

Status check_status(const HttpResponse& r, std::string_view what) {
  if (is_2xx(r.status)) return Status::ok();
  ErrorCode code;
  if (r.status == 401 || r.status == 403) code = ErrorCode::permission_denied;
  else if (r.status == 404) code = ErrorCode::not_found;
  else if (is_transient_status(r.status)) code = ErrorCode::unavailable;
  else code = ErrorCode::invalid_argument;

  // The peer's text enters here: only a short, sanitised status goes on (a
  // token-like S3 <Code>, the start of its <Message> as printable UTF-8);
  // any other body is never reflected (it may be an internal service's page).
  std::string msg(what);
  msg += ": HTTP " + std::to_string(r.status);
  S3Error e = s3_error_of(r);
  std::string error_code = e.code.empty() ? r.header("x-amz-error-code") : e.code;
  if (is_error_code_token(error_code)) msg += " " + error_code;
  if (!e.message.empty()) msg += ": " + util::printable_text(trim(e.message), kMaxReflectedMessage);
  return Status::error(code, std::move(msg));
}

bool is_expired(const HttpResponse& r) {
  if (r.status != 403 && r.status != 400) return false;
  if (r.body.find("Request has expired") != std::string::npos) return r.status == 403;
  S3Error e = s3_error_of(r);
  if (e.code == "ExpiredToken") return true;
  if (r.status != 403) return false;
  return e.code == "AccessDenied" && icontains(e.message, "expired");
}

// ---- small helpers ---------------------------------------------------------------------------

std::string content_md5_base64(const void* data, size_t n) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data, n, md, &len, EVP_md5(), nullptr) != 1) return {};
  return util::base64_encode(md, len);
}

std::string strip_query(std::string_view url) {
  size_t cut = url.find_first_of("?#");
  std::string_view base = cut == std::string_view::npos ? url : url.substr(0, cut);
  // Userinfo ("user:password@") is a secret too (issue 21 item 9).
  if (size_t scheme = base.find("://"); scheme != std::string_view::npos) {
    const size_t start = scheme + 3;
    const size_t path = base.find('/', start);
    const size_t at = base.substr(0, path).rfind('@');
    if (at != std::string_view::npos && at >= start)
      return std::string(base.substr(0, start)) + std::string(base.substr(at + 1));
  }
  return std::string(base);
}

// ---- XML -------------------------------------------------------------------------------------

namespace {

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// One entity body (between '&' and ';'), decoded into out; false when unknown.
bool decode_entity(std::string_view e, std::string& out) {
  if (e == "amp") out += '&';
  else if (e == "lt") out += '<';
  else if (e == "gt") out += '>';
  else if (e == "quot") out += '"';
  else if (e == "apos") out += '\'';
  else if (e.size() >= 2 && e[0] == '#') {
    bool hex = e[1] == 'x' || e[1] == 'X';
    std::string_view digits = e.substr(hex ? 2 : 1);
    if (digits.empty() || digits.size() > 8) return false;
    uint32_t cp = 0;
    for (char ch : digits) {
      int d;
      if (ch >= '0' && ch <= '9') d = ch - '0';
      else if (hex && ch >= 'a' && ch <= 'f') d = ch - 'a' + 10;
      else if (hex && ch >= 'A' && ch <= 'F') d = ch - 'A' + 10;
      else return false;
      cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(d);
    }
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    append_utf8(out, cp);
  } else {
    return false;
  }
  return true;
}

std::string_view local_name(std::string_view qname) {
  size_t colon = qname.rfind(':');
  return colon == std::string_view::npos ? qname : qname.substr(colon + 1);
}

bool is_name_end(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '/' || c == '>'; }

}  // namespace

std::string xml_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (text[i] == '&') {
      size_t semi = text.find(';', i + 1);
      if (semi != std::string_view::npos && semi - i <= 12 && decode_entity(text.substr(i + 1, semi - i - 1), out)) {
        i = semi + 1;
        continue;
      }
    }
    out += text[i++];
  }
  return out;
}

const XmlNode* XmlNode::child(std::string_view n) const {
  for (const auto& c : children)
    if (c.name == n) return &c;
  return nullptr;
}

std::string XmlNode::child_text(std::string_view n) const {
  const XmlNode* c = child(n);
  return c ? c->text : std::string();
}

Result<XmlNode> parse_xml(std::string_view doc) {
  auto bad = [](std::string why) { return Status::error(ErrorCode::invalid_argument, "malformed XML: " + why); };
  std::vector<XmlNode> stack;
  size_t i = 0;
  if (doc.starts_with("\xEF\xBB\xBF")) i = 3;
  while (i < doc.size()) {
    size_t lt = doc.find('<', i);
    if (lt == std::string_view::npos) lt = doc.size();
    if (lt > i && !stack.empty()) stack.back().text += xml_decode(doc.substr(i, lt - i));
    if (lt == doc.size()) break;
    std::string_view rest = doc.substr(lt);
    if (rest.starts_with("<?")) {
      size_t end = doc.find("?>", lt + 2);
      if (end == std::string_view::npos) return bad("unterminated processing instruction");
      i = end + 2;
    } else if (rest.starts_with("<!--")) {
      size_t end = doc.find("-->", lt + 4);
      if (end == std::string_view::npos) return bad("unterminated comment");
      i = end + 3;
    } else if (rest.starts_with("<![CDATA[")) {
      size_t end = doc.find("]]>", lt + 9);
      if (end == std::string_view::npos) return bad("unterminated CDATA");
      if (!stack.empty()) stack.back().text.append(doc.substr(lt + 9, end - lt - 9));
      i = end + 3;
    } else if (rest.starts_with("<!")) {
      // DOCTYPE and the like, possibly with an internal subset in [...].
      size_t j = lt + 2;
      int depth = 0;
      for (; j < doc.size(); ++j) {
        if (doc[j] == '[') ++depth;
        else if (doc[j] == ']') --depth;
        else if (doc[j] == '>' && depth <= 0) break;
      }
      if (j >= doc.size()) return bad("unterminated declaration");
      i = j + 1;
    } else if (rest.starts_with("</")) {
      size_t end = doc.find('>', lt + 2);
      if (end == std::string_view::npos) return bad("unterminated end tag");
      std::string_view name = local_name(trim(doc.substr(lt + 2, end - lt - 2)));
      if (stack.empty() || stack.back().name != name)
        return bad("unexpected </" + std::string(name) + ">");
      XmlNode done = std::move(stack.back());
      stack.pop_back();
      if (stack.empty()) return done;
      stack.back().children.push_back(std::move(done));
      i = end + 1;
    } else {
      // Start tag: name, attributes (quoted values may hold '>'), maybe "/>".
      size_t j = lt + 1;
      while (j < doc.size() && !is_name_end(doc[j])) ++j;
      std::string_view qname = doc.substr(lt + 1, j - lt - 1);
      if (qname.empty()) return bad("empty tag name");
      char quote = 0;
      for (; j < doc.size(); ++j) {
        char ch = doc[j];
        if (quote) {
          if (ch == quote) quote = 0;
        } else if (ch == '"' || ch == '\'') {
          quote = ch;
        } else if (ch == '>') {
          break;
        }
      }
      if (j >= doc.size()) return bad("unterminated start tag <" + std::string(qname));
      bool self_closing = doc[j - 1] == '/';
      XmlNode node;
      node.name = std::string(local_name(qname));
      i = j + 1;
      if (self_closing) {
        if (stack.empty()) return node;
        stack.back().children.push_back(std::move(node));
      } else {
        stack.push_back(std::move(node));
      }
    }
  }
  if (stack.empty()) return bad("no element");
  return bad("truncated document (<" + stack.back().name + "> not closed)");
}

}  // namespace roomrec::s3
