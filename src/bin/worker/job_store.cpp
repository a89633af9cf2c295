#include "worker/job_store.h"

#include "util/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace roomrec::worker {
namespace fs = std::filesystem;

namespace {

Status io_error(const std::string& what) {
  return Status::error(ErrorCode::io, what + ": " + std::strerror(errno));
}

}  // namespace

Status JobStore::open(std::vector<Job>& jobs, std::vector<std::string>& problems) {
  if (dir_.empty()) return Status::ok();
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) return Status::error(ErrorCode::io, "cannot create the state dir " + dir_ + ": " + ec.message());
  fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::replace, ec);
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    const fs::path& p = entry.path();
    if (p.extension() == ".tmp") {  // a save cut short: the previous file is still whole
      fs::remove(p, ec);
      continue;
    }
    if (p.extension() != ".json") continue;
    std::ifstream in(p);
    std::stringstream text;
    text << in.rdbuf();
    auto j = nlohmann::json::parse(text.str(), nullptr, false);
    auto job = job_from_state_json(j);
    if (job && p.stem() != job->id) job = Status::error(ErrorCode::corrupt, "file name and job_id differ");
    if (!job) {
      problems.push_back(p.filename().string() + ": " + job.status().message() + " (renamed *.bad)");
      fs::rename(p, fs::path(p.string() + ".bad"), ec);
      continue;
    }
    jobs.push_back(std::move(*job));
  }
  if (ec) return Status::error(ErrorCode::io, "cannot list the state dir " + dir_ + ": " + ec.message());
  return Status::ok();
}

Status JobStore::save(const Job& job) const {
  if (dir_.empty()) return Status::ok();
  const std::string path = dir_ + "/" + job.id + ".json";
  const std::string data = job_to_state_json(job).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  // 0600: a job may carry the credentials of its custom_s3.
  return util::write_file_atomic(path, reinterpret_cast<const uint8_t*>(data.data()), data.size(), /*sync_dir=*/true,
                                 ".tmp", 0600);
}

Status JobStore::remove(const std::string& job_id) const {
  if (dir_.empty()) return Status::ok();
  const std::string path = dir_ + "/" + job_id + ".json";
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return io_error("cannot remove " + path);
  return Status::ok();
}

}  // namespace roomrec::worker
