// s3::AddressPolicy: where a client-chosen output may connect (issue 21 item 5).
#include <doctest/doctest.h>

#include "s3/address_policy.h"

using namespace roomrec;
using namespace roomrec::s3;

TEST_CASE("address policy: public addresses only by default") {
  auto p = AddressPolicy::parse("");
  REQUIRE(p.is_ok());
  for (const char* a : {"8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"}) CHECK_MESSAGE(p->allows_address(a), a);
  for (const char* a : {"127.0.0.1", "127.255.0.1", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254",
                        "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fd00::1",
                        "::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::7f00:1", "2002:7f00:1::1", "not an ip"})
    CHECK_MESSAGE(!(p->allows_address(a)), a);
  // Numeric hosts in any notation a resolver takes are refused at submit.
  for (const char* h : {"127.0.0.1", "2130706433", "0x7f.1", "0177.0.0.1", "127.1", "::1", "[::1]", "10.1.2.3"})
    CHECK_MESSAGE(p->check_host(h).code() == ErrorCode::permission_denied, h);
  CHECK(p->check_host("8.8.8.8").is_ok());
  CHECK(p->check_host("s3.example.com").is_ok());  // names: checked on each connection
  auto f = p->for_host("s3.example.com");
  CHECK_FALSE(f("127.0.0.1"));
  CHECK(f("8.8.8.8"));
}

TEST_CASE("address policy: listed networks and names") {
  auto p = AddressPolicy::parse(" 10.0.0.0/8, ::1 ,minio.internal,fd00::/8");
  REQUIRE(p.is_ok());
  CHECK(p->allows_address("10.9.8.7"));
  CHECK(p->allows_address("::1"));
  CHECK(p->allows_address("fd12::5"));
  CHECK_FALSE(p->allows_address("127.0.0.1"));
  CHECK_FALSE(p->allows_address("192.168.0.1"));
  CHECK(p->check_host("10.1.2.3").is_ok());
  CHECK(p->check_host("[::1]").is_ok());
  CHECK(p->for_host("MINIO.internal.")("192.168.7.7"));  // a listed name is trusted whatever it resolves to
  for (const char* bad : {"10.0.0.0/33", "::1/129", "a b", "10.0.0.0/x", "http://x", "1.2.3.4/"})
    CHECK_MESSAGE(!(AddressPolicy::parse(bad).is_ok()), bad);
}
