#include "read/room_reader.h"

#include <utility>

namespace roomrec {

RoomReader::RoomReader(RecordingSource& source, RoomListing listing) : listing_(std::move(listing)) {
  readers_.reserve(listing_.sessions.size());
  for (const SessionRef& s : listing_.sessions) readers_.push_back(std::make_unique<SessionReader>(source, s));
  rows_pending_.resize(listing_.sessions.size());
}

RoomReader::~RoomReader() = default;

void RoomReader::advance(size_t i) {
  if (readers_[i]->next(rows_pending_[i])) heap_.push(Pending{rows_pending_[i].ts, i});
}

bool RoomReader::next(RoomRow& out) {
  if (!primed_) {
    primed_ = true;
    for (size_t i = 0; i < readers_.size(); ++i) advance(i);
  }
  // The session of the previous row is advanced only now, so that while the caller held that row its
  // session reader's track table described exactly the rows up to it.
  if (advance_next_ != kNone) {
    advance(advance_next_);
    advance_next_ = kNone;
  }
  if (heap_.empty()) return false;
  const size_t i = heap_.top().session;
  heap_.pop();
  out.session_index = i;
  out.session = &listing_.sessions[i];
  out.row = std::move(rows_pending_[i]);
  advance_next_ = i;
  ++rows_;
  return true;
}

std::vector<std::string> RoomReader::problems() const {
  std::vector<std::string> all = listing_.problems;
  for (const auto& r : readers_) all.insert(all.end(), r->problems().begin(), r->problems().end());
  return all;
}

}  // namespace roomrec
