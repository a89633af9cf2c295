// Fuzz target: what convert_record_worker does with a POST /api/convert/job
// body before it accepts a job: JSON parsing, the request checks
// (parse_job_spec: record_path, transmux/compose, custom_s3 URIs, composer
// options) and the state-file round trip of an accepted spec.
//
// It must never crash or throw; a refusal always says why; an accepted spec
// has a record path that passes check_record_path and survives
// spec_to_json -> parse_job_spec unchanged.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "worker/job.h"
#include "worker/locations.h"

using namespace roomrec;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)worker::check_record_path(text);
  nlohmann::json body = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return 0;
  auto spec = worker::parse_job_spec(body);
  if (!spec) {
    if (spec.status().message().empty()) std::abort();
    return 0;
  }
  if (!worker::check_record_path(spec->record_path)) std::abort();
  if (!spec->transmux && !spec->compose) std::abort();
  auto again = worker::parse_job_spec(worker::spec_to_json(spec.value()));
  if (!again || again->record_path != spec->record_path || again->transmux.has_value() != spec->transmux.has_value() ||
      again->compose.has_value() != spec->compose.has_value())
    std::abort();
  if (spec->transmux && again->transmux->custom_s3 != spec->transmux->custom_s3) std::abort();
  if (spec->compose && (again->compose->custom_s3 != spec->compose->custom_s3 ||
                        again->compose->audio != spec->compose->audio || again->compose->video != spec->compose->video))
    std::abort();
  if (spec->compose) {  // the layout survives too (a custom layout as the same JSON, a name as itself)
    const auto& a = spec->compose->options;
    const auto& b = again->compose->options;
    auto as_json = [](const std::string& l) {
      auto j = nlohmann::json::parse(l, nullptr, false);
      return j.is_object() ? j : nlohmann::json(l);
    };
    if (as_json(a.layout) != as_json(b.layout) || a.speaker_hold_ms != b.speaker_hold_ms ||
        a.speaker_lead_ms != b.speaker_lead_ms || a.names != b.names || a.speaker_border != b.speaker_border)
      std::abort();
  }
  return 0;
}
