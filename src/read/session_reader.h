// Streams the rows of one peer session across its chunks, in order.
//
// Each chunk is opened through the RecordingSource only when it is needed and read with a
// ChunkReader, so a session is never held in memory: normally one chunk is open at a time. When a
// later chunk starts (ChunkKey::from_ts) strictly before the row about to be returned (the tracks of a
// Janus peer: one .mjr per track, all covering the same time), it is opened as well and the open chunks
// are merged by row time (ties keep chunk order). Chunks written one after another, as the recorder
// writes them, are read strictly one after another.
//
// A chunk that is missing, cannot be opened or is damaged is reported in problems() and skipped (its
// intact rows are still returned); the rest of the session is still read.
#pragma once

#include "read/row_stream.h"
#include "util/utf8.h"

#include <roomrec/chunk_reader.h>
#include <roomrec/chunk_types.h>
#include <roomrec/recording_source.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace roomrec {

struct SessionReadStats {
  uint64_t chunks_total = 0;     // chunks listed for the session
  uint64_t chunks_read = 0;      // opened and read to their end (intact or not)
  uint64_t chunks_intact = 0;    // read back complete (ChunkReadStats::complete())
  uint64_t chunks_damaged = 0;   // read, but with damage, a missing header/trailer or lost rows
  uint64_t chunks_failed = 0;    // could not be opened
  uint64_t chunks_missing = 0;   // indexes absent from the listing
  uint64_t rows = 0;             // rows returned
  uint64_t bad_regions = 0;      // summed over the chunks
  uint64_t skipped_bytes = 0;
};

class SessionReader {
 public:
  // `source` and `session` must outlive the reader.
  SessionReader(RecordingSource& source, const SessionRef& session);
  ~SessionReader();
  SessionReader(const SessionReader&) = delete;
  SessionReader& operator=(const SessionReader&) = delete;

  // The next row of the session; false at its end.
  bool next(Row& row);

  // A track of this session as last described by a chunk header or a track_started row read so far
  // (stopped tracks stay known); nullptr when unknown. Works when earlier chunks are missing, since
  // every chunk header lists the tracks open at its start.
  const TrackInfo* track(uint32_t id) const;
  // Whether a track is open at the current row (started and not stopped).
  bool track_open(uint32_t id) const;
  const std::map<uint32_t, TrackInfo>& tracks() const { return tracks_; }
  // Recording pauses (pause/resume rows, and the state each chunk header gives), as of the current
  // row: the whole session, a track on its own, and whether a track's media is paused by either.
  bool session_paused() const { return session_paused_; }
  bool track_paused(uint32_t id) const;
  bool paused(uint32_t id) const { return session_paused_ || track_paused(id); }
  // The last intact chunk header read (peer, ip, user agent...), nullptr before one was read.
  const ChunkHeader* header() const { return have_header_ ? &header_ : nullptr; }

  const SessionRef& session() const { return session_; }
  // "peer/session"
  std::string name() const;
  const std::vector<std::string>& problems() const { return problems_; }
  const SessionReadStats& stats() const { return stats_; }

 private:
  struct OpenChunk;
  bool open_chunk(size_t i);
  void finish_chunk(OpenChunk& c);
  void problem(std::string p) { problems_.push_back(util::printable_text(p)); }  // valid UTF-8, one line
  std::string chunk_name(const ChunkRef& c) const;

  RecordingSource& source_;
  const SessionRef& session_;
  size_t next_chunk_ = 0;                       // next chunk of session_.chunks to open
  std::vector<std::unique_ptr<OpenChunk>> open_;  // chunks being read (usually one)
  std::map<uint32_t, TrackInfo> tracks_;
  std::map<uint32_t, bool> open_tracks_;
  std::map<uint32_t, bool> paused_tracks_;
  bool session_paused_ = false;
  ChunkHeader header_;
  bool have_header_ = false;
  std::vector<std::string> problems_;
  SessionReadStats stats_;
};

}  // namespace roomrec
