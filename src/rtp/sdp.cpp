#include "rtp/sdp.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>

#include "util/text.h"

namespace roomrec::sdp {

namespace {

constexpr bool is_space(char c) noexcept { return c == ' ' || c == '\t'; }
constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Splits on runs of spaces and tabs.
std::vector<std::string_view> split_ws(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_space(s[i])) ++i;
    if (i == s.size()) break;
    size_t j = i;
    while (j < s.size() && !is_space(s[j])) ++j;
    out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

// A decimal number of at most max_digits digits (10 unless said), no sign, no spaces.
template <class T>
bool parse_uint(std::string_view s, T& out, uint64_t max_value, size_t max_digits = 10) noexcept {
  return util::parse_uint(s, out, max_value, max_digits);
}

bool is_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F) return false;
  }
  return true;
}

// Shown in error messages: printable ASCII only, cut at 40 bytes.
std::string shown(std::string_view s) {
  std::string out = "'";
  for (size_t i = 0; i < s.size() && i < 40; ++i) {
    auto u = static_cast<unsigned char>(s[i]);
    out += (u >= 0x20 && u < 0x7F) ? s[i] : '?';
  }
  if (s.size() > 40) out += "...";
  return out + "'";
}

bool valid_host_name(std::string_view s) noexcept {
  if (s.empty() || s.size() > 253) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' || c == '.' || c == '_';
    if (!ok) return false;
  }
  return true;
}

class Parser {
 public:
  explicit Parser(const Limits& l) : limits_(l) {}

  Result<Description> run(std::string_view text);

 private:
  Status fail(size_t line, std::string why) const {
    return Status(ErrorCode::invalid_argument, "sdp line " + std::to_string(line) + ": " + why);
  }
  Status parse_connection(size_t line, std::string_view what, std::string_view value, Connection& out) const;
  Status parse_media(size_t line, std::string_view value, Media& out) const;
  Status parse_attribute(size_t line, std::string_view value);
  Status finish_media();

  struct PendingMap {
    uint8_t pt;
    std::string encoding;
    uint32_t clock_rate, channels;
    size_t line;
  };
  struct PendingFmtp {
    uint8_t pt;
    std::string params;
    size_t line;
  };

  const Limits& limits_;
  Description d_;
  std::vector<Crypto> session_crypto_;
  Media* cur_ = nullptr;  // the open m= section, or nullptr at session level
  size_t attributes_ = 0;
  std::vector<PendingMap> maps_;
  std::vector<PendingFmtp> fmtps_;
};

Status Parser::parse_connection(size_t line, std::string_view what, std::string_view value, Connection& out) const {
  const std::string w(what);
  auto t = split_ws(value);
  if (t.size() != 3) return fail(line, w + " must be '<nettype> <addrtype> <address>', got " + shown(value));
  if (t[0] != "IN") return fail(line, w + " network type must be IN, got " + shown(t[0]));
  if (t[1] == "IP4") out.ipv6 = false;
  else if (t[1] == "IP6") out.ipv6 = true;
  else return fail(line, w + " address type must be IP4 or IP6, got " + shown(t[1]));
  std::string_view addr = t[2];
  std::string_view extra;
  if (size_t slash = addr.find('/'); slash != std::string_view::npos) {
    extra = addr.substr(slash + 1);
    addr = addr.substr(0, slash);
  }
  if (addr.empty()) return fail(line, w + " has an empty address");
  const std::string a(addr);
  unsigned char buf[16];
  const bool numeric = inet_pton(out.ipv6 ? AF_INET6 : AF_INET, a.c_str(), buf) == 1;
  if (!numeric) {
    const bool looks_numeric_v4 =
        !out.ipv6 && std::all_of(addr.begin(), addr.end(), [](char c) { return is_digit(c) || c == '.'; });
    if (out.ipv6 || looks_numeric_v4 || !valid_host_name(addr))
      return fail(line, std::string(w + " has an invalid ") + (out.ipv6 ? "IPv6" : "IPv4") + " address " + shown(addr));
  }
  out.address = a;
  out.line = line;
  if (!extra.empty()) {
    std::string_view first = extra, second;
    if (size_t slash = extra.find('/'); slash != std::string_view::npos) {
      first = extra.substr(0, slash);
      second = extra.substr(slash + 1);
      if (second.empty() || second.find('/') != std::string_view::npos || out.ipv6)
        return fail(line, w + " address suffix must be /ttl[/count] (IPv4) or /count (IPv6), got " + shown(extra));
    }
    uint32_t v = 0;
    if (out.ipv6) {
      if (!parse_uint(first, v, 65535, 5) || v == 0) return fail(line, w + " bad address count " + shown(first));
      out.count = v;
    } else {
      if (!parse_uint(first, v, 255, 3)) return fail(line, w + " TTL must be 0..255, got " + shown(first));
      out.ttl = v;
      if (!second.empty()) {
        if (!parse_uint(second, v, 65535, 5) || v == 0) return fail(line, w + " bad address count " + shown(second));
        out.count = v;
      }
    }
  } else if (value.back() == '/') {
    return fail(line, w + " address ends with '/'");
  }
  return Status::ok();
}

