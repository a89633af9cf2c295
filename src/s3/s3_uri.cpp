#include "s3/s3_uri.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <vector>

#include "util/percent.h"

namespace roomrec::s3 {
namespace {

constexpr const char* kForm =
    "expected http(s)://ACCESS_KEY:SECRET_KEY@host[:port]/bucket[/prefix][?path_style=true&region=REGION]"
    " or a presigned http(s) URL";

Status bad(std::string message) {
  return Status::error(ErrorCode::invalid_argument, "S3 URI: " + message);
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// Shows a piece of outside input in a message, escaping control bytes and
// cutting it short.
std::string quoted(std::string_view s) {
  std::string out = "'";
  size_t n = 0;
  for (char ch : s) {
    if (++n > 64) {
      out += "...";
      break;
    }
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7F) {
      static constexpr char kHex[] = "0123456789ABCDEF";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += ch;
    }
  }
  return out + "'";
}

bool is_ipv4(std::string_view h) {
  int parts = 0;
  size_t i = 0;
  while (i <= h.size()) {
    size_t j = h.find('.', i);
    if (j == std::string_view::npos) j = h.size();
    std::string_view p = h.substr(i, j - i);
    if (p.empty() || p.size() > 3) return false;
    for (char c : p)
      if (c < '0' || c > '9') return false;
    ++parts;
    i = j + 1;
  }
  return parts == 4;
}

struct QueryParam {
  std::string name, value;
  bool has_value = false;
};

// Splits and decodes a query string; empty components ("a=1&&b=2") are skipped.
Result<std::vector<QueryParam>> parse_query(std::string_view q) {
  std::vector<QueryParam> out;
  size_t i = 0;
  while (i <= q.size()) {
    size_t j = q.find('&', i);
    if (j == std::string_view::npos) j = q.size();
    std::string_view item = q.substr(i, j - i);
    i = j + 1;
    if (item.empty()) continue;
    size_t eq = item.find('=');
    std::string_view raw_name = item.substr(0, eq);
    auto name = util::percent_decode(raw_name);
    if (!name) return bad("bad percent escape in query parameter name " + quoted(raw_name));
    QueryParam p;
    p.name = std::move(*name);
    if (p.name.empty()) return bad("query parameter without a name: " + quoted(item));
    if (eq != std::string_view::npos) {
      auto value = util::percent_decode(item.substr(eq + 1));
      if (!value) return bad("bad percent escape in the value of query parameter " + quoted(p.name));
      p.value = std::move(*value);
      p.has_value = true;
    }
    out.push_back(std::move(p));
  }
  return out;
}

struct HostPort {
  std::string host;
  uint16_t port = 0;
};

Result<HostPort> parse_host_port(std::string_view hp) {
  HostPort out;
  std::string_view port_text;
  bool has_port = false;
  if (hp.empty()) return bad(std::string("missing host; ") + kForm);
  if (hp.front() == '[') {
    size_t close = hp.find(']');
    if (close == std::string_view::npos) return bad("unterminated IPv6 literal " + quoted(hp) + " (missing ']')");
    std::string_view v6 = hp.substr(1, close - 1);
    if (v6.empty()) return bad("empty IPv6 literal '[]'");
    if (v6.find(':') == std::string_view::npos) return bad("bad IPv6 literal " + quoted(v6) + " (no ':')");
    for (char c : v6)
      if (!is_hex(c) && c != ':' && c != '.') return bad("bad character " + quoted(std::string(1, c)) + " in IPv6 literal " + quoted(v6));
    out.host = to_lower(v6);
    std::string_view after = hp.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("unexpected " + quoted(after) + " after IPv6 literal; expected ':port'");
      port_text = after.substr(1);
      has_port = true;
    }
  } else {
    size_t colon = hp.find(':');
    std::string_view host = hp.substr(0, colon);
    if (colon != std::string_view::npos) {
      port_text = hp.substr(colon + 1);
      has_port = true;
      if (port_text.find(':') != std::string_view::npos)
        return bad("too many ':' after the host; an IPv6 address must be written in brackets, e.g. [::1]:9000");
    }
    if (host.empty()) return bad(std::string("missing host; ") + kForm);
    for (char c : host)
      if (!is_alnum(c) && c != '-' && c != '.' && c != '_')
        return bad("bad character " + quoted(std::string(1, c)) + " in host " + quoted(host));
    out.host = to_lower(host);
  }
  if (has_port) {
    if (port_text.empty()) return bad("empty port after ':' in " + quoted(hp));
    bool digits = port_text.size() <= 5 && std::all_of(port_text.begin(), port_text.end(), [](char c) { return c >= '0' && c <= '9'; });
    unsigned value = 0;
    if (digits) std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    // Only a number is echoed: text after a ':' may be a secret key whose '@host' is missing.
    bool numeric = !port_text.empty() && port_text.size() <= 20 &&
                   std::all_of(port_text.begin(), port_text.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!numeric) return bad("bad port: not a number (expected 1..65535)");
    if (!digits || value == 0 || value > 65535) return bad("bad port " + quoted(port_text) + " (expected 1..65535)");
    out.port = static_cast<uint16_t>(value);
  }
  return out;
}

Result<bool> parse_bool(const QueryParam& p) {
  if (!p.has_value) return true;  // "?path_style" alone
  for (const char* t : {"true", "1", "yes"})
    if (iequals(p.value, t)) return true;
  for (const char* f : {"false", "0", "no"})
    if (iequals(p.value, f)) return false;
  return bad("bad value " + quoted(p.value) + " for " + p.name + " (expected true/false, 1/0 or yes/no)");
}

bool bucket_char(char c) { return is_alnum(c) || c == '.' || c == '-' || c == '_'; }

bool region_char(char c) { return is_alnum(c) || c == '.' || c == '-' || c == '_'; }

// "AKID/20130524/us-east-1/s3/aws4_request" -> "us-east-1"
std::optional<std::string> region_of_credential(std::string_view cred) {
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i <= cred.size()) {
    size_t j = cred.find('/', i);
    if (j == std::string_view::npos) j = cred.size();
    parts.push_back(cred.substr(i, j - i));
    i = j + 1;
  }
  if (parts.size() != 5 || parts[2].empty()) return std::nullopt;
  if (!std::all_of(parts[2].begin(), parts[2].end(), region_char)) return std::nullopt;
  return std::string(parts[2]);
}

}  // namespace

