// A conversion job of the worker: the request as accepted (JobSpec), its life
// (queued -> running -> completed | failed) and its JSON forms: the state file
// (everything, secrets of custom_s3 included) and the API's view (no secret).
#pragma once

#include <roomrec/converter.h>
#include <roomrec/status.h>

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "hooks/hook_event.h"
#include "s3/address_policy.h"

namespace roomrec::worker {

struct TransmuxSpec {
  std::string custom_s3;  // empty: the worker's default output
  bool speakers = false;  // speakers.json (who spoke when) beside summary.json
  std::string format = "auto";          // TransmuxOptions::format
  std::string mp4_mode = "faststart";   // TransmuxOptions::mp4_mode
  std::string pause_mode = "cut";  // TransmuxOptions::pause_mode
};

struct ComposeSpec {
  bool audio = true, video = true;
  std::string custom_s3;  // empty: the worker's default output; else an S3 URI or a presigned PUT URL
  ComposeOptions options;  // width, height, fps, codec and bitrates (output unused)
};

// The body of POST /api/convert/job, checked.
// One file per participant (participants.h), in the transmux root.
struct ParticipantsSpec {
  bool speaker_audio = true;   // {peer}-audio.webm too
  bool multichannel = false;   // speakers-multichannel.wav
};

struct JobSpec {
  std::string record_path;
  std::optional<TransmuxSpec> transmux;
  std::optional<ComposeSpec> compose;
  std::optional<ParticipantsSpec> participants;
  RoomSelection selection;  // ConvertJob::selection
};

// Parses and checks a request body (already JSON). The message is the
// client's 400 answer.
Result<JobSpec> parse_job_spec(const nlohmann::json& body);
// The spec as a request body again (parse_job_spec(spec_to_json(s)) == s).
nlohmann::json spec_to_json(const JobSpec& spec);

enum class JobState { queued, running, completed, failed };
const char* job_state_name(JobState s);
std::optional<JobState> job_state_from_name(std::string_view name);

struct Job {
  std::string id;
  std::string app;
  JobSpec spec;
  uint64_t accepted_ms = 0;   // also dates the default output keys, so a re-run writes the same keys
  JobState state = JobState::queued;
  double progress = 0;        // 0..1
  uint32_t attempts = 0;      // times a conversion was started
  uint32_t crashes = 0;       // times the worker was found stopped while this job ran
  uint64_t started_ms = 0, finished_ms = 0;
  nlohmann::json result;      // ConvertResult JSON when completed, else null
  std::string error;          // when failed
};

// "job_" and 24 random hex digits.
std::string new_job_id();
bool is_job_id(std::string_view s);

// Whole job for the state dir, and back.
nlohmann::json job_to_state_json(const Job& job);
Result<Job> job_from_state_json(const nlohmann::json& j);
// What GET /api/convert/job/{id} shows (no secret).
nlohmann::json job_to_api_json(const Job& job);

// The storage roots the worker was started with, and the rules for outputs
// a client chooses (custom_s3): reachable addresses, a deadline per request.
struct Roots {
  std::string input, transmux, compose;
  s3::AddressPolicy custom_s3_allow;         // default: public addresses only
  uint64_t custom_s3_request_timeout_ms = 0;  // 0: none
};

// The ConvertJob for a job: input = input root + record_path; transmux
// output = custom_s3 or {transmux root}/{app}/transmux/{yyyy}/{mm}/{dd}/{job_id}/;
// compose output = custom_s3 or {compose root}/{app}/compose/{yyyy}/{mm}/{dd}/{job_id}.webm;
// participants output = {transmux root}/{app}/participants/{yyyy}/{mm}/{dd}/{job_id}/.
// Checked with roomrec::validate(); the message is fit for the client.
Result<ConvertJob> resolve_job(const Job& job, const Roots& roots);

// The Completed hook of a finished job (both schedulers send it): the
// reference's transmux and compose parts, plus what the reference has no field
// for, only when the job made it: the participant files, the other outputs
// (speakers.json, thumbnails) and who spoke when.
hooks::HookEvent completed_event(uint32_t node, uint64_t ts, const std::string& app, const std::string& job_id,
                                 const ConvertResult& result);

}  // namespace roomrec::worker
