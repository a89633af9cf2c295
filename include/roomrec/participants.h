// One file per participant: for each peer, one audio+video file on the room's
// timeline (it starts at the room's start and ends at its end, so every
// participant file lasts as long as the room), made of all that peer's
// sessions (a peer that left and rejoined gets one file); optionally one
// audio-only file per peer, and one multichannel WAV with a channel per peer
// for diarization.
//
//   auto src = roomrec::RecordingSource::open("/rec/app/room/1731132577000").value();
//   roomrec::ParticipantsOptions o;
//   o.output = "/tmp/people";
//   o.multichannel = true;
//   auto r = roomrec::make_participant_files(*src, o).value();
//   for (auto& f : r.files) printf("%s %s video %s\n", f.peer.c_str(), f.path.c_str(), f.video.c_str());
//
// The room runs from the first to the last chunk time of all its sessions
// (the span compose() uses). Gaps (before the first join, between a leave and
// a rejoin, a missing chunk, a pause, after the last leave) are filled so the
// file stays aligned with the room:
//  - audio: Opus packets are copied as recorded; a gap gets one encoded
//    silent 20 ms Opus frame per 20 ms, so the audio is continuous and its
//    sample count follows the room's clock (a peer without audio gets silence);
//  - video is remuxed when every session of the peer sent the same codec at
//    the same size: the frames are copied, a gap shows the last frame before
//    it (no frame is written, players hold it), and the time before the first
//    frame shows one encoded black key frame of the same codec and size (VP8,
//    VP9; an H264 or AV1 file starts its video at the first frame). Otherwise
//    (sizes or codecs differ across sessions) the video is decoded and
//    re-encoded to VP8 at the largest width and height seen, pictures fitted
//    with black bars, at 15 frames/s, black before the first picture and the
//    last picture held in gaps. Each file says which (ParticipantFile::video).
// Files (each also while the next peer is converted: staged and uploaded one by one for S3):
// {peer}.webm (or {peer}.mkv for remuxed H264), {peer}-audio.webm
// (Opus, with speaker_audio), speakers-multichannel.wav (with multichannel),
// and participants.json (ParticipantsResult::to_json()).
#pragma once

#include <roomrec/export.h>
#include <roomrec/recording_source.h>
#include <roomrec/status.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace roomrec {

struct ParticipantsOptions {
  // A local folder (created), a file:// URI, or an S3 URI (with credentials) whose prefix the
  // files are uploaded under, each as soon as it is finished (local temporaries removed).
  std::string output;
  std::string temp_dir;  // staging for S3 output and the mix's channels; default $TMPDIR or /tmp
  // Outbound requests to an S3 output: as TransmuxOptions (an output a client chose passes each
  // peer address through output_address_allowed; a total deadline per request).
  std::function<bool(const std::string& address)> output_address_allowed;
  uint64_t output_request_timeout_ms = 0;
  unsigned threads = 0;        // peers converted at once (each on its own thread); 0: one per core
  bool speaker_audio = true;   // {peer}-audio.webm: the peer's audio alone (Opus, the same packets)
  // speakers-multichannel.wav: 16-bit PCM at 16 kHz, channel i = the i-th peer
  // by name (ParticipantsResult::channels), each the peer's audio decoded and
  // downmixed to mono, silence where the peer was absent.
  bool multichannel = false;
  // Media time done and in all (ms, summed over the peers' passes).
  std::function<void(uint64_t done_ms, uint64_t total_ms)> progress;
  const std::atomic<bool>* cancel = nullptr;  // set to true to stop (Status cancelled)
};

struct PausedSpan {
  uint64_t start_ms = 0, end_ms = 0;  // unix ms: a recording pause of the whole session (pause/resume rows)
};

struct ParticipantFile {
  std::string path;    // relative to the output folder
  std::string uri;     // where it was written (a local path or the S3 key)
  std::string kind;    // "av" (audio+video), "audio" (one peer's audio), "multichannel"
  std::string peer;    // empty for the multichannel mix
  std::vector<uint64_t> sessions;  // the peer's sessions joined in it
  // "remuxed" (frames copied), "reencoded" (decoded and encoded again), "none" (no video).
  std::string video = "none";
  std::string video_reason;        // why it was re-encoded ("sizes differ: 320x240, 640x360")
  std::string video_codec;         // of the file's video
  uint32_t width = 0, height = 0;
  // "remuxed" (Opus packets copied, silence frames in the gaps), "silence"
  // (the peer sent no audio), "pcm" (the multichannel WAV)
  std::string audio;
  uint64_t audio_frames = 0, silence_frames = 0;  // 20 ms Opus frames copied / inserted
  uint64_t video_frames = 0;                      // frames written
  std::vector<PausedSpan> pauses;  // the peer's session pauses (filled like any gap)
  uint64_t duration_ms = 0;
  uint64_t bytes = 0;
};

struct ParticipantsResult {
  std::string output;  // as given (an S3 URI with its secret shown as ***)
  uint64_t start_ms = 0, end_ms = 0;  // the room's span (unix ms); every file lasts end - start
  std::vector<ParticipantFile> files;  // by peer: av, then audio; the multichannel mix last
  std::vector<std::string> channels;   // multichannel: channel i is peer channels[i]
  std::vector<std::string> problems;
  // participants.json: {"output", "start", "end", "duration_ms",
  //   "files": [{"path", "uri", "kind", "peer", "sessions", "video", "video_reason", "video_codec",
  //              "width", "height", "audio", "audio_frames", "silence_frames", "video_frames",
  //              "pauses": [{"start", "end"}], "duration_ms", "bytes"}],
  //   "channels": [{"channel": 0, "peer": "alice"}, ...], "problems": [...]}
  ROOMREC_API std::string to_json(int indent = 2) const;
};

// Every setting and the output (the same words from every front end:
// "participants.output ...").
ROOMREC_API Status validate(const ParticipantsOptions& options);

ROOMREC_API Result<ParticipantsResult> make_participant_files(RecordingSource& source,
                                                              const ParticipantsOptions& options);

}  // namespace roomrec
