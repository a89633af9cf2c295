#include <roomrec/recording_source.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>
#include <utility>

#include "util/thread_name.h"
#include "format/row_codec.h"
#include "read/mjr_reader.h"
#include "read/row_stream.h"
#include "s3/s3_client.h"
#include "s3/s3_uri.h"
#include "util/text.h"
#include "util/utf8.h"

namespace roomrec {
namespace {

namespace fs = std::filesystem;

// Objects below this size are downloaded into memory, larger ones into an anonymous temporary file
// (a RoomReader has one chunk per session open at once: this bounds its memory per session).
constexpr uint64_t kMemoryObjectBytes = 2ull << 20;
// Whole-object attempts after a transfer broke midway (S3Client::get itself retries until the first byte).
constexpr int kDownloadAttempts = 3;
// An .mjr info header is at most 8 + 2 + 65535 bytes.
constexpr size_t kMjrHeadBytes = 8 + 2 + 65535;
// The end of an .mjr read for its last frame time: two of the largest frames.
constexpr uint64_t kMjrTailBytes = 2 * (10 + 65535);
// At most this many missing indexes are listed per session (a bogus huge index must not exhaust memory).
constexpr size_t kMaxMissingListed = 100'000;

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool ends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}
bool iends_with(std::string_view s, std::string_view p) {
  if (s.size() < p.size()) return false;
  for (size_t i = 0; i < p.size(); ++i) {
    char a = s[s.size() - p.size() + i];
    if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
    if (a != p[i]) return false;
  }
  return true;
}
bool parse_u64(std::string_view s, uint64_t& out) {
  if (s.empty() || s.size() > 20) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

// A key component or folder name as a name the converter shows: decoded, and
// made valid UTF-8 here, where it enters (a valid key such as "al%FFice"
// decodes to a byte that is not; such bytes are kept as "%XX").
std::string decoded_or_raw(std::string_view s) {
  auto d = decode_key_component(s);
  return util::utf8_percent_invalid(d ? *d : s);
}

// "{prefix}/{app}/{room}/{room_record_id}" split from the right; missing leading parts stay empty.
struct RoomParts {
  std::string prefix, app, room, room_record_id;
};

RoomParts split_room_path(std::string_view path) {
  RoomParts r;
  std::string_view rest = path;
  std::string* fields[3] = {&r.room_record_id, &r.room, &r.app};
  for (std::string* f : fields) {
    while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
    if (rest.empty()) break;
    size_t slash = rest.rfind('/');
    std::string_view part = slash == std::string_view::npos ? rest : rest.substr(slash + 1);
    *f = decoded_or_raw(part);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(0, slash + 1);
  }
  while (rest.size() > 1 && rest.back() == '/') rest.remove_suffix(1);
  r.prefix = std::string(rest);
  return r;
}

// Missing indexes as ranges: "3", "5-9".
std::string ranges(const std::vector<uint32_t>& v) {
  std::string out;
  for (size_t i = 0; i < v.size();) {
    size_t j = i;
    while (j + 1 < v.size() && v[j + 1] == v[j] + 1) ++j;
    if (!out.empty()) out += ", ";
    out += std::to_string(v[i]);
    if (j > i) out += "-" + std::to_string(v[j]);
    i = j + 1;
  }
  return out;
}

// Collects chunk files/objects, groups them into sessions and checks the index sequences.
class ListingBuilder {
 public:
  explicit ListingBuilder(RoomParts room) : room_(std::move(room)) {}

  // Problems name paths and keys: valid UTF-8, one line each.
  void problem(std::string p) { problems_.push_back(util::printable_text(p)); }

  // peer_component: as stored (percent-encoded); session_component: decimal; file: the chunk's name.
  void add(std::string_view peer_component, std::string_view session_component, std::string_view file,
           uint64_t size, std::string location) {
    auto peer = decode_key_component(peer_component);
    if (peer) peer = util::utf8_percent_invalid(*peer);
    if (!peer || peer->empty()) {
      problem("ignored " + location + ": the peer folder is not a valid key component");
      return;
    }
    uint64_t session = 0;
    if (!parse_u64(session_component, session)) {
      problem("ignored " + location + ": the session folder '" + std::string(session_component) +
              "' is not a number");
      return;
    }
    if (ends_with(file, ".part")) {
      problem("ignored " + location + ": an unfinished upload (.part)");
      return;
    }
    auto name = parse_chunk_file_name(file);
    if (!name) {
      problem("ignored " + location + ": not a chunk file name ({index}-{from_ts}-{to_ts}.rec)");
      return;
    }
    if (!plausible_chunk_span(*name)) {
      problem("ignored " + location + ": the times in its name are implausible (a chunk spans at most " +
              std::to_string(kMaxChunkSpanMs / 3'600'000) + " h)");
      return;
    }
    ChunkRef c;
    c.key.prefix = room_.prefix;
    c.key.app = room_.app;
    c.key.room = room_.room;
    c.key.room_record_id = room_.room_record_id;
    c.key.peer = *peer;
    c.key.session = session;
    c.key.index = name->index;
    c.key.from_ts = name->from_ts;
    c.key.to_ts = name->to_ts;
    c.size = size;
    c.location = std::move(location);
    sessions_[{*peer, session}].push_back(std::move(c));
  }

  void add_session(SessionRef s) { extra_.push_back(std::move(s)); }

  Result<RoomListing> finish(const std::string& where) {
    RoomListing out;
    out.app = room_.app;
    out.room = room_.room;
    out.room_record_id = room_.room_record_id;
    for (auto& [id, chunks] : sessions_) {
      SessionRef s;
      s.peer = id.first;
      s.session = id.second;
      std::sort(chunks.begin(), chunks.end(), [](const ChunkRef& a, const ChunkRef& b) {
        return std::tie(a.key.index, a.key.from_ts, a.key.to_ts, a.location) <
               std::tie(b.key.index, b.key.from_ts, b.key.to_ts, b.location);
      });
      const std::string name = s.peer + "/" + std::to_string(s.session);
      uint64_t expect = 0;  // next index expected
      bool truncated = false;
      for (size_t i = 0; i < chunks.size(); ++i) {
        uint64_t idx = chunks[i].key.index;
        if (i > 0 && idx == chunks[i - 1].key.index) {
          problem(name + ": chunk " + std::to_string(idx) + " is stored more than once (" +
                              chunks[i - 1].location + ", " + chunks[i].location + "); both are read");
          continue;
        }
        for (; expect < idx; ++expect) {
          if (s.missing_indexes.size() >= kMaxMissingListed) {
            truncated = true;
            break;
          }
          s.missing_indexes.push_back(static_cast<uint32_t>(expect));
        }
        expect = idx + 1;
      }
      if (!s.missing_indexes.empty())
        problem(name + ": missing chunk" + (s.missing_indexes.size() > 1 ? "s " : " ") +
                            ranges(s.missing_indexes) + (truncated ? " (and more, not listed)" : ""));
      s.chunks = std::move(chunks);
      out.sessions.push_back(std::move(s));
    }
    for (auto& s : extra_) out.sessions.push_back(std::move(s));
    out.problems = std::move(problems_);
    if (out.sessions.empty()) {
      std::string m = "no recording found at " + util::printable_text(where);
      if (!out.problems.empty())
        m += " (" + std::to_string(out.problems.size()) + " entries ignored, first: " + out.problems.front() + ")";
      return Status::error(ErrorCode::not_found, m);
    }
    return out;
  }

 private:
  RoomParts room_;
  std::map<std::pair<std::string, uint64_t>, std::vector<ChunkRef>> sessions_;  // by peer, then session
  std::vector<SessionRef> extra_;
  std::vector<std::string> problems_;
};

// One directory level, sorted by name; errors become problems.
struct DirEntry {
  std::string name;
  fs::path path;
  bool is_dir = false;
  bool is_file = false;
  bool is_link = false;  // a symbolic link: never followed
  uint64_t size = 0;
};

std::vector<DirEntry> list_dir(const fs::path& dir, std::vector<std::string>& problems) {
  std::vector<DirEntry> out;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    problems.push_back("cannot read folder " + dir.string() + ": " + ec.message());
    return out;
  }
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) {
      problems.push_back("cannot read folder " + dir.string() + ": " + ec.message());
      break;
    }
    DirEntry e;
    e.path = it->path();
    e.name = e.path.filename().string();
    std::error_code ec2;
    // Recording folders are read without following links (issue 21 item 8): a
    // link would take the listing, and the problems it reports, anywhere.
    const fs::file_status st = it->symlink_status(ec2);
    e.is_link = fs::is_symlink(st);
    e.is_dir = !e.is_link && fs::is_directory(st);
    e.is_file = !e.is_link && !e.is_dir && fs::is_regular_file(st);
    if (e.is_file) {
      e.size = it->file_size(ec2);
      if (ec2) e.size = 0;
    }
    out.push_back(std::move(e));
  }
  std::sort(out.begin(), out.end(), [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
  return out;
}

// ---------------------------------------------------------------------------------------------------
// A local folder with the S3 key layout.
class LocalSource final : public RecordingSource {
 public:
  explicit LocalSource(std::string root) : root_(std::move(root)) {}

  Result<RoomListing> list() override {
    ListingBuilder b(split_room_path(root_));
    std::vector<std::string> problems;
    for (const DirEntry& peer : list_dir(root_, problems)) {
      if (peer.is_link) {
        problems.push_back("ignored " + peer.path.string() + ": a symbolic link (not followed)");
        continue;
      }
      if (!peer.is_dir) {
        problems.push_back("ignored " + peer.path.string() + ": not a peer folder");
        continue;
      }
      for (const DirEntry& session : list_dir(peer.path, problems)) {
        if (session.is_link) {
          problems.push_back("ignored " + session.path.string() + ": a symbolic link (not followed)");
          continue;
        }
        if (!session.is_dir) {
          problems.push_back("ignored " + session.path.string() + ": not a session folder");
          continue;
        }
        for (const DirEntry& f : list_dir(session.path, problems)) {
          if (f.is_link) {
            problems.push_back("ignored " + f.path.string() + ": a symbolic link (not followed)");
            continue;
          }
          if (!f.is_file) {
            problems.push_back("ignored " + f.path.string() + ": not a chunk file");
            continue;
          }
          b.add(peer.name, session.name, f.name, f.size, f.path.string());
        }
      }
    }
    for (auto& p : problems) b.problem(std::move(p));
    return b.finish(describe());
  }

  Result<std::unique_ptr<ByteSource>> open(const ChunkRef& c) override { return file_source_nofollow(c.location); }

  std::string describe() const override { return "file://" + root_; }

 private:
  std::string root_;
};

// ---------------------------------------------------------------------------------------------------
// S3 clients (each with its kept-alive connection) shared by a source's downloads: a download borrows
// one for its duration, so reading chunk after chunk reuses connections.
class ClientPool {
 public:
  explicit ClientPool(s3::S3Uri uri) : uri_(std::move(uri)) {}
  std::unique_ptr<s3::S3Client> take() {
    {
      std::lock_guard lock(mu_);
      if (!free_.empty()) {
        auto c = std::move(free_.back());
        free_.pop_back();
        return c;
      }
    }
    return std::make_unique<s3::S3Client>(uri_);
  }
  void give_back(std::unique_ptr<s3::S3Client> c) {
    std::lock_guard lock(mu_);
    if (free_.size() < kMaxIdle) free_.push_back(std::move(c));
  }
  const s3::S3Uri& uri() const { return uri_; }

 private:
  static constexpr size_t kMaxIdle = 8;
  const s3::S3Uri uri_;
  std::mutex mu_;
  std::vector<std::unique_ptr<s3::S3Client>> free_;
};

// ---------------------------------------------------------------------------------------------------
// Downloads one S3 object on a background thread (started by the first read) into memory (small
// objects) or an anonymous temporary file, while read() hands out what has arrived. A transfer that
// breaks midway is restarted (the bytes already kept are skipped). The consumer may be slow: the
// download does not wait for it, so the HTTP transfer never stalls.
class S3ObjectSource final : public ByteSource {
 public:
  S3ObjectSource(std::shared_ptr<ClientPool> pool, std::string key, uint64_t size_hint)
      : pool_(std::move(pool)), key_(std::move(key)), to_file_(size_hint >= kMemoryObjectBytes) {
    if (!to_file_) mem_.reserve(static_cast<size_t>(size_hint));
  }

  ~S3ObjectSource() override {
    {
      std::lock_guard lock(mu_);
      cancel_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
  }

  Result<size_t> read(uint8_t* dst, size_t max) override {
    if (!started_) {
      started_ = true;
      if (to_file_) {
        if (Status s = open_temp(); !s) return s;
      }
      thread_ = std::thread([this] {
        util::set_thread_name("rr-read");
        // Nothing thrown on this thread may end the process: it ends the download instead.
        try {
          run();
        } catch (const std::exception& e) {
          finish_with(Status::error(ErrorCode::internal, "downloading " + key_ + ": " + util::printable_text(e.what(), 200)));
        } catch (...) {
          finish_with(Status::error(ErrorCode::internal, "downloading " + key_ + ": unknown exception"));
        }
      });
    }
    if (max == 0) return size_t{0};
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return available_ > read_pos_ || done_; });
    if (available_ > read_pos_) {
      size_t k = static_cast<size_t>(std::min<uint64_t>(max, available_ - read_pos_));
      if (!to_file_) {
        std::memcpy(dst, mem_.data() + read_pos_, k);
      } else {
        size_t got = 0;
        while (got < k) {
          ssize_t r = ::pread(fd_, dst + got, k - got, static_cast<off_t>(read_pos_ + got));
          if (r < 0 && errno == EINTR) continue;
          if (r <= 0)
            return Status::error(ErrorCode::io, "reading the temporary copy of " + key_ + ": " +
                                                    (r < 0 ? std::strerror(errno) : "unexpected end"));
          got += static_cast<size_t>(r);
        }
      }
      read_pos_ += k;
      return k;
    }
    if (!status_.is_ok()) return status_;
    return size_t{0};
  }

 private:
  Status open_temp() {
    std::error_code ec;
    fs::path dir = fs::temp_directory_path(ec);
    if (ec) dir = "/tmp";
#ifdef O_TMPFILE
    fd_ = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
#endif
    if (fd_ < 0) {
      std::string tmpl = (dir / "roomrec-s3-XXXXXX").string();
      fd_ = ::mkostemp(tmpl.data(), O_CLOEXEC);
      if (fd_ >= 0) ::unlink(tmpl.c_str());
    }
    if (fd_ < 0)
      return Status::error(ErrorCode::io, "cannot create a temporary file in " + dir.string() + " for " + key_ +
                                              ": " + std::strerror(errno));
    return Status::ok();
  }

  bool cancelled() {
    std::lock_guard lock(mu_);
    return cancel_;
  }

  // Keeps n more bytes; false to stop the transfer (cancelled or a local write error).
  bool keep(const uint8_t* p, size_t n) {
    if (!to_file_ && available_ + n > kMemoryObjectBytes) {
      // Larger than announced: move to a temporary file (the reader waits on the lock meanwhile).
      std::lock_guard lock(mu_);
      if (Status s = open_temp(); !s) {
        write_error_ = s;
        return false;
      }
      if (!write_all(mem_.data(), mem_.size(), 0)) return false;
      to_file_ = true;
      std::vector<uint8_t>().swap(mem_);
    }
    if (to_file_) {
      if (!write_all(p, n, available_)) return false;
      std::lock_guard lock(mu_);
      available_ += n;
      if (cancel_) return false;
    } else {
      std::lock_guard lock(mu_);
      mem_.insert(mem_.end(), p, p + n);
      available_ += n;
      if (cancel_) return false;
    }
    cv_.notify_all();
    return true;
  }

  bool write_all(const uint8_t* p, size_t n, uint64_t at) {
    size_t done = 0;
    while (done < n) {
      ssize_t w = ::pwrite(fd_, p + done, n - done, static_cast<off_t>(at + done));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        write_error_ = Status::error(errno == ENOSPC ? ErrorCode::resource_exhausted : ErrorCode::io,
                                     "writing the temporary copy of " + key_ + ": " + std::strerror(errno));
        return false;
      }
      done += static_cast<size_t>(w);
    }
    return true;
  }

  void run() {
    std::unique_ptr<s3::S3Client> client = pool_->take();
    Status result;
    for (int attempt = 0; attempt < kDownloadAttempts; ++attempt) {
      const uint64_t have = available_;  // only this thread changes it
      uint64_t seen = 0;                 // bytes of this attempt's body
      result = client->get(key_, [&](const uint8_t* p, size_t n) {
        if (seen < have) {
          size_t skip = static_cast<size_t>(std::min<uint64_t>(n, have - seen));
          seen += skip;
          p += skip;
          n -= skip;
          if (n == 0) return !cancelled();
        }
        seen += n;
        return keep(p, n);
      });
      if (!write_error_.is_ok()) {
        result = write_error_;
        break;
      }
      if (result.is_ok() || cancelled()) break;
      const ErrorCode code = result.code();
      const bool transient = code == ErrorCode::unavailable || code == ErrorCode::timeout || code == ErrorCode::io;
      if (!transient || available_ == 0) break;  // S3Client already retried a transfer that never started
    }
    // A connection left in the middle of a body is not reused.
    if (result.is_ok()) pool_->give_back(std::move(client));
    client.reset();
    if (!result.is_ok() && result.code() != ErrorCode::cancelled)
      result.with_context("downloading " + pool_->uri().bucket + "/" + key_ + " (" +
                          std::to_string(available_) + " bytes received)");
    finish_with(result);
  }

  void finish_with(Status result) {
    {
      std::lock_guard lock(mu_);
      status_ = std::move(result);
      done_ = true;
    }
    cv_.notify_all();
  }

  const std::shared_ptr<ClientPool> pool_;
  const std::string key_;
  bool to_file_;
  bool started_ = false;
  int fd_ = -1;
  std::vector<uint8_t> mem_;
  Status write_error_;  // download thread only

  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t available_ = 0;  // bytes kept (written by the download thread under mu_)
  uint64_t read_pos_ = 0;   // reader only
  bool done_ = false;
  bool cancel_ = false;
  Status status_;
  std::thread thread_;
};

