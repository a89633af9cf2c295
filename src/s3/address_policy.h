// Which network addresses a client-chosen target (the worker's custom_s3)
// may reach: public addresses, plus what the operator lists (issue 21 item 5).
//
// An entry is a host name (that name is trusted whatever it resolves to), an
// address ("10.1.2.3", "::1") or a CIDR ("10.0.0.0/8", "fd00::/8"). Without
// an entry, loopback, private, link-local, CGNAT, multicast, reserved and
// unspecified addresses (and their IPv4-mapped forms) are refused. The check
// runs on each connection's actual peer address (HttpOptions::address_allowed),
// so a host's notation (2130706433, 0x7f.1) or a DNS answer cannot get around it.
#pragma once

#include <roomrec/status.h>

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace roomrec::s3 {

class AddressPolicy {
 public:
  // A comma-separated list of entries (spaces ignored); "" allows public addresses only.
  static Result<AddressPolicy> parse(std::string_view list);

  // A numeric address ("127.0.0.1", "::1"): public, or inside a listed network.
  bool allows_address(std::string_view address) const;
  // The connection check for a target host (as written in its URI).
  std::function<bool(const std::string& address)> for_host(std::string_view host) const;
  // Before accepting a target: refuses a host written as a numeric address (any notation a
  // resolver takes) that is not allowed. Names are checked when connecting.
  Status check_host(std::string_view host) const;

  bool empty() const { return names_.empty() && nets_.empty(); }

 private:
  struct Net {
    std::array<uint8_t, 16> addr{};  // IPv4 as ::ffff:a.b.c.d
    unsigned prefix = 0;             // over the 128 bits
  };
  bool listed(const std::array<uint8_t, 16>& a) const;
  bool name_listed(std::string_view host) const;

  std::vector<std::string> names_;  // lower case
  std::vector<Net> nets_;
};

// True for an address on the public Internet (not loopback, private, link-local, ...).
bool is_public_address(std::string_view address);

}  // namespace roomrec::s3
