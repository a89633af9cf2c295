// Shared state of a Recorder, held by its sessions (internal).
#pragma once

#include <roomrec/log.h>
#include <roomrec/recorder.h>

#include <map>
#include <mutex>
#include <tuple>

namespace roomrec {

struct ROOMREC_HIDDEN Recorder::Impl {
  RecorderConfig cfg;
  std::unique_ptr<ChunkStore> store;
  LogRateLimiter malformed_log{1000};

  struct RoomState {
    std::string record_id;
    size_t open_sessions = 0;
  };
  std::mutex mu;  // sessions registry and room record ids; never taken on the hot path
  std::map<std::tuple<std::string, std::string, std::string, uint64_t>, std::weak_ptr<SessionRecorder>> sessions;
  std::map<std::pair<std::string, std::string>, RoomState> rooms;

  void session_closed(const std::string& app, const std::string& room, const std::string& peer, uint64_t id);
};

}  // namespace roomrec
