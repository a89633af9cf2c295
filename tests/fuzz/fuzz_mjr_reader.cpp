// Fuzz target: the Janus .mjr reader on arbitrary bytes. It must never crash or loop forever, every
// frame must lie inside the input, and whatever it accepts must convert into a chunk that reads back
// complete.
#include <roomrec/chunk_reader.h>

#include <cstdint>
#include <cstdlib>

#include "read/mjr_reader.h"

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
    if (f.data < data || f.data + f.size > data + size || f.offset >= size) std::abort();
    ++n;
  }
  const auto& st = frames.stats();
  if (st.frames != n || st.skipped_bytes > size) std::abort();

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
