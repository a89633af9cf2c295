#include "read/session_reader.h"

#include <utility>

namespace roomrec {

struct SessionReader::OpenChunk {
  size_t order = 0;  // position in session_.chunks
  std::unique_ptr<RowStream> reader;
  Row row;           // the next row of this chunk
};

SessionReader::SessionReader(RecordingSource& source, const SessionRef& session)
    : source_(source), session_(session) {
  stats_.chunks_total = session_.chunks.size();
  stats_.chunks_missing = session_.missing_indexes.size();
  // One line per run of missing indexes ("chunk 5 of alice/1 is missing", "chunks 7-9 of ... are missing").
  const auto& m = session_.missing_indexes;
  for (size_t i = 0; i < m.size();) {
    size_t j = i;
    while (j + 1 < m.size() && m[j + 1] == m[j] + 1) ++j;
    if (j == i) problem("chunk " + std::to_string(m[i]) + " of " + name() + " is missing");
    else
      problem("chunks " + std::to_string(m[i]) + "-" + std::to_string(m[j]) + " of " + name() + " are missing");
    i = j + 1;
  }
}

SessionReader::~SessionReader() = default;

std::string SessionReader::name() const { return session_.peer + "/" + std::to_string(session_.session); }

std::string SessionReader::chunk_name(const ChunkRef& c) const {
  return "chunk " + std::to_string(c.key.index) + " of " + name();
}

const TrackInfo* SessionReader::track(uint32_t id) const {
  auto it = tracks_.find(id);
  return it == tracks_.end() ? nullptr : &it->second;
}

bool SessionReader::track_open(uint32_t id) const {
  auto it = open_tracks_.find(id);
  return it != open_tracks_.end() && it->second;
}

bool SessionReader::track_paused(uint32_t id) const {
  auto it = paused_tracks_.find(id);
  return it != paused_tracks_.end() && it->second;
}

bool SessionReader::open_chunk(size_t i) {
  const ChunkRef& c = session_.chunks[i];
  auto rows = open_rows(source_, c);
  if (!rows) {
    stats_.chunks_failed++;
    problem(chunk_name(c) + ": open failed: " + rows.status().to_string() + " (" + c.location + ")");
    return false;
  }
  auto oc = std::make_unique<OpenChunk>();
  oc->order = i;
  oc->reader = std::move(rows.value());
  if (const ChunkHeader* h = oc->reader->read_header()) {
    if (h->peer != session_.peer || h->session != session_.session)
      problem(chunk_name(c) + ": its header names session " + h->peer + "/" + std::to_string(h->session) +
              " (" + c.location + ")");
    header_ = *h;
    have_header_ = true;
    for (const OpenTrack& t : h->tracks) {
      tracks_[t.track_id] = t.info;
      open_tracks_[t.track_id] = true;
      paused_tracks_[t.track_id] = t.paused;
    }
    // The pause state at the chunk's start: what its rows change from (and what a missing earlier
    // chunk would have said). Chunks of Janus peers (.mjr) never pause.
    session_paused_ = h->paused;
  }
  if (!oc->reader->next(oc->row)) {
    finish_chunk(*oc);
    return false;
  }
  open_.push_back(std::move(oc));
  return true;
}

void SessionReader::finish_chunk(OpenChunk& oc) {
  const ChunkRef& c = session_.chunks[oc.order];
  // What the source found that the rows cannot show (a damaged .mjr), known once the chunk was read.
  for (auto& p : source_.chunk_problems(c)) problem(chunk_name(c) + ": " + p + " (" + c.location + ")");
  const ChunkReadStats& st = oc.reader->stats();
  stats_.chunks_read++;
  stats_.bad_regions += st.bad_regions;
  stats_.skipped_bytes += st.skipped_bytes;
  if (st.complete()) {
    stats_.chunks_intact++;
    return;
  }
  stats_.chunks_damaged++;
  std::string m = chunk_name(c) + ": " + std::to_string(st.bad_regions) + " bad regions, " +
                  std::to_string(st.skipped_bytes) + " bytes skipped";
  if (!st.magic_ok) m += ", no valid chunk preamble";
  if (!st.header_ok) m += ", no intact header";
  if (!st.trailer_seen) m += ", no trailer (truncated?)";
  else if (st.trailer_row_count != st.good_rows)
    m += ", " + std::to_string(st.good_rows) + " of " + std::to_string(st.trailer_row_count) + " rows read";
  if (!st.source_error.is_ok()) m += ", read error: " + st.source_error.to_string();
  problem(m + " (" + c.location + ")");
}

bool SessionReader::next(Row& row) {
  const size_t n = session_.chunks.size();
  for (;;) {
    if (open_.empty()) {
      if (next_chunk_ >= n) return false;
      open_chunk(next_chunk_++);
      continue;
    }
    // The earliest pending row; ties go to the earlier chunk (open_ is in chunk order).
    size_t best = 0;
    for (size_t i = 1; i < open_.size(); ++i)
      if (open_[i]->row.ts < open_[best]->row.ts) best = i;
    // A later chunk that starts strictly before that row overlaps the open ones: read it alongside.
    if (next_chunk_ < n && session_.chunks[next_chunk_].key.from_ts < open_[best]->row.ts) {
      open_chunk(next_chunk_++);
      continue;
    }
    OpenChunk& c = *open_[best];
    std::swap(row, c.row);  // buffers circulate: the chunk reader refills the caller's old row
    if (!c.reader->next(c.row)) {
      finish_chunk(c);
      open_.erase(open_.begin() + static_cast<std::ptrdiff_t>(best));
    }
    switch (row.kind) {
      case RowKind::track_started:
        tracks_[row.track_id] = row.track;
        open_tracks_[row.track_id] = true;
        paused_tracks_.erase(row.track_id);
        break;
      case RowKind::track_stopped:
        open_tracks_[row.track_id] = false;
        paused_tracks_.erase(row.track_id);
        break;
      case RowKind::pause:
      case RowKind::resume:
        if (row.track_id == 0) session_paused_ = row.kind == RowKind::pause;
        else paused_tracks_[row.track_id] = row.kind == RowKind::pause;
        break;
      default:
        break;
    }
    stats_.rows++;
    return true;
  }
}

}  // namespace roomrec
