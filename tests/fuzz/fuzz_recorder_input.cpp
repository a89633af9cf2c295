// Fuzz target: what a host may hand a recording session, SRTP-protected or
// not. The input is a list of records: a tag byte then a length byte L and L
// bytes. Tag & 3 picks rtp (track 1 or 2 by bit 2), rtcp, data, or a track
// stop/start (L even) or a pause/resume (L odd: bit 2 pause or resume, bit 3
// the session or a track, track 0..2 by L / 2 % 3). Byte 0 of the whole input
// says whether the session has an SRTP key (odd) or not (even).
//
// It must never crash; every call returns a RecordResult; nothing is recorded
// for a paused session or track; after leave() every chunk written reads back
// complete and intact with the ChunkReader.
#include <roomrec/chunk_reader.h>
#include <roomrec/recorder.h>
#include <roomrec/srtp.h>

#include <cstdint>
#include <cstdlib>
#include <vector>

using namespace roomrec;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  RecorderConfig cfg;
  cfg.max_chunk_bytes = 4096;  // rotate often
  cfg.store.memory_budget_bytes = 1 << 20;
  auto rec = Recorder::create(cfg);
  if (!rec) std::abort();
  SessionParams p;
  p.app = "app";
  p.room = "room";
  p.peer = "peer";
  p.session_id = 7;
  if (data[0] & 1) {
    static const uint8_t kKey[30] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
                                     16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30};
    p.srtp = SrtpKey::from_bytes(SrtpProfile::aes_cm_128_hmac_sha1_80, kKey, sizeof kKey).value();
  }
  uint64_t now = 1'700'000'000'000ULL;
  auto s = rec.value()->open(p, now);
  if (!s) std::abort();
  SessionRecorder& session = *s.value();
  session.track_started(1, TrackKind::audio, "audio", "opus", 48000, 2, "", 0, "", now);
  session.track_started(2, TrackKind::video, "video", "vp8", 90000, 0, "", 0, "", now);
  size_t i = 1;
  while (i + 2 <= size) {
    const uint8_t tag = data[i];
    size_t n = data[i + 1];
    i += 2;
    if (n > size - i) n = size - i;
    const uint8_t* b = data + i;
    i += n;
    now += tag >> 4;
    switch (tag & 3) {
      case 0: {
        const uint32_t track = (tag & 4) ? 2 : 1;
        const bool paused = session.paused() || session.track_paused(track);
        if (session.rtp(track, b, n, now) == RecordResult::ok && paused) std::abort();
        break;
      }
      case 1: (void)session.rtcp(b, n, now); break;
      case 2: {
        const bool paused = session.paused();
        if (session.data((tag & 4) ? "chat" : "", (tag & 8) != 0, b, n, now) == RecordResult::ok && paused)
          std::abort();
        break;
      }
      case 3:
        if (n & 1) {
          const uint32_t track = static_cast<uint32_t>(n / 2 % 3);
          if (tag & 8) (void)((tag & 4) ? session.pause_track(track, now) : session.resume_track(track, now));
          else (void)((tag & 4) ? session.pause(now) : session.resume(now));
        } else if (tag & 4) {
          (void)session.track_stopped((tag & 8) ? 2 : 1, now);
        } else {
          (void)session.track_started((tag & 8) ? 2 : 1, TrackKind::video, "v", "vp9", 90000, 0, "", 0, "", now);
        }
        break;
    }
  }
  (void)session.leave(now);
  // Everything closed must read back intact.
  while (auto c = rec.value()->store().take(0)) {
    auto src = rec.value()->store().open_chunk(c->id);
    if (!src) std::abort();
    ChunkReader reader(std::move(src.value()));
    Row row;
    while (reader.next(row)) {
    }
    if (!reader.stats().complete()) std::abort();
    rec.value()->store().complete(c->id);
  }
  return 0;
}