Status Parser::parse_media(size_t line, std::string_view value, Media& m) const {
  auto t = split_ws(value);
  if (t.size() < 4) return fail(line, "m= must be '<media> <port> <proto> <fmt>...', got " + shown(value));
  if (!is_token(t[0])) return fail(line, "m= bad media type " + shown(t[0]));
  m.kind = util::ascii_lowercase(t[0]);
  std::string_view port = t[1], count;
  if (size_t slash = port.find('/'); slash != std::string_view::npos) {
    count = port.substr(slash + 1);
    port = port.substr(0, slash);
    if (!parse_uint(count, m.port_count, 65535, 5) || m.port_count == 0)
      return fail(line, "m= bad port count " + shown(count));
  }
  if (!parse_uint(port, m.port, 65535, 5)) return fail(line, "m= port must be 0..65535, got " + shown(t[1]));
  if (!is_token(t[2])) return fail(line, "m= bad transport " + shown(t[2]));
  m.proto = std::string(t[2]);
  m.line = line;
  if (t.size() - 3 > 256) return fail(line, "m= lists more than 256 formats");
  for (size_t i = 3; i < t.size(); ++i) m.formats.emplace_back(t[i]);
  if (m.is_rtp()) {
    std::array<bool, 128> seen{};
    for (const auto& f : m.formats) {
      uint8_t pt = 0;
      if (!parse_uint(f, pt, 127, 3)) return fail(line, "m= RTP payload type must be 0..127, got " + shown(f));
      if (seen[pt]) return fail(line, "m= lists payload type " + f + " twice");
      seen[pt] = true;
      Format fm;
      fm.payload_type = pt;
      m.rtp_formats.push_back(fm);
    }
  }
  return Status::ok();
}