class S3Source final : public RecordingSource {
 public:
  explicit S3Source(s3::S3Uri uri) : uri_(uri), pool_(std::make_shared<ClientPool>(std::move(uri))) {}

  Result<RoomListing> list() override {
    std::unique_ptr<s3::S3Client> client = pool_->take();
    const std::string prefix = uri_.prefix + "/";
    auto listed = client->list(prefix);
    if (listed) pool_->give_back(std::move(client));
    if (!listed) {
      Status s = listed.status();
      return s.with_context("listing " + describe());
    }
    ListingBuilder b(split_room_path(uri_.prefix));
    for (const s3::ObjectInfo& o : listed->objects) {
      if (!starts_with(o.key, prefix)) {
        b.problem("ignored " + o.key + ": outside the room path");
        continue;
      }
      std::string_view rest = std::string_view(o.key).substr(prefix.size());
      if (rest.empty() || rest.back() == '/') continue;  // a "folder" marker object
      size_t a = rest.find('/');
      size_t c = a == std::string_view::npos ? a : rest.find('/', a + 1);
      if (a == std::string_view::npos || c == std::string_view::npos || rest.find('/', c + 1) != std::string_view::npos ||
          a == 0 || c == a + 1) {
        b.problem("ignored " + o.key + ": not {peer}/{session}/{chunk} under the room path");
        continue;
      }
      b.add(rest.substr(0, a), rest.substr(a + 1, c - a - 1), rest.substr(c + 1), o.size, o.key);
    }
    return b.finish(describe());
  }

