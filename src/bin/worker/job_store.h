// The state dir: one JSON file per job ({dir}/{job_id}.json, mode 0600 since
// a custom_s3 carries credentials), replaced atomically (temporary file, fsync,
// rename, fsync of the folder) on every state change.
#pragma once

#include <roomrec/status.h>

#include <string>
#include <vector>

#include "worker/job.h"

namespace roomrec::worker {

class JobStore {
 public:
  // An empty dir keeps nothing (jobs live in memory only).
  explicit JobStore(std::string dir) : dir_(std::move(dir)) {}

  // Creates the folder (0700) if needed and reads every job file. A file that
  // cannot be read as a job is renamed *.json.bad and reported in `problems`.
  Status open(std::vector<Job>& jobs, std::vector<std::string>& problems);

  Status save(const Job& job) const;

  // Deletes a job's file (a job that is not there is not an error).
  Status remove(const std::string& job_id) const;

  bool persistent() const { return !dir_.empty(); }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

}  // namespace roomrec::worker
