// Reads a whole room: a k-way merge of every session's rows by time.
//
// Rows come out in non-decreasing ts order as long as each session's rows are (the recorder writes
// them so); ties keep session order (the listing's order), and rows of one session keep their order.
// Memory: one pending row per session plus each session's open chunk reader(s).
//
//   auto src = RecordingSource::open(uri).value();
//   RoomReader room(*src, src->list().value());
//   RoomRow r;
//   while (room.next(r)) use(room.session(r.session_index), r.row, room.session_reader(r.session_index).track(r.row.track_id));
//   for (auto& p : room.problems()) log(p);
#pragma once

#include <roomrec/recording_source.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <queue>
#include <string>
#include <vector>

#include "read/session_reader.h"

namespace roomrec {

struct RoomRow {
  size_t session_index = 0;           // into listing().sessions
  const SessionRef* session = nullptr;  // == &listing().sessions[session_index]
  Row row;
};

class RoomReader {
 public:
  // `source` must outlive the reader; the listing is kept by the reader.
  RoomReader(RecordingSource& source, RoomListing listing);
  ~RoomReader();
  RoomReader(const RoomReader&) = delete;
  RoomReader& operator=(const RoomReader&) = delete;

  // The next row of the room in time order; false when every session is done.
  bool next(RoomRow& out);

  const RoomListing& listing() const { return listing_; }
  size_t session_count() const { return listing_.sessions.size(); }
  const SessionRef& session(size_t i) const { return listing_.sessions[i]; }
  // Track tables, stats and problems of one session. While a row is held, its session's reader
  // describes the session up to and including that row.
  const SessionReader& session_reader(size_t i) const { return *readers_[i]; }
  // The listing's problems, then every session's problems (as found so far).
  std::vector<std::string> problems() const;
  uint64_t rows() const { return rows_; }

 private:
  struct Pending {
    uint64_t ts;
    size_t session;
    bool operator>(const Pending& o) const { return ts != o.ts ? ts > o.ts : session > o.session; }
  };
  void advance(size_t session);

  RoomListing listing_;
  std::vector<std::unique_ptr<SessionReader>> readers_;
  std::vector<Row> rows_pending_;  // one per session
  std::priority_queue<Pending, std::vector<Pending>, std::greater<Pending>> heap_;
  static constexpr size_t kNone = static_cast<size_t>(-1);
  size_t advance_next_ = kNone;  // session whose next row is read on the next call
  bool primed_ = false;
  uint64_t rows_ = 0;
};

}  // namespace roomrec
