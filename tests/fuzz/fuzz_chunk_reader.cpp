// Fuzz target: the chunk reader on arbitrary bytes. It must never crash,
// never loop forever, and account for every byte it was given.
#include <roomrec/chunk_reader.h>

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace roomrec;
  ChunkReader reader(memory_source(data, size));
  reader.read_header();
  Row row;
  uint64_t rows = 0;
  while (reader.next(row)) {
    ++rows;
    if (row.payload.size() > size) std::abort();  // a row cannot be larger than its input
  }
  const auto& st = reader.stats();
  if (st.good_rows != rows) std::abort();
  if (st.skipped_bytes > size) std::abort();
  return 0;
}