Status Parser::parse_attribute(size_t line, std::string_view value) {
  if (++attributes_ > limits_.max_attributes)
    return Status(ErrorCode::resource_exhausted, "sdp line " + std::to_string(line) + ": more than " +
                                                     std::to_string(limits_.max_attributes) +
                                                     " attributes in one section");
  std::string_view name = value, arg;
  bool has_arg = false;
  if (size_t colon = value.find(':'); colon != std::string_view::npos) {
    name = value.substr(0, colon);
    arg = trim(value.substr(colon + 1));
    has_arg = true;
  }
  const bool rtp_media = cur_ && cur_->is_rtp();

  if (name == "crypto") {
    auto t = split_ws(arg);
    if (t.size() < 3) return fail(line, "a=crypto must be 'tag suite key-params', got " + shown(arg));
    Crypto c;
    if (!parse_uint(t[0], c.tag, 999999999, 9)) return fail(line, "a=crypto tag must be 1-9 digits, got " + shown(t[0]));
    if (!is_token(t[1])) return fail(line, "a=crypto bad suite " + shown(t[1]));
    c.suite = std::string(t[1]);
    c.attribute = std::string(arg);
    c.line = line;
    auto& list = cur_ ? cur_->crypto : session_crypto_;
    for (const auto& other : list)
      if (other.tag == c.tag) return fail(line, "a=crypto tag " + std::to_string(c.tag) + " appears twice");
    if (list.size() >= 64) return fail(line, "more than 64 a=crypto lines in one section");
    list.push_back(std::move(c));
    return Status::ok();
  }
  if (!cur_) return Status::ok();  // other session-level attributes (tool, range, control...) do not matter here

  if (name == "rtpmap") {
    if (!rtp_media) return Status::ok();
    auto t = split_ws(arg);
    if (t.size() != 2) return fail(line, "a=rtpmap must be '<payload type> <encoding>/<clock rate>[/<channels>]'");
    uint8_t pt = 0;
    if (!parse_uint(t[0], pt, 127, 3)) return fail(line, "a=rtpmap payload type must be 0..127, got " + shown(t[0]));
    std::string_view enc = t[1], clock, channels;
    size_t s1 = enc.find('/');
    if (s1 == std::string_view::npos) return fail(line, "a=rtpmap:" + std::to_string(pt) + " has no clock rate");
    clock = enc.substr(s1 + 1);
    enc = enc.substr(0, s1);
    if (size_t s2 = clock.find('/'); s2 != std::string_view::npos) {
      channels = clock.substr(s2 + 1);
      clock = clock.substr(0, s2);
    }
    if (enc.empty()) return fail(line, "a=rtpmap:" + std::to_string(pt) + " has no encoding name");
    PendingMap pm{pt, std::string(enc), 0, 0, line};
    if (!parse_uint(clock, pm.clock_rate, 0xFFFFFFFFu) || pm.clock_rate == 0)
      return fail(line, "a=rtpmap:" + std::to_string(pt) + " clock rate must be a positive number, got " + shown(clock));
    if (s1 != std::string_view::npos && t[1].find('/', s1 + 1) != std::string_view::npos &&
        (!parse_uint(channels, pm.channels, 255, 3) || pm.channels == 0))
      return fail(line, "a=rtpmap:" + std::to_string(pt) + " channels must be 1..255, got " + shown(channels));
    for (const auto& other : maps_)
      if (other.pt == pt)
        return fail(line, "second a=rtpmap for payload type " + std::to_string(pt) + " (first on line " +
                              std::to_string(other.line) + ")");
    maps_.push_back(std::move(pm));
    return Status::ok();
  }
  if (name == "fmtp") {
    if (!rtp_media) return Status::ok();
    size_t sp = 0;
    while (sp < arg.size() && !is_space(arg[sp])) ++sp;
    uint8_t pt = 0;
    if (!parse_uint(arg.substr(0, sp), pt, 127, 3))
      return fail(line, "a=fmtp payload type must be 0..127, got " + shown(arg.substr(0, sp)));
    for (const auto& other : fmtps_)
      if (other.pt == pt)
        return fail(line, "second a=fmtp for payload type " + std::to_string(pt) + " (first on line " +
                              std::to_string(other.line) + ")");
    fmtps_.push_back(PendingFmtp{pt, std::string(trim(arg.substr(sp))), line});
    return Status::ok();
  }
  if (name == "rtcp") {
    auto t = split_ws(arg);
    if (t.empty() || (t.size() != 1 && t.size() != 4))
      return fail(line, "a=rtcp must be '<port> [IN IP4|IP6 <address>]', got " + shown(arg));
    uint16_t port = 0;
    if (!parse_uint(t[0], port, 65535, 5) || port == 0)
      return fail(line, "a=rtcp port must be 1..65535, got " + shown(t[0]));
    if (cur_->rtcp_port) return fail(line, "second a=rtcp line in this section");
    cur_->rtcp_port = port;
    if (t.size() == 4) {
      Connection c;
      std::string rest = std::string(t[1]) + " " + std::string(t[2]) + " " + std::string(t[3]);
      Status s = parse_connection(line, "a=rtcp", rest, c);
      if (!s) return s;
      cur_->rtcp_connection = std::move(c);
    }
    return Status::ok();
  }
  if (name == "rtcp-mux") {
    cur_->rtcp_mux = true;
    return Status::ok();
  }
  if (name == "ssrc") {
    size_t sp = 0;
    while (sp < arg.size() && !is_space(arg[sp])) ++sp;
    uint32_t ssrc = 0;
    if (!parse_uint(arg.substr(0, sp), ssrc, 0xFFFFFFFFu))
      return fail(line, "a=ssrc id must be a 32-bit number, got " + shown(arg.substr(0, sp)));
    if (std::find(cur_->ssrcs.begin(), cur_->ssrcs.end(), ssrc) == cur_->ssrcs.end()) cur_->ssrcs.push_back(ssrc);
    std::string_view attr = trim(arg.substr(sp));
    if (cur_->cname.empty() && attr.substr(0, 6) == "cname:") cur_->cname = std::string(trim(attr.substr(6)));
    return Status::ok();
  }
  if (name == "mid") {
    if (!has_arg || arg.empty() || !is_token(arg)) return fail(line, "a=mid needs an identifier, got " + shown(arg));
    if (!cur_->mid.empty()) return fail(line, "second a=mid line in this section");
    cur_->mid = std::string(arg);
    return Status::ok();
  }
  return Status::ok();
}