  Result<std::unique_ptr<ByteSource>> open(const ChunkRef& c) override {
    if (c.location.empty()) return Status::error(ErrorCode::invalid_argument, "chunk has no location");
    return std::unique_ptr<ByteSource>(std::make_unique<S3ObjectSource>(pool_, c.location, c.size));
  }

  std::string describe() const override { return uri_.to_string(); }

 private:
  s3::S3Uri uri_;
  std::shared_ptr<ClientPool> pool_;  // shared with the open ByteSources (they may outlive the source)
};

// ---------------------------------------------------------------------------------------------------
// What the last complete read of each .mjr met (damage, encryption), by file: known only once a
// file has been read to its end, and shared with the streams (which may outlive their source).
class MjrProblems {
 public:
  void set(const std::string& location, const mjr::RowReader& rows) {
    std::vector<std::string> found = mjr::problem_lines(rows.info(), rows.stats());
    std::lock_guard lock(mu_);
    if (found.empty()) by_location_.erase(location);
    else by_location_[location] = std::move(found);
  }
  std::vector<std::string> get(const std::string& location) {
    std::lock_guard lock(mu_);
    auto it = by_location_.find(location);
    return it == by_location_.end() ? std::vector<std::string>{} : it->second;
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::vector<std::string>> by_location_;
};

// An .mjr's rows, straight from its frames. Its stats are those of an intact chunk (unless the file
// could not be read to its end): the damage of the file is reported through chunk_problems(), as
// when it was converted into a chunk first.
class MjrRows final : public RowStream {
 public:
  MjrRows(std::unique_ptr<mjr::RowReader> rows, std::shared_ptr<MjrProblems> problems, std::string location)
      : rows_(std::move(rows)), problems_(std::move(problems)), location_(std::move(location)) {
    stats_.magic_ok = true;
    stats_.format_version = format::kFormatVersion;
    stats_.header_ok = true;
  }
  const ChunkHeader* read_header() override { return &rows_->header(); }
  bool next(Row& row) override {
    if (rows_->next(row)) {
      stats_.good_rows++;
      return true;
    }
    if (!stats_.trailer_seen) {
      stats_.trailer_seen = true;
      stats_.trailer_row_count = rows_->rows();
      stats_.trailer_last_ts = rows_->last_row_ts();
      stats_.source_error = rows_->stats().source_error;  // a file that could not be read to its end
      problems_->set(location_, *rows_);
    }
    return false;
  }
  const ChunkReadStats& stats() const override { return stats_; }

