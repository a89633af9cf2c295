// The rows of one chunk as the readers (SessionReader, the sender report scan) consume them, whatever
// the chunk is stored as: a roomrec chunk read with a ChunkReader, or a Janus .mjr turned into rows as
// its frames are read (no chunk bytes encoded and decoded in between). Internal to roomrec-convert.
#pragma once

#include <roomrec/chunk_reader.h>
#include <roomrec/chunk_types.h>
#include <roomrec/recording_source.h>
#include <roomrec/status.h>

#include <memory>

namespace roomrec {

class RowStream {
 public:
  virtual ~RowStream() = default;
  // The chunk's header, or nullptr when it has none intact (call before the first next()).
  virtual const ChunkHeader* read_header() = 0;
  // The next row; false at the end of the chunk.
  virtual bool next(Row& row) = 0;
  // What the read met, in a chunk reader's terms (complete() when nothing was lost).
  virtual const ChunkReadStats& stats() const = 0;
};

// A RecordingSource that can hand out rows directly (implemented by the Janus .mjr source). Sources
// that do not implement it are read through open() and a ChunkReader.
class RowStreamProvider {
 public:
  virtual ~RowStreamProvider() = default;
  virtual Result<std::unique_ptr<RowStream>> open_rows(const ChunkRef& c) = 0;
};

// Opens chunk `c` of `source` for reading rows: directly when the source provides rows, else through
// source.open() and a ChunkReader.
Result<std::unique_ptr<RowStream>> open_rows(RecordingSource& source, const ChunkRef& c);

}  // namespace roomrec
