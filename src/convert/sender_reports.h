// Where each stream of a session starts on the room timeline, from the RTCP
// sender reports recorded with it.
#pragma once

#include <roomrec/recording_source.h>

#include <cstdint>
#include <map>

#include "rtp/rtp_packet.h"

namespace roomrec::convert {

// The first sender report of each SSRC found at the start of a session's
// recording (its first chunk, at most its first 30 s), with the report's NTP
// time moved onto the recorder's clock by one offset for the whole session:
// the least (arrival - NTP) among those reports. Every track of the session
// placed by these lands on the sender's own timeline, so audio and video of a
// peer stay in sync. Empty when nothing usable was recorded; never fails (a
// chunk that cannot be read gives no reports).
std::map<uint32_t, rtp::SenderReport> first_sender_reports(RecordingSource& source, const SessionRef& session);

}  // namespace roomrec::convert
