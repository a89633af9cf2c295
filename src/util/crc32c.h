// CRC32C (Castagnoli), as used by iSCSI, ext4 and S3 checksums.
// Uses the SSE4.2 crc32 instruction when the CPU has it, a slicing-by-8 table otherwise.
#pragma once

#include <cstddef>
#include <cstdint>

namespace roomrec::util {

// Extends `crc` (0 for a fresh computation) over n bytes.
uint32_t crc32c(const void* data, size_t n, uint32_t crc = 0) noexcept;

// The portable implementation, exposed so tests can check both paths agree.
uint32_t crc32c_portable(const void* data, size_t n, uint32_t crc = 0) noexcept;

// True when the hardware path is in use.
bool crc32c_hardware() noexcept;

}  // namespace roomrec::util
