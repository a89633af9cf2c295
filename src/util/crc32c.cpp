#include "util/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define ROOMREC_CRC_X86 1
#endif

namespace roomrec::util {
namespace {

constexpr uint32_t kPoly = 0x82F63B78u;  // reflected Castagnoli polynomial

struct Tables {
  uint32_t t[8][256];
  constexpr Tables() : t{} {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (kPoly & (0u - (c & 1u)));
      t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; ++i)
      for (int s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFF];
  }
};

constexpr Tables kTables{};

#ifdef ROOMREC_CRC_X86
// The crc32 instruction has a latency of three cycles and a throughput of one
// per cycle, so one dependent chain runs at a third of the possible speed.
// Long inputs are therefore cut in three interleaved streams whose CRCs are
// combined afterwards by "shifting" a CRC over the length of the following
// stream: multiplying it by x^(8*len) modulo the polynomial, here with tables
// built once from the GF(2) matrix of that operation.
constexpr size_t kShort = 128;   // bytes per stream, short blocks
constexpr size_t kLong = 4096;   // bytes per stream, long blocks

uint32_t gf2_matrix_times(const uint32_t* mat, uint32_t vec) {
  uint32_t sum = 0;
  while (vec) {
    if (vec & 1) sum ^= *mat;
    vec >>= 1;
    ++mat;
  }
  return sum;
}

void gf2_matrix_square(uint32_t* square, const uint32_t* mat) {
  for (int n = 0; n < 32; ++n) square[n] = gf2_matrix_times(mat, mat[n]);
}

// The operator that appends `len` zero bytes (a power of two) to a CRC.
void zeros_operator(uint32_t* even, size_t len) {
  uint32_t odd[32];
  odd[0] = kPoly;  // one zero bit
  uint32_t row = 1;
  for (int n = 1; n < 32; ++n) {
    odd[n] = row;
    row <<= 1;
  }
  gf2_matrix_square(even, odd);  // two zero bits
  gf2_matrix_square(odd, even);  // four zero bits
  for (;;) {
    gf2_matrix_square(even, odd);  // 1, 4, 16... zero bytes
    len >>= 1;
    if (len == 0) return;
    gf2_matrix_square(odd, even);  // 2, 8, 32... zero bytes
    len >>= 1;
    if (len == 0) break;
  }
  for (int n = 0; n < 32; ++n) even[n] = odd[n];
}

struct ShiftTable {
  uint32_t t[4][256];
  explicit ShiftTable(size_t len) {
    uint32_t op[32];
    zeros_operator(op, len);
    for (uint32_t n = 0; n < 256; ++n) {
      t[0][n] = gf2_matrix_times(op, n);
      t[1][n] = gf2_matrix_times(op, n << 8);
      t[2][n] = gf2_matrix_times(op, n << 16);
      t[3][n] = gf2_matrix_times(op, n << 24);
    }
  }
  uint32_t shift(uint32_t crc) const {
    return t[0][crc & 0xFF] ^ t[1][(crc >> 8) & 0xFF] ^ t[2][(crc >> 16) & 0xFF] ^ t[3][crc >> 24];
  }
};

const ShiftTable& short_shift() {
  static const ShiftTable t(kShort);
  return t;
}
const ShiftTable& long_shift() {
  static const ShiftTable t(kLong);
  return t;
}

template <size_t Block>
__attribute__((target("sse4.2"))) inline uint64_t crc_three_way(const uint8_t*& p, size_t& n, uint64_t c0,
                                                                  const ShiftTable& shift) {
  while (n >= 3 * Block) {
    uint64_t c1 = 0, c2 = 0;
    const uint8_t* end = p + Block;
    do {
      uint64_t a, b, d;
      std::memcpy(&a, p, 8);
      std::memcpy(&b, p + Block, 8);
      std::memcpy(&d, p + 2 * Block, 8);
      c0 = _mm_crc32_u64(c0, a);
      c1 = _mm_crc32_u64(c1, b);
      c2 = _mm_crc32_u64(c2, d);
      p += 8;
    } while (p < end);
    c0 = shift.shift(static_cast<uint32_t>(c0)) ^ c1;
    c0 = shift.shift(static_cast<uint32_t>(c0)) ^ c2;
    p += 2 * Block;
    n -= 3 * Block;
  }
  return c0;
}

__attribute__((target("sse4.2"))) uint32_t crc32c_sse42(const uint8_t* p, size_t n, uint32_t crc) noexcept {
  uint64_t c = ~crc;
  while (n > 0 && (reinterpret_cast<uintptr_t>(p) & 7) != 0) {
    c = _mm_crc32_u8(static_cast<uint32_t>(c), *p++);
    --n;
  }
  if (n >= 3 * kLong) c = crc_three_way<kLong>(p, n, c, long_shift());
  if (n >= 3 * kShort) c = crc_three_way<kShort>(p, n, c, short_shift());
  while (n >= 8) {
    uint64_t a;
    std::memcpy(&a, p, 8);
    c = _mm_crc32_u64(c, a);
    p += 8;
    n -= 8;
  }
  while (n > 0) {
    c = _mm_crc32_u8(static_cast<uint32_t>(c), *p++);
    --n;
  }
  return ~static_cast<uint32_t>(c);
}

bool detect_sse42() noexcept {
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2");
}
#endif

}  // namespace

uint32_t crc32c_portable(const void* data, size_t n, uint32_t crc) noexcept {
  const auto* p = static_cast<const uint8_t*>(data);
  uint32_t c = ~crc;
  const auto& t = kTables.t;
  while (n >= 8) {
    uint32_t lo, hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + 4, 4);
    lo ^= c;  // little-endian load; the table layout assumes it
    c = t[7][lo & 0xFF] ^ t[6][(lo >> 8) & 0xFF] ^ t[5][(lo >> 16) & 0xFF] ^ t[4][lo >> 24] ^
        t[3][hi & 0xFF] ^ t[2][(hi >> 8) & 0xFF] ^ t[1][(hi >> 16) & 0xFF] ^ t[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) c = (c >> 8) ^ t[0][(c ^ *p++) & 0xFF];
  return ~c;
}

bool crc32c_hardware() noexcept {
#ifdef ROOMREC_CRC_X86
  static const bool hw = detect_sse42();
  return hw;
#else
  return false;
#endif
}

uint32_t crc32c(const void* data, size_t n, uint32_t crc) noexcept {
#ifdef ROOMREC_CRC_X86
  if (crc32c_hardware()) return crc32c_sse42(static_cast<const uint8_t*>(data), n, crc);
#endif
  return crc32c_portable(data, n, crc);
}

}  // namespace roomrec::util