Result<S3Uri> S3Uri::parse(std::string_view uri) {
  if (uri.empty()) return bad(std::string("empty; ") + kForm);
  for (char ch : uri) {
    auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7F)
      return bad("contains a space or control character (write it percent-encoded, e.g. %20)");
  }
  size_t sep = uri.find("://");
  if (sep == std::string_view::npos || sep == 0) return bad(std::string("missing scheme; ") + kForm);
  S3Uri out;
  out.scheme = to_lower(uri.substr(0, sep));
  if (out.scheme != "http" && out.scheme != "https")
    return bad("unsupported scheme " + quoted(uri.substr(0, sep)) + "; only http:// and https:// are accepted (" + kForm + ")");

  std::string_view rest = uri.substr(sep + 3);
  if (size_t hash = rest.find('#'); hash != std::string_view::npos)
    // What follows '#' is not shown: it is often the rest of a secret with an unencoded '#' (issue 21 item 9).
    return bad("unexpected '#' (a fragment, not shown); a '#' in a key or secret must be percent-encoded as %23");
  size_t qmark = rest.find('?');
  std::string_view before_query = rest.substr(0, qmark);
  std::string_view query = qmark == std::string_view::npos ? std::string_view() : rest.substr(qmark + 1);
  size_t auth_end = before_query.find('/');
  std::string_view authority = before_query.substr(0, auth_end);
  std::string_view path = auth_end == std::string_view::npos ? std::string_view() : before_query.substr(auth_end);

  std::string_view userinfo;
  bool has_userinfo = false;
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    has_userinfo = true;
  }

  auto params = parse_query(query);
  if (!params) return params.status();
  bool presigned = std::any_of(params->begin(), params->end(),
                               [](const QueryParam& p) { return iequals(p.name, "X-Amz-Signature"); });

  if (!has_userinfo && !presigned && path.find('@') != std::string_view::npos)
    return bad("missing credentials before the host (ACCESS_KEY:SECRET_KEY@host); a '/' in the secret key must be written %2F");

  auto hp = parse_host_port(authority);
  if (!hp) return hp.status();
  out.host = std::move(hp->host);
  out.port = hp->port;

  if (presigned) {
    if (!util::percent_decode(path)) return bad("bad percent escape in the path of the presigned URL");
    out.presigned = true;
    out.presigned_url = std::string(uri);
    for (const auto& p : *params)
      if (iequals(p.name, "X-Amz-Credential"))
        if (auto r = region_of_credential(p.value)) out.region = *r;
    return out;
  }

  // Credentials.
  if (!has_userinfo)
    return bad("missing credentials: expected ACCESS_KEY:SECRET_KEY@ before the host (percent-encode '/', '@', ':' in them)");
  size_t colon = userinfo.find(':');
  if (colon == std::string_view::npos) return bad("missing secret key: expected ACCESS_KEY:SECRET_KEY@ before the host");
  auto ak = util::percent_decode(userinfo.substr(0, colon));
  if (!ak) return bad("bad percent escape in the access key");
  auto sk = util::percent_decode(userinfo.substr(colon + 1));
  if (!sk) return bad("bad percent escape in the secret key");
  if (ak->empty()) return bad("empty access key");
  if (sk->empty()) return bad("empty secret key");
  out.access_key = std::move(*ak);
  out.secret_key = std::move(*sk);

  // Bucket and prefix.
  if (!path.empty()) path.remove_prefix(1);  // the '/' after the authority
  if (path.empty()) return bad("missing bucket: expected host/bucket[/prefix]");
  size_t slash = path.find('/');
  std::string_view raw_bucket = path.substr(0, slash);
  if (raw_bucket.empty()) return bad("empty bucket name (the path starts with '//')");
  auto bucket = util::percent_decode(raw_bucket);
  if (!bucket) return bad("bad percent escape in bucket " + quoted(raw_bucket));
  if (bucket->size() > 255 || !std::all_of(bucket->begin(), bucket->end(), bucket_char))
    return bad("bad bucket name " + quoted(*bucket) + " (letters, digits, '.', '-', '_')");
  out.bucket = std::move(*bucket);
  if (slash != std::string_view::npos) {
    std::string_view raw_prefix = path.substr(slash + 1);
    while (!raw_prefix.empty() && raw_prefix.back() == '/') raw_prefix.remove_suffix(1);
    auto prefix = util::percent_decode(raw_prefix);
    if (!prefix) return bad("bad percent escape in key prefix " + quoted(raw_prefix));
    if (!prefix->empty() && (prefix->front() == '/' || prefix->back() == '/' || prefix->find("//") != std::string::npos))
      return bad("empty path segment in key prefix " + quoted(*prefix));
    out.prefix = std::move(*prefix);
  }

  // Options.
  bool seen_style = false, seen_region = false;
  for (const auto& p : *params) {
    if (p.name == "path_style") {
      if (seen_style) return bad("duplicate query parameter 'path_style'");
      seen_style = true;
      auto v = parse_bool(p);
      if (!v) return v.status();
      out.path_style = *v;
    } else if (p.name == "region") {
      if (seen_region) return bad("duplicate query parameter 'region'");
      seen_region = true;
      if (!p.value.empty()) {
        if (p.value.size() > 64 || !std::all_of(p.value.begin(), p.value.end(), region_char))
          return bad("bad region " + quoted(p.value) + " (letters, digits, '-', '_', '.')");
        out.region = p.value;
      }
    } else {
      return bad("unknown query parameter " + quoted(p.name) + " (accepted: path_style, region)");
    }
  }

  if (!out.path_style) {
    if (out.host.find(':') != std::string::npos || is_ipv4(out.host))
      return bad("virtual-host addressing needs a DNS host name, not the IP address " + quoted(out.host) +
                 "; add ?path_style=true");
    bool dns = std::all_of(out.bucket.begin(), out.bucket.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
    });
    if (!dns)
      return bad("bucket " + quoted(out.bucket) +
                 " is not a valid host name label for virtual-host addressing; add ?path_style=true");
  }
  return out;
}