 private:
  std::unique_ptr<mjr::RowReader> rows_;
  std::shared_ptr<MjrProblems> problems_;
  std::string location_;
  ChunkReadStats stats_;
};

// An .mjr as the bytes of a roomrec chunk, encoded as they are read.
class MjrChunkBytes final : public ByteSource {
 public:
  MjrChunkBytes(std::unique_ptr<mjr::RowReader> rows, std::shared_ptr<MjrProblems> problems, std::string location)
      : bytes_(std::move(rows)), problems_(std::move(problems)), location_(std::move(location)) {}
  Result<size_t> read(uint8_t* dst, size_t max) override {
    auto got = bytes_.read(dst, max);
    if (got && *got == 0 && max > 0 && !reported_) {
      reported_ = true;
      problems_->set(location_, bytes_.rows());
    }
    return got;
  }

 private:
  mjr::ChunkByteSource bytes_;
  std::shared_ptr<MjrProblems> problems_;
  std::string location_;
  bool reported_ = false;
};

// ---------------------------------------------------------------------------------------------------
// A folder of Janus .mjr recordings.
class JanusSource final : public RecordingSource, public RowStreamProvider {
 public:
  explicit JanusSource(std::string root) : root_(std::move(root)) {}

  Result<RoomListing> list() override {
    std::vector<std::string> problems;
    struct Track {
      std::string name;
      std::string path;
      uint64_t size;
      uint64_t from_ts;
      uint64_t to_ts;
    };
    std::map<std::string, std::vector<Track>> peers;
    for (const DirEntry& e : list_dir(root_, problems)) {
      if (!e.is_file || !iends_with(e.name, ".mjr")) {
        problems.push_back("ignored " + e.path.string() + ": not an .mjr recording");
        continue;
      }
      auto head = read_head(e.path.string());
      if (!head) {
        problems.push_back("ignored " + e.path.string() + ": " + head.status().message());
        continue;
      }
      auto info = mjr::parse_header(head->data(), head->size());
      if (!info) {
        problems.push_back("ignored " + e.path.string() + ": " + info.status().message());
        continue;
      }
      // Its span: from "u" to the last frame's time, read from the file's end (bounded reads both).
      const uint64_t from_ts = static_cast<uint64_t>(info->written_us) / 1000;
      uint64_t to_ts = from_ts;
      if (auto tail = read_tail(e.path.string()); tail && !tail->empty()) {
        if (auto rel = mjr::last_frame_rel_ms(info.value(), tail->data(), tail->size())) to_ts = from_ts + *rel;
      }
      peers[mjr::peer_name(e.name)].push_back(Track{e.name, e.path.string(), e.size, from_ts, to_ts});
    }
    RoomListing out;
    out.app = "janus";
    out.room = fs::path(root_).filename().string();
    if (out.room.empty()) out.room = root_;
    out.room_record_id = "0";
    for (auto& [peer, tracks] : peers) {
      // By start time, so a session's chunks open in time order (SessionReader merges overlapping ones).
      std::sort(tracks.begin(), tracks.end(),
                [](const Track& a, const Track& b) { return std::tie(a.from_ts, a.name) < std::tie(b.from_ts, b.name); });
      SessionRef s;
      s.peer = peer;
      s.session = 0;
      for (size_t i = 0; i < tracks.size(); ++i) {
        ChunkRef c;
        c.key.prefix = fs::path(root_).parent_path().string();
        c.key.app = out.app;
        c.key.room = out.room;
        c.key.room_record_id = out.room_record_id;
        c.key.peer = peer;
        c.key.session = 0;
        c.key.index = static_cast<uint32_t>(i);
        c.key.from_ts = tracks[i].from_ts;
        c.key.to_ts = tracks[i].to_ts;
        c.size = tracks[i].size;
        c.location = tracks[i].path;
        s.chunks.push_back(std::move(c));
      }
      out.sessions.push_back(std::move(s));
    }
    out.problems = std::move(problems);
    if (out.sessions.empty()) {
      std::string m = "no recording found at " + describe();
      if (!out.problems.empty()) m += " (first problem: " + out.problems.front() + ")";
      return Status::error(ErrorCode::not_found, m);
    }
    return out;
  }