// Resolves the section's rtpmap/fmtp lines against its payload types.
Status Parser::finish_media() {
  if (!cur_) return Status::ok();
  Media& m = *cur_;
  for (auto& f : m.rtp_formats) {
    auto map = std::find_if(maps_.begin(), maps_.end(), [&](const PendingMap& p) { return p.pt == f.payload_type; });
    if (map != maps_.end()) {
      f.encoding = map->encoding;
      f.clock_rate = map->clock_rate;
      f.channels = map->channels;
      f.has_rtpmap = true;
    } else {
      std::string_view enc;
      if (static_payload_type(f.payload_type, enc, f.clock_rate, f.channels)) f.encoding = std::string(enc);
    }
    if (m.kind == "audio" && f.channels == 0 && !f.encoding.empty()) f.channels = 1;  // RFC 8866 6.6: default 1
    if (m.kind != "audio" && !f.has_rtpmap) f.channels = 0;
    auto fmtp = std::find_if(fmtps_.begin(), fmtps_.end(), [&](const PendingFmtp& p) { return p.pt == f.payload_type; });
    if (fmtp != fmtps_.end()) f.fmtp = fmtp->params;
  }
  maps_.clear();
  fmtps_.clear();
  cur_ = nullptr;
  return Status::ok();
}

Result<Description> Parser::run(std::string_view text) {
  if (text.size() > limits_.max_bytes)
    return Status(ErrorCode::resource_exhausted, "sdp: description is " + std::to_string(text.size()) +
                                                     " bytes, more than the limit of " +
                                                     std::to_string(limits_.max_bytes));
  if (text.size() >= 3 && static_cast<unsigned char>(text[0]) == 0xEF && static_cast<unsigned char>(text[1]) == 0xBB &&
      static_cast<unsigned char>(text[2]) == 0xBF)
    text.remove_prefix(3);  // a UTF-8 byte order mark from an editor

  size_t line_no = 0;
  bool seen_version = false;
  bool seen_session_c = false;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view raw = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_no;
    if (line_no > limits_.max_lines)
      return Status(ErrorCode::resource_exhausted,
                    "sdp: more than " + std::to_string(limits_.max_lines) + " lines");
    if (raw.size() > limits_.max_line)
      return Status(ErrorCode::resource_exhausted, "sdp line " + std::to_string(line_no) + ": longer than " +
                                                       std::to_string(limits_.max_line) + " bytes");
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    std::string_view l = trim(raw);
    if (l.empty()) continue;
    for (char c : l) {
      auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\t') || u == 0x7F) return fail(line_no, "contains a control character");
    }
    if (l.size() < 2 || l[1] != '=' || l[0] < 'a' || l[0] > 'z')
      return fail(line_no, "expected '<letter>=<value>', got " + shown(l));
    const char type = l[0];
    const std::string_view value = trim(l.substr(2));
    if (!seen_version) {
      if (type != 'v' || value != "0") return fail(line_no, "a description starts with 'v=0', got " + shown(l));
      seen_version = true;
      continue;
    }
    switch (type) {
      case 'v':
        return fail(line_no, "second v= line");
      case 'o': {
        if (cur_) return fail(line_no, "o= inside a media section");
        auto t = split_ws(value);
        if (t.size() == 6) {
          d_.origin_session_id = std::string(t[1]);
          d_.origin_address = std::string(t[5]);
        }
        break;
      }
      case 's':
        if (!cur_) d_.session_name = std::string(value);
        break;
      case 'c': {
        Connection c;
        Status s = parse_connection(line_no, "c=", value, c);
        if (!s) return s;
        if (cur_) {
          if (cur_->connection) return fail(line_no, "second c= line in this media section");
          cur_->connection = std::move(c);
        } else {
          if (seen_session_c) return fail(line_no, "second session-level c= line");
          seen_session_c = true;
          d_.connection = std::move(c);
        }
        break;
      }
      case 'm': {
        if (Status s = finish_media(); !s) return s;
        if (d_.media.size() >= limits_.max_media)
          return Status(ErrorCode::resource_exhausted, "sdp line " + std::to_string(line_no) + ": more than " +
                                                           std::to_string(limits_.max_media) + " m= sections");
        Media m;
        if (Status s = parse_media(line_no, value, m); !s) return s;
        d_.media.push_back(std::move(m));
        cur_ = &d_.media.back();
        attributes_ = 0;
        break;
      }
      case 'a':
        if (Status s = parse_attribute(line_no, value); !s) return s;
        break;
      default:
        break;  // i=, u=, e=, p=, b=, t=, r=, z=, k= and unknown types: not needed for recording
    }
  }
  if (!seen_version) return Status(ErrorCode::invalid_argument, "sdp: empty description (no 'v=0' line)");
  if (Status s = finish_media(); !s) return s;
  for (auto& m : d_.media)
    if (m.crypto.empty()) m.crypto = session_crypto_;
  d_.lines = line_no;
  return std::move(d_);
}

}  // namespace

