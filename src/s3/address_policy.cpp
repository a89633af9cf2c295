#include "s3/address_policy.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <optional>

#include "util/text.h"

namespace roomrec::s3 {
namespace {

using Addr = std::array<uint8_t, 16>;

// Strict numeric forms only (inet_pton): what an operator writes in a list.
std::optional<Addr> parse_strict(std::string_view text) {
  std::string s(text);
  Addr a{};
  in_addr v4{};
  if (::inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    a[10] = a[11] = 0xFF;
    std::memcpy(a.data() + 12, &v4, 4);
    return a;
  }
  in6_addr v6{};
  if (::inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::memcpy(a.data(), &v6, 16);
    return a;
  }
  return std::nullopt;
}

// Any numeric form a resolver takes ("2130706433", "0x7f.1", "[::1]"), without DNS.
std::optional<Addr> parse_numeric_host(std::string_view host) {
  std::string h(host);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (size_t pct = h.find('%'); pct != std::string::npos) h.resize(pct);  // zone id
  addrinfo hints{};
  hints.ai_flags = AI_NUMERICHOST;
  hints.ai_family = AF_UNSPEC;
  addrinfo* res = nullptr;
  if (::getaddrinfo(h.c_str(), nullptr, &hints, &res) != 0 || !res) return std::nullopt;
  Addr a{};
  bool ok = false;
  if (res->ai_family == AF_INET) {
    a[10] = a[11] = 0xFF;
    std::memcpy(a.data() + 12, &reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_addr, 4);
    ok = true;
  } else if (res->ai_family == AF_INET6) {
    std::memcpy(a.data(), &reinterpret_cast<sockaddr_in6*>(res->ai_addr)->sin6_addr, 16);
    ok = true;
  }
  ::freeaddrinfo(res);
  if (!ok) return std::nullopt;
  return a;
}

bool in_net(const Addr& a, const Addr& net, unsigned prefix) {
  for (unsigned bit = 0; bit < prefix; bit += 8) {
    const unsigned take = std::min(8u, prefix - bit);
    const uint8_t mask = static_cast<uint8_t>(0xFF << (8 - take));
    if ((a[bit / 8] & mask) != (net[bit / 8] & mask)) return false;
  }
  return true;
}

bool is_v4(const Addr& a) {
  for (int i = 0; i < 10; ++i)
    if (a[i]) return false;
  return a[10] == 0xFF && a[11] == 0xFF;
}

bool public_v4(const uint8_t* b) {
  const uint32_t v = (uint32_t(b[0]) << 24) | (uint32_t(b[1]) << 16) | (uint32_t(b[2]) << 8) | b[3];
  struct Range {
    uint32_t net;
    unsigned bits;
  };
  static constexpr Range kNonPublic[] = {
      {0x00000000, 8},  {0x0A000000, 8},  {0x64400000, 10}, {0x7F000000, 8},  {0xA9FE0000, 16},
      {0xAC100000, 12}, {0xC0000000, 24}, {0xC0000200, 24}, {0xC0A80000, 16}, {0xC6120000, 15},
      {0xC6336400, 24}, {0xCB007100, 24}, {0xE0000000, 4},  {0xF0000000, 4},
  };
  for (const auto& r : kNonPublic)
    if ((v >> (32 - r.bits)) == (r.net >> (32 - r.bits))) return false;
  return true;
}

bool public_addr(const Addr& a) {
  if (is_v4(a)) return public_v4(a.data() + 12);
  // IPv4 embedded by NAT64 (64:ff9b::/96) or the old compatible form (::/96): judged as IPv4.
  static const Addr nat64 = *parse_strict("64:ff9b::");
  if (in_net(a, nat64, 96)) return public_v4(a.data() + 12);
  struct Range {
    const char* net;
    unsigned bits;
  };
  static constexpr Range kNonPublic[] = {
      {"::", 96},  // unspecified, loopback, IPv4-compatible
      {"fc00::", 7}, {"fe80::", 10}, {"fec0::", 10}, {"ff00::", 8}, {"2001:db8::", 32}, {"100::", 64},
      {"2001::", 23},  // IETF protocol assignments (Teredo, ORCHID, ...)
      {"2002::", 16},  // 6to4: embeds an IPv4 address of any kind
  };
  for (const auto& r : kNonPublic)
    if (in_net(a, *parse_strict(r.net), r.bits)) return false;
  return true;
}

std::string lower_host(std::string_view host) {
  std::string h = util::ascii_lowercase(host);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  while (!h.empty() && h.back() == '.') h.pop_back();  // "host." is "host"
  return h;
}

}  // namespace

Result<AddressPolicy> AddressPolicy::parse(std::string_view list) {
  AddressPolicy p;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string_view::npos) comma = list.size();
    std::string_view e = list.substr(start, comma - start);
    while (!e.empty() && e.front() == ' ') e.remove_prefix(1);
    while (!e.empty() && e.back() == ' ') e.remove_suffix(1);
    start = comma + 1;
    if (e.empty()) continue;
    std::string_view addr = e;
    std::optional<unsigned> bits;
    if (size_t slash = e.find('/'); slash != std::string_view::npos) {
      addr = e.substr(0, slash);
      std::string_view b = e.substr(slash + 1);
      unsigned v = 0;
      if (b.empty() || b.size() > 3) return Status::error(ErrorCode::invalid_argument, "bad prefix length in '" + std::string(e) + "'");
      for (char c : b) {
        if (c < '0' || c > '9') return Status::error(ErrorCode::invalid_argument, "bad prefix length in '" + std::string(e) + "'");
        v = v * 10 + static_cast<unsigned>(c - '0');
      }
      bits = v;
    }
    if (auto a = parse_strict(addr)) {
      const bool v4 = addr.find(':') == std::string_view::npos;
      const unsigned max = v4 ? 32 : 128;
      const unsigned b = bits.value_or(max);
      if (b > max) return Status::error(ErrorCode::invalid_argument, "prefix too long in '" + std::string(e) + "'");
      p.nets_.push_back(Net{*a, v4 ? b + 96 : b});
    } else if (!bits && addr.find_first_of(" /@:[]") == std::string_view::npos) {
      p.names_.push_back(lower_host(addr));
    } else {
      return Status::error(ErrorCode::invalid_argument,
                           "'" + std::string(e) + "' is neither a host name, an address nor a CIDR");
    }
  }
  return p;
}

bool AddressPolicy::listed(const Addr& a) const {
  for (const auto& n : nets_)
    if (in_net(a, n.addr, n.prefix)) return true;
  return false;
}

bool AddressPolicy::name_listed(std::string_view host) const {
  const std::string h = lower_host(host);
  for (const auto& n : names_)
    if (n == h) return true;
  return false;
}

bool AddressPolicy::allows_address(std::string_view address) const {
  auto a = parse_strict(address);
  if (!a) return false;
  return public_addr(*a) || listed(*a);
}

std::function<bool(const std::string&)> AddressPolicy::for_host(std::string_view host) const {
  if (name_listed(host)) return [](const std::string&) { return true; };
  return [self = *this](const std::string& address) { return self.allows_address(address); };
}

Status AddressPolicy::check_host(std::string_view host) const {
  if (name_listed(host)) return Status::ok();
  auto a = parse_numeric_host(host);
  if (!a || public_addr(*a) || listed(*a)) return Status::ok();
  return Status::error(ErrorCode::permission_denied,
                       "this worker does not send outputs to that address (see --custom-s3-allow)");
}

bool is_public_address(std::string_view address) {
  auto a = parse_strict(address);
  return a && public_addr(*a);
}

}  // namespace roomrec::s3