  Result<std::unique_ptr<ByteSource>> open(const ChunkRef& c) override {
    auto rows = open_mjr(c);
    if (!rows) return rows.status();
    return std::unique_ptr<ByteSource>(std::make_unique<MjrChunkBytes>(std::move(rows.value()), problems_, c.location));
  }

  Result<std::unique_ptr<RowStream>> open_rows(const ChunkRef& c) override {
    auto rows = open_mjr(c);
    if (!rows) return rows.status();
    return std::unique_ptr<RowStream>(std::make_unique<MjrRows>(std::move(rows.value()), problems_, c.location));
  }

  std::vector<std::string> chunk_problems(const ChunkRef& c) override { return problems_->get(c.location); }

  std::string describe() const override { return "janus .mjr folder file://" + root_; }

 private:
  static Result<std::vector<uint8_t>> read_fd(const std::string& path, size_t limit) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return Status::error(ErrorCode::io, "open " + path + ": " + std::strerror(errno));
    std::vector<uint8_t> out;
    struct stat st {};
    if (::fstat(fd, &st) == 0 && st.st_size > 0)
      out.reserve(static_cast<size_t>(std::min<uint64_t>(static_cast<uint64_t>(st.st_size), limit)));
    uint8_t buf[65536];
    while (out.size() < limit) {
      ssize_t r = ::read(fd, buf, std::min(sizeof buf, limit - out.size()));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) {
        Status s = Status::error(ErrorCode::io, "read " + path + ": " + std::strerror(errno));
        ::close(fd);
        return s;
      }
      if (r == 0) break;
      out.insert(out.end(), buf, buf + r);
    }
    ::close(fd);
    return out;
  }
  static Result<std::vector<uint8_t>> read_head(const std::string& path) { return read_fd(path, kMjrHeadBytes); }
  // The last kMjrTailBytes of a file (the whole file when shorter).
  static Result<std::vector<uint8_t>> read_tail(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return Status::error(ErrorCode::io, "open " + path + ": " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || st.st_size < 0) {
      ::close(fd);
      return Status::error(ErrorCode::io, "stat " + path + ": " + std::strerror(errno));
    }
    const uint64_t size = static_cast<uint64_t>(st.st_size);
    const uint64_t from = size > kMjrTailBytes ? size - kMjrTailBytes : 0;
    std::vector<uint8_t> out(static_cast<size_t>(size - from));
    size_t got = 0;
    while (got < out.size()) {
      ssize_t r = ::pread(fd, out.data() + got, out.size() - got, static_cast<off_t>(from + got));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      got += static_cast<size_t>(r);
    }
    ::close(fd);
    out.resize(got);  // a file that shrank meanwhile: what was read
    return out;
  }

  // The rows of one .mjr, read from the file in bounded blocks.
  Result<std::unique_ptr<mjr::RowReader>> open_mjr(const ChunkRef& c) {
    auto file = file_source_nofollow(c.location);
    if (!file) return file.status();
    mjr::ChunkParams p;
    p.app = c.key.app;
    p.room = c.key.room;
    p.room_record_id = c.key.room_record_id;
    p.peer = c.key.peer;
    p.session = c.key.session;
    p.index = c.key.index;
    p.track_id = c.key.index + 1;
    std::string name = fs::path(c.location).filename().string();
    if (iends_with(name, ".mjr")) name.resize(name.size() - 4);
    p.track_name = name;
    auto rows = mjr::RowReader::open(std::move(file.value()), p);
    if (!rows) {
      Status s = rows.status();
      return s.with_context(c.location);
    }
    return rows;
  }

  std::string root_;
  std::shared_ptr<MjrProblems> problems_ = std::make_shared<MjrProblems>();
};

