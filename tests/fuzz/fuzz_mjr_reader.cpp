// Fuzz target: the Janus .mjr reader on arbitrary bytes. It must never crash or loop forever, every
// frame must be the input's bytes at its offset, and whatever it accepts must convert into a chunk that reads back
// complete.
#include <roomrec/chunk_reader.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <cstdlib>
#include <cstring>

#include "read/mjr_reader.h"

namespace {
// Hands out the input a few bytes at a time (1..13, varying).
class Dribble final : public roomrec::ByteSource {
 public:
  Dribble(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  roomrec::Result<size_t> read(uint8_t* dst, size_t max) override {
    size_t k = std::min({max, n_ - off_, size_t{1} + (off_ * 7 + n_) % 13});
    if (k) std::memcpy(dst, p_ + off_, k);
    off_ += k;
    return k;
  }

 private:
  const uint8_t* p_;
  size_t n_;
  size_t off_ = 0;
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace roomrec;
  auto info = mjr::parse_header(data, size);
  if (!info) {
    if (info.status().message().empty()) std::abort();  // every refusal says why
    return 0;
  }
  if (info->frames_offset > size) std::abort();
  mjr::FrameReader frames(info.value(), data, size);
  mjr::Frame f;
  uint64_t n = 0;
  while (frames.next(f)) {
    // The frame's bytes are the input's at its offset (the reader copies the file through a window).
    const size_t at = 10 + (info->media == mjr::Media::data ? 8 : 0);
    if (f.offset >= size || f.size > size || f.offset + at + f.size > size ||
        (f.size && std::memcmp(f.data, data + f.offset + at, f.size) != 0))
      std::abort();
    ++n;
  }
  const auto& st = frames.stats();
  if (st.frames != n || st.skipped_bytes > size) std::abort();

  // The same file handed over in pieces of 1..13 bytes: the window's refills must not change a frame.
  {
    auto dribble = std::make_unique<Dribble>(data, size);
    auto opened = mjr::FrameReader::open(std::move(dribble));
    if (!opened) std::abort();
    mjr::FrameReader& d = *opened.value();
    mjr::Frame g;
    uint64_t k = 0;
    mjr::FrameReader again(info.value(), data, size);
    while (d.next(g)) {
      if (!again.next(f) || f.offset != g.offset || f.size != g.size || f.ts_ms != g.ts_ms ||
          (f.size && std::memcmp(f.data, g.data, f.size) != 0))
        std::abort();
      ++k;
    }
    if (k != n || d.stats().skipped_bytes != st.skipped_bytes || d.stats().bad_regions != st.bad_regions ||
        d.stats().truncated != st.truncated || d.stats().problems != st.problems)
      std::abort();
  }

  // The listing's look at the file's end: any tail of the input, never out of bounds (ASan), bounded work.
  (void)mjr::last_frame_rel_ms(info.value(), data + size / 3, size - size / 3);
  if (auto rel = mjr::last_frame_rel_ms(info.value(), data, size); rel && info->version != 2) std::abort();

  mjr::ChunkParams params;
  params.peer = "fuzz";
  auto conv = mjr::convert_to_chunk(data, size, params);
  if (!conv) std::abort();  // the header was accepted above
  ChunkReader reader(memory_source(conv->chunk.data(), conv->chunk.size()));
  if (!reader.read_header()) std::abort();
  Row row;
  uint64_t rows = 0;
  while (reader.next(row)) ++rows;
  const bool media = info->media != mjr::Media::data;
  if (!reader.stats().complete() || rows != n + (media ? 2 : 0)) std::abort();
  return 0;
}