bool Media::is_rtp() const noexcept {
  return proto == "RTP/AVP" || proto == "RTP/SAVP" || proto == "RTP/AVPF" || proto == "RTP/SAVPF";
}

bool Media::is_secure_profile() const noexcept { return proto == "RTP/SAVP" || proto == "RTP/SAVPF"; }

uint32_t Media::effective_rtcp_port() const noexcept {
  if (rtcp_mux) return port;
  if (rtcp_port) return *rtcp_port;
  return static_cast<uint32_t>(port) + 1;
}

const Format* Media::format(uint8_t payload_type) const noexcept {
  for (const auto& f : rtp_formats)
    if (f.payload_type == payload_type) return &f;
  return nullptr;
}

const Connection* Description::connection_of(const Media& m) const noexcept {
  if (m.connection) return &*m.connection;
  if (connection) return &*connection;
  return nullptr;
}

Result<Description> parse(std::string_view text, const Limits& limits) {
  Parser p(limits);
  return p.run(text);
}

// ---- writing -------------------------------------------------------------------

std::string one_line(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) c = ' ';
  }
  return std::string(trim(out));
}

namespace {

Status bad_field(const std::string& field, const std::string& why) {
  return Status(ErrorCode::invalid_argument, "sdp write: " + field + " " + why);
}

// A field parse() reads back as written: one line, no control character, no
// space at either end (and none at all where `spaces` is false), not empty.
Status text_field(const std::string& field, std::string_view v, bool spaces) {
  if (v.empty()) return bad_field(field, "is empty");
  for (char c : v) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) return bad_field(field, "has a control character");
    if (!spaces && c == ' ') return bad_field(field, "has a space");
  }
  if (trim(v) != v) return bad_field(field, "has a space at an end");
  return Status::ok();
}

// "IN IP4 ADDR[/TTL[/COUNT]]" / "IN IP6 ADDR[/COUNT]".
Result<std::string> connection_text(const std::string& field, const Connection& c) {
  if (c.address.empty() || c.address.find('/') != std::string::npos)
    return bad_field(field, "address must be one address");
  unsigned char buf[16];
  if (inet_pton(c.ipv6 ? AF_INET6 : AF_INET, c.address.c_str(), buf) != 1) {
    const bool looks_numeric_v4 = !c.ipv6 && std::all_of(c.address.begin(), c.address.end(),
                                                         [](char ch) { return is_digit(ch) || ch == '.'; });
    if (c.ipv6 || looks_numeric_v4 || !valid_host_name(c.address))
      return bad_field(field, "address is not a valid " + std::string(c.ipv6 ? "IPv6" : "IPv4") + " address or host name");
  }
  if (c.count == 0 || c.ttl > 255) return bad_field(field, "needs ttl 0..255 and count >= 1");
  std::string out = std::string("IN ") + (c.ipv6 ? "IP6 " : "IP4 ") + c.address;
  if (c.ipv6) {
    if (c.ttl != 0) return bad_field(field, "has a TTL (IPv6 has none)");
    if (c.count > 1) out += "/" + std::to_string(c.count);
  } else if (c.count > 1) {
    out += "/" + std::to_string(c.ttl) + "/" + std::to_string(c.count);
  } else if (c.ttl > 0) {
    out += "/" + std::to_string(c.ttl);
  }
  return out;
}

}  // namespace