std::string S3Uri::authority() const {
  std::string out = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  uint16_t def = scheme == "https" ? 443 : 80;
  if (port != 0 && port != def) out += ":" + std::to_string(port);
  return out;
}

std::string S3Uri::endpoint() const {
  if (path_style || bucket.empty()) return scheme + "://" + authority();
  return scheme + "://" + bucket + "." + authority();
}

std::string S3Uri::key(std::string_view relative) const {
  while (!relative.empty() && relative.front() == '/') relative.remove_prefix(1);
  if (prefix.empty()) return std::string(relative);
  if (relative.empty()) return prefix;
  std::string out;
  out.reserve(prefix.size() + 1 + relative.size());
  out += prefix;
  out += '/';
  out += relative;
  return out;
}

std::string S3Uri::to_string() const {
  if (presigned) {
    // Redact the values of X-Amz-Signature and X-Amz-Security-Token.
    std::string out;
    size_t q = presigned_url.find('?');
    if (q == std::string::npos) return presigned_url;
    out = presigned_url.substr(0, q + 1);
    std::string_view query = std::string_view(presigned_url).substr(q + 1);
    size_t i = 0;
    bool first = true;
    while (i <= query.size()) {
      size_t j = query.find('&', i);
      if (j == std::string_view::npos) j = query.size();
      std::string_view item = query.substr(i, j - i);
      i = j + 1;
      if (!first) out += '&';
      first = false;
      size_t eq = item.find('=');
      auto name = util::percent_decode(item.substr(0, eq)).value_or("");
      if (eq != std::string_view::npos && (iequals(name, "X-Amz-Signature") || iequals(name, "X-Amz-Security-Token"))) {
        out += item.substr(0, eq);
        out += "=***";
      } else {
        out += item;
      }
    }
    return out;
  }
  std::string out = scheme + "://" + util::percent_encode(access_key) + ":***@" + authority() + "/" +
                    util::percent_encode(bucket);
  if (!prefix.empty()) out += "/" + util::percent_encode(prefix, true);
  out += "?path_style=";
  out += path_style ? "true" : "false";
  out += "&region=" + util::percent_encode(region);
  return out;
}

}  // namespace roomrec::s3
