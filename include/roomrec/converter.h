// Converter: one conversion job = an input recording, an optional transmux and
// an optional compose (at least one). This is what convert_record_cli, the
// convert_record_worker and roomrec_convert() run.
//
//   roomrec::ConvertJob job;
//   job.input = "http://KEY:SECRET@s3:9000/bucket/app/room/1731132577000?path_style=true";
//   job.transmux = roomrec::TransmuxOptions{};
//   job.transmux->output = "/tmp/out";                 // a folder or an S3 URI prefix
//   job.compose = roomrec::ComposeOptions{};
//   job.compose->output = "/tmp/out/room.webm";        // a path, an S3 URI or a presigned PUT URL
//   auto r = roomrec::convert(job);
//   if (r) puts(r->to_json().c_str());
//
// The transmux runs first, then the compose; both read the same source. The
// per-phase progress/cancel fields inside TransmuxOptions/ComposeOptions are
// ignored: the job's own progress and cancel apply to both phases.
#pragma once

#include <roomrec/composer.h>
#include <roomrec/export.h>
#include <roomrec/participants.h>
#include <roomrec/status.h>
#include <roomrec/transmuxer.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace roomrec {

struct ConvertProgress {
  const char* phase = "";   // "transmux", "compose" or "participants"
  uint64_t done_ms = 0;     // media time done and in all, within the phase
  uint64_t total_ms = 0;
  double fraction = 0;      // of the whole job, 0..1 (phases weighted by their expected cost)
};

struct ConvertJob {
  // An S3 URI of the room's recording path, a local folder / file:// URI with
  // the same layout, or a folder of Janus .mjr files (see RecordingSource).
  std::string input;
  std::optional<TransmuxOptions> transmux;
  std::optional<ComposeOptions> compose;
  // One file per participant (participants.h), made after the transmux and the compose.
  std::optional<ParticipantsOptions> participants;
  // Which peers and tracks go into the outputs (recording_source.h): the others appear in no file,
  // no mix, no summary, speakers or problem line. Empty: everyone.
  RoomSelection selection;
  // Called from the converting threads, one call at a time.
  std::function<void(const ConvertProgress&)> progress;
  const std::atomic<bool>* cancel = nullptr;  // set to true to stop (Status cancelled)
};

struct ConvertResult {
  std::optional<TransmuxResult> transmux;
  std::optional<ComposeResult> compose;
  std::optional<ParticipantsResult> participants;
  std::string app, room, room_record_id;  // from the input's path
  // {"input": "<described, no secrets>", "app", "room", "room_record_id",
  //  "transmux": {"output", "files", "data_files", "duration_ms", "summary": {...summary.json...}} | null,
  //  "compose": {"media_uri", "duration_ms", "bytes"} | null,
  //  "participants": {...participants.json...} | null, "problems": [...]}
  // With both transmux and participants, the transmux summary (and a local
  // summary.json) also lists the participant files under "participants".
  // Each entry of files and data_files has its "bytes" too.
  ROOMREC_API std::string to_json(int indent = 2) const;
  // The bytes written: every media and data file, and the composed WebM.
  ROOMREC_API uint64_t output_bytes() const;
  std::string input_description;
  std::vector<std::string> problems;  // from both phases, without repeats
};

// The one place options are checked (with validate(TransmuxOptions) and
// validate(ComposeOptions) in transmuxer.h / composer.h). The C ABI, Python,
// convert_record_cli and the worker all call these, so the same mistake gets
// the same words whoever made it; messages name the field as the JSON forms
// spell it ("compose.fps must be 1..120").
// A whole job: an input, at least one of transmux/compose/participants, each
// with an output, and each one's options.
ROOMREC_API Status validate(const ConvertJob& job);

ROOMREC_API Result<ConvertResult> convert(const ConvertJob& job);

}  // namespace roomrec