Result<std::string> write(const Description& d) {
  std::string s = "v=0\r\n";
  if (d.origin_address.empty()) return bad_field("origin_address", "is required");
  std::string sid = d.origin_session_id.empty() ? "0" : d.origin_session_id;
  if (Status st = text_field("origin_session_id", sid, false); !st) return st;
  Connection origin;
  origin.ipv6 = d.origin_address.find(':') != std::string::npos;
  origin.address = d.origin_address;
  auto o = connection_text("origin_address", origin);
  if (!o) return o.status();
  s += "o=- " + sid + " 1 " + *o + "\r\n";
  if (d.session_name.empty()) {
    s += "s= \r\n";  // RFC 8866 5.3: a single space when there is no name
  } else {
    if (Status st = text_field("session_name", d.session_name, true); !st) return st;
    s += "s=" + d.session_name + "\r\n";
  }
  if (d.connection) {
    auto c = connection_text("connection", *d.connection);
    if (!c) return c.status();
    s += "c=" + *c + "\r\n";
  }
  s += "t=0 0\r\n";
  for (size_t i = 0; i < d.media.size(); ++i) {
    const Media& m = d.media[i];
    const std::string f = "media " + std::to_string(i) + " ";
    if (!is_token(m.kind) || util::ascii_lowercase(m.kind) != m.kind)
      return bad_field(f + "kind", "must be a lower-case token");
    if (!is_token(m.proto)) return bad_field(f + "proto", "must be a token");
    if (m.port_count == 0) return bad_field(f + "port_count", "must be at least 1");
    std::string line = "m=" + m.kind + " " + std::to_string(m.port);
    if (m.port_count > 1) line += "/" + std::to_string(m.port_count);
    line += " " + m.proto;
    if (m.is_rtp()) {
      if (m.rtp_formats.empty()) return bad_field(f + "rtp_formats", "is empty");
      std::array<bool, 128> seen{};
      for (const auto& fm : m.rtp_formats) {
        if (fm.payload_type > 127 || seen[fm.payload_type])
          return bad_field(f + "payload type " + std::to_string(fm.payload_type), "is out of range or repeated");
        seen[fm.payload_type] = true;
        line += " " + std::to_string(fm.payload_type);
      }
    } else {
      if (m.formats.empty()) return bad_field(f + "formats", "is empty");
      for (const auto& fm : m.formats) {
        if (!is_token(fm)) return bad_field(f + "format", "must be a token");
        line += " " + fm;
      }
    }
    s += line + "\r\n";
    if (m.connection) {
      auto c = connection_text(f + "connection", *m.connection);
      if (!c) return c.status();
      s += "c=" + *c + "\r\n";
    }
    if (m.is_rtp()) {
      for (const auto& fm : m.rtp_formats) {
        const std::string pt = std::to_string(fm.payload_type);
        if (fm.has_rtpmap) {
          if (Status st = text_field(f + "encoding", fm.encoding, false); !st) return st;
          if (fm.encoding.find('/') != std::string::npos) return bad_field(f + "encoding", "has a '/'");
          if (fm.clock_rate == 0) return bad_field(f + "clock_rate", "must be positive");
          if (fm.channels > 255 || (m.kind == "audio" && fm.channels == 0))
            return bad_field(f + "channels", "must be 1..255 for audio, 0..255 otherwise");
          s += "a=rtpmap:" + pt + " " + fm.encoding + "/" + std::to_string(fm.clock_rate);
          if (fm.channels > 0) s += "/" + std::to_string(fm.channels);
          s += "\r\n";
        }
        if (!fm.fmtp.empty()) {
          if (Status st = text_field(f + "fmtp", fm.fmtp, true); !st) return st;
          s += "a=fmtp:" + pt + " " + fm.fmtp + "\r\n";
        }
      }
    }
    if (m.rtcp_port) {
      if (*m.rtcp_port == 0) return bad_field(f + "rtcp_port", "must be 1..65535");
      s += "a=rtcp:" + std::to_string(*m.rtcp_port);
      if (m.rtcp_connection) {
        auto c = connection_text(f + "rtcp_connection", *m.rtcp_connection);
        if (!c) return c.status();
        s += " " + *c;
      }
      s += "\r\n";
    } else if (m.rtcp_connection) {
      return bad_field(f + "rtcp_connection", "needs an rtcp_port");
    }
    if (m.rtcp_mux) s += "a=rtcp-mux\r\n";
    if (!m.cname.empty()) {
      if (Status st = text_field(f + "cname", m.cname, true); !st) return st;
      if (m.ssrcs.empty()) return bad_field(f + "cname", "needs an ssrc");
    }
    for (size_t k = 0; k < m.ssrcs.size(); ++k) {
      if (std::find(m.ssrcs.begin(), m.ssrcs.begin() + static_cast<std::ptrdiff_t>(k), m.ssrcs[k]) !=
          m.ssrcs.begin() + static_cast<std::ptrdiff_t>(k))
        return bad_field(f + "ssrcs", "repeats " + std::to_string(m.ssrcs[k]));
      s += "a=ssrc:" + std::to_string(m.ssrcs[k]);
      if (!m.cname.empty()) s += " cname:" + m.cname;
      s += "\r\n";
    }
    if (!m.mid.empty()) {
      if (!is_token(m.mid)) return bad_field(f + "mid", "must be a token");
      s += "a=mid:" + m.mid + "\r\n";
    }
    for (const auto& c : m.crypto) {
      if (Status st = text_field(f + "crypto", c.attribute, true); !st) return st;
      auto t = split_ws(c.attribute);
      uint32_t tag = 0;
      if (t.size() < 3 || !parse_uint(t[0], tag, 999999999, 9) || tag != c.tag || t[1] != c.suite || !is_token(c.suite))
        return bad_field(f + "crypto", "attribute must be 'tag suite key-params' with its tag and suite");
      for (const auto& other : m.crypto)
        if (&other != &c && other.tag == c.tag) return bad_field(f + "crypto", "tag " + std::to_string(c.tag) + " twice");
      s += "a=crypto:" + c.attribute + "\r\n";
    }
  }
  return s;
}