bool has_mjr_files(const std::string& dir) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) return false;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return false;
    std::error_code ec2;
    if (iends_with(it->path().filename().string(), ".mjr") && it->is_regular_file(ec2)) return true;
  }
  return false;
}

}  // namespace

Result<std::unique_ptr<RecordingSource>> RecordingSource::open(std::string_view uri_or_path) {
  std::string_view in = uri_or_path;
  if (in.empty()) return Status::error(ErrorCode::invalid_argument, "empty recording location");
  if (util::is_http_uri(in)) {
    auto uri = s3::S3Uri::parse(in);
    if (!uri) return uri.status();
    if (uri->presigned)
      return Status::error(ErrorCode::invalid_argument,
                           "a presigned URL cannot be listed: give the room as "
                           "http(s)://KEY:SECRET@host/bucket/prefix/app/room/record_id");
    if (uri->prefix.empty())
      return Status::error(ErrorCode::invalid_argument,
                           "the S3 URI " + uri->to_string() +
                               " names no room path (expected .../bucket/[prefix/]app/room/record_id)");
    return std::unique_ptr<RecordingSource>(std::make_unique<S3Source>(std::move(uri.value())));
  }
  std::string path;
  if (util::starts_with_nocase(in, "file://")) path = std::string(in.substr(7));
  else if (in.find("://") != std::string_view::npos)
    return Status::error(ErrorCode::invalid_argument,
                         "unsupported recording location '" + std::string(in.substr(0, in.find("://"))) +
                             "://...' (expected http(s)://, file:// or a local path)");
  else path = std::string(in);
  if (path.empty()) return Status::error(ErrorCode::invalid_argument, "empty path in " + std::string(in));
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  std::error_code ec;
  if (!fs::exists(path, ec))
    return Status::error(ErrorCode::not_found, "no recording found at file://" + path + ": no such folder");
  if (!fs::is_directory(path, ec))
    return Status::error(ErrorCode::invalid_argument,
                         "file://" + path + " is not a folder (expected the room folder {prefix}/{app}/{room}/{record_id}"
                                            " or a folder of Janus .mjr files)");
  if (has_mjr_files(path)) return std::unique_ptr<RecordingSource>(std::make_unique<JanusSource>(std::move(path)));
  return std::unique_ptr<RecordingSource>(std::make_unique<LocalSource>(std::move(path)));
}

}  // namespace roomrec
