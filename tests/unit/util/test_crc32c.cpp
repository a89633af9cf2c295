#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include "util/crc32c.h"

using roomrec::util::crc32c;
using roomrec::util::crc32c_portable;

TEST_CASE("crc32c matches the published check values") {
  const std::string check = "123456789";
  CHECK(crc32c(check.data(), check.size()) == 0xE3069283u);
  CHECK(crc32c_portable(check.data(), check.size()) == 0xE3069283u);

  // RFC 3720 (iSCSI) appendix B.4 vectors.
  std::vector<uint8_t> zeros(32, 0x00), ones(32, 0xFF), inc(32), dec(32);
  for (int i = 0; i < 32; ++i) {
    inc[i] = static_cast<uint8_t>(i);
    dec[i] = static_cast<uint8_t>(31 - i);
  }
  for (auto f : {&crc32c, &crc32c_portable}) {
    CHECK(f(zeros.data(), 32, 0) == 0x8A9136AAu);
    CHECK(f(ones.data(), 32, 0) == 0x62A8AB43u);
    CHECK(f(inc.data(), 32, 0) == 0x46DD794Eu);
    CHECK(f(dec.data(), 32, 0) == 0x113FDB5Cu);
  }
  CHECK(crc32c(nullptr, 0) == 0u);
}

TEST_CASE("crc32c hardware and portable paths agree at every length and alignment") {
  std::mt19937 rng(7);
  std::vector<uint8_t> buf(4096 + 16);
  for (auto& b : buf) b = static_cast<uint8_t>(rng());
  for (size_t off = 0; off < 9; ++off) {
    for (size_t n = 0; n < 300; ++n) {
      REQUIRE(crc32c(buf.data() + off, n) == crc32c_portable(buf.data() + off, n));
    }
  }
  CHECK(crc32c(buf.data(), 4096) == crc32c_portable(buf.data(), 4096));
  // Lengths that take the three-way interleaved paths (short and long blocks).
  std::vector<uint8_t> big(200000);
  for (auto& b : big) b = static_cast<uint8_t>(rng());
  for (size_t n : {383u, 384u, 385u, 1200u, 1500u, 12287u, 12288u, 12289u, 50000u, 200000u}) {
    for (size_t off = 0; off < 3 && off + n <= big.size(); ++off)
      REQUIRE_MESSAGE(crc32c(big.data() + off, n - off) == crc32c_portable(big.data() + off, n - off), n);
  }
  INFO("hardware path in use: " << roomrec::util::crc32c_hardware());
}

TEST_CASE("crc32c extends incrementally") {
  std::mt19937 rng(11);
  std::vector<uint8_t> buf(1000);
  for (auto& b : buf) b = static_cast<uint8_t>(rng());
  uint32_t whole = crc32c(buf.data(), buf.size());
  for (size_t split : {0u, 1u, 7u, 8u, 500u, 999u, 1000u}) {
    uint32_t part = crc32c(buf.data(), split);
    CHECK(crc32c(buf.data() + split, buf.size() - split, part) == whole);
    CHECK(crc32c_portable(buf.data() + split, buf.size() - split, part) == whole);
  }
}
