#include "convert/sender_reports.h"

#include <roomrec/chunk_reader.h>

#include "read/row_stream.h"

#include <algorithm>

namespace roomrec::convert {

std::map<uint32_t, rtp::SenderReport> first_sender_reports(RecordingSource& source, const SessionRef& session) {
  std::map<uint32_t, rtp::SenderReport> first;
  if (session.chunks.empty()) return first;
  auto rows = open_rows(source, session.chunks.front());
  if (!rows) return first;
  RowStream& reader = *rows.value();
  constexpr uint64_t kScanMs = 30'000;
  bool have_offset = false;
  int64_t offset = 0;
  uint64_t start = 0;
  Row row;
  while (reader.next(row)) {
    if (start == 0) start = row.ts;
    if (row.ts > start + kScanMs) break;
    if (row.kind != RowKind::rtcp) continue;
    rtp::SenderReport srs[8];
    const size_t n = rtp::parse_sender_reports(row.payload.data(), row.payload.size(), srs, 8);
    for (size_t i = 0; i < n; ++i) {
      const int64_t delay = static_cast<int64_t>(row.ts) - static_cast<int64_t>(srs[i].ntp_unix_ms);
      if (!have_offset || delay < offset) offset = delay;
      have_offset = true;
      first.emplace(srs[i].ssrc, srs[i]);  // keeps the first of each stream
    }
  }
  for (auto& [ssrc, sr] : first) {
    const int64_t wall = static_cast<int64_t>(sr.ntp_unix_ms) + offset;
    sr.ntp_unix_ms = static_cast<uint64_t>(std::max<int64_t>(0, wall));
  }
  return first;
}

}  // namespace roomrec::convert