bool static_payload_type(uint8_t pt, std::string_view& encoding, uint32_t& clock_rate, uint32_t& channels) noexcept {
  struct Entry {
    uint8_t pt;
    const char* name;
    uint32_t clock, channels;
  };
  // RFC 3551 tables 4 and 5 (video types have no channel count).
  static constexpr Entry kTable[] = {
      {0, "PCMU", 8000, 1},   {3, "GSM", 8000, 1},    {4, "G723", 8000, 1},   {5, "DVI4", 8000, 1},
      {6, "DVI4", 16000, 1},  {7, "LPC", 8000, 1},    {8, "PCMA", 8000, 1},   {9, "G722", 8000, 1},
      {10, "L16", 44100, 2},  {11, "L16", 44100, 1},  {12, "QCELP", 8000, 1}, {13, "CN", 8000, 1},
      {14, "MPA", 90000, 0},  {15, "G728", 8000, 1},  {16, "DVI4", 11025, 1}, {17, "DVI4", 22050, 1},
      {18, "G729", 8000, 1},  {25, "CelB", 90000, 0}, {26, "JPEG", 90000, 0}, {28, "nv", 90000, 0},
      {31, "H261", 90000, 0}, {32, "MPV", 90000, 0},  {33, "MP2T", 90000, 0}, {34, "H263", 90000, 0},
  };
  for (const auto& e : kTable)
    if (e.pt == pt) {
      encoding = e.name;
      clock_rate = e.clock;
      channels = e.channels;
      return true;
    }
  return false;
}

}  // namespace roomrec::sdp
