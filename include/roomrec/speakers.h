// Who spoke when: per peer, the spans of time its voice was active, from
// the recorded audio itself (Opus decoded, 20 ms energy with hysteresis), on
// the room's timeline (unix ms, the same clock as summary.json's start/end).
// Usable alone (transcription, diarization: speakers.json) and by layouts
// that follow the active speaker.
//
//   auto src = roomrec::RecordingSource::open(path).value();
//   auto who = roomrec::detect_speakers(*src, {}).value();
//   for (auto& p : who.peers) for (auto& s : p.spans) printf("%s %llu-%llu\n", ...);
//
// A span starts when a 20 ms frame reaches on_dbfs and lasts while the level
// stays above off_dbfs; a quieter stretch shorter than hangover_ms does not
// end it (pauses between words); spans shorter than min_span_ms are dropped
// (a cough, a click). Lost packets count as silence. A peer's sessions and
// audio tracks are merged into one list of spans.
#pragma once

#include <roomrec/export.h>
#include <roomrec/recording_source.h>
#include <roomrec/status.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace roomrec {

struct SpeakerOptions {
  double on_dbfs = -35;         // a frame this loud starts speech (dB full scale, RMS)
  double off_dbfs = -45;        // speech lasts while frames stay above this
  uint32_t hangover_ms = 400;   // a quieter stretch this short does not end a span
  uint32_t min_span_ms = 200;   // shorter spans are dropped
  const std::atomic<bool>* cancel = nullptr;
};

struct SpeakingSpan {
  uint64_t start_ms = 0, end_ms = 0;  // unix ms, end exclusive
};

struct PeerSpeech {
  std::string peer;
  std::vector<SpeakingSpan> spans;  // ascending, not overlapping
  uint64_t speaking_ms = 0;         // the sum of the spans
  uint64_t audio_ms = 0;            // decoded audio looked at (20 ms frames)
};

struct SpeakersResult {
  std::string app, room, room_record_id;
  std::vector<PeerSpeech> peers;  // every peer with audio, by name
  std::vector<std::string> problems;
  // speakers.json: {"app", "room", "room_record_id",
  //   "peers": [{"peer", "speaking_ms", "audio_ms", "spans": [{"start", "end"}]}],
  //   "timeline": [{"start", "end", "peer"}] (every span of every peer, by start),
  //   "problems": [...]}
  ROOMREC_API std::string to_json(int indent = 2) const;
};

// Checks the options (the same words from every front end).
ROOMREC_API Status validate(const SpeakerOptions& options);

ROOMREC_API Result<SpeakersResult> detect_speakers(RecordingSource& source, const SpeakerOptions& options = {});

}  // namespace roomrec
