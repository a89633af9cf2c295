#include "read/row_stream.h"

#include <utility>

namespace roomrec {
namespace {

class ChunkRows final : public RowStream {
 public:
  explicit ChunkRows(std::unique_ptr<ByteSource> bytes) : reader_(std::move(bytes)) {}
  const ChunkHeader* read_header() override { return reader_.read_header(); }
  bool next(Row& row) override { return reader_.next(row); }
  const ChunkReadStats& stats() const override { return reader_.stats(); }

 private:
  ChunkReader reader_;
};

}  // namespace

Result<std::unique_ptr<RowStream>> open_rows(RecordingSource& source, const ChunkRef& c) {
  if (auto* rows = dynamic_cast<RowStreamProvider*>(&source)) return rows->open_rows(c);
  auto bytes = source.open(c);
  if (!bytes) return bytes.status();
  return std::unique_ptr<RowStream>(std::make_unique<ChunkRows>(std::move(bytes.value())));
}

}  // namespace roomrec
