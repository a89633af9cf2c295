// Test fixture: runs the local S3 test server (tests/s3/start.js, @20minutes/s3rver) as a child
// process. Header-only; the C++ twin of tests/s3/s3rver_fixture.py.
//
//   roomrec::testing::S3rverProcess s3;              // starts at once (bucket roomrec-test)
//   if (!s3.available()) { MESSAGE("skipped: " << s3.reason()); return; }
//   REQUIRE_MESSAGE(s3.running(), s3.reason());
//   auto uri = s3.s3_uri("roomrec-test", "prefix");  // http://S3RVER:S3RVER@127.0.0.1:PORT/roomrec-test/prefix?path_style=true
//   s3.stop(); ... s3.start();                        // same data directory and same port
//
// The server stores into a temporary directory the fixture owns (removed by the destructor), so
// objects survive stop()/start()/restart(). The child gets --exit-on-stdin-close and the write end
// of a pipe to its stdin: if this process dies, the server exits too.
// Environment: ROOMREC_SOURCE_DIR (the repository root; else found by walking up from the current
// directory to tests/s3/start.js), ROOMREC_NODE (node binary; else "node" on PATH).
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

extern char** environ;

namespace roomrec::testing {

class S3rverProcess {
 public:
  static constexpr const char* kAccessKey = "S3RVER";
  static constexpr const char* kSecretKey = "S3RVER";
  static constexpr const char* kRegion = "us-east-1";
  static constexpr const char* kDefaultBucket = "roomrec-test";

  explicit S3rverProcess(std::vector<std::string> buckets = {kDefaultBucket}, bool start_now = true)
      : buckets_(std::move(buckets)) {
    find_prerequisites();
    if (start_now && available_) start();
  }
  ~S3rverProcess() {
    stop();
    std::error_code ec;
    if (!work_dir_.empty()) std::filesystem::remove_all(work_dir_, ec);
  }
  S3rverProcess(const S3rverProcess&) = delete;
  S3rverProcess& operator=(const S3rverProcess&) = delete;

  // False when node or tests/s3/node_modules is missing: tests should skip (reason() says why).
  bool available() const { return available_; }
  // Why the server is unavailable or did not start; "" when all is well.
  const std::string& reason() const { return reason_; }
  bool running() const { return pid_ > 0; }

  // Starts the server; the data directory (and, after a first start, the port) are kept across
  // stop()/start(). False with reason() on failure.
  bool start() {
    if (pid_ > 0) return true;
    if (!available_) return false;
    reason_.clear();
    if (!ensure_work_dir()) return false;

    std::vector<std::string> args = {node_, "--openssl-legacy-provider", (root_ / "tests/s3/start.js").string(),
                                     "--exit-on-stdin-close", "--dir", data_dir()};
    for (const auto& b : buckets_) args.insert(args.end(), {"--bucket", b});
    if (port_ != 0) args.insert(args.end(), {"--port", std::to_string(port_)});

    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0) return fail(std::string("pipe: ") + std::strerror(errno));
    if (::pipe2(out, O_CLOEXEC) != 0) {
      ::close(in[0]);
      ::close(in[1]);
      return fail(std::string("pipe: ") + std::strerror(errno));
    }
    const std::string err_path = stderr_path();
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    int rc = ::posix_spawnp(&pid, node_.c_str(), &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(in[0]);
    ::close(out[1]);
    if (rc != 0) {
      ::close(in[1]);
      ::close(out[0]);
      return fail("cannot run " + node_ + ": " + std::strerror(rc));
    }
    pid_ = pid;
    stdin_fd_ = in[1];
    stdout_fd_ = out[0];

    std::string line;
    if (!read_port_line(line)) {
      std::string why = reason_;
      stop();
      reason_ = why;
      return false;
    }
    unsigned long p = 0;
    if (line.rfind("PORT ", 0) != 0 || (p = std::strtoul(line.c_str() + 5, nullptr, 10)) == 0 || p > 65535) {
      stop();
      return fail("unexpected first line from the S3 server: \"" + line + "\"; stderr:\n" + stderr_text());
    }
    port_ = static_cast<uint16_t>(p);
    return true;
  }

  // SIGTERM, then waits (SIGKILL after 10 s). The data directory and the port number are kept.
  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      if (!wait_exit(std::chrono::seconds(10))) {
        ::kill(pid_, SIGKILL);
        int st;
        while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
        }
      }
      pid_ = -1;
    }
    if (stdin_fd_ >= 0) ::close(stdin_fd_);
    if (stdout_fd_ >= 0) ::close(stdout_fd_);
    stdin_fd_ = stdout_fd_ = -1;
  }

  // stop() then start(): same data, same port.
  bool restart() {
    stop();
    // The old server's port is free once it exited; a start can still race a socket in TIME_WAIT
    // on some systems, so try a few times.
    for (int i = 0; i < 5; ++i) {
      if (start()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return false;
  }

  uint16_t port() const { return port_; }
  // "http://127.0.0.1:PORT" (path-style addressing only).
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // The roomrec S3 URI of a bucket (and key prefix) on this server.
  std::string s3_uri(const std::string& bucket = kDefaultBucket, const std::string& prefix = "") const {
    std::string u = std::string("http://") + kAccessKey + ":" + kSecretKey + "@127.0.0.1:" + std::to_string(port_) +
                    "/" + bucket;
    if (!prefix.empty()) u += "/" + encode_path(prefix);
    return u + "?path_style=true";
  }
  std::string data_dir() const { return work_dir_.empty() ? std::string() : (work_dir_ / "data").string(); }
  // What the server wrote to stderr so far (all runs).
  std::string stderr_text() const {
    std::ifstream f(stderr_path());
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }
  pid_t pid() const { return pid_; }

  // The repository root ("" when not found).
  static std::filesystem::path repo_root() {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (const char* env = std::getenv("ROOMREC_SOURCE_DIR"); env && *env) {
      fs::path p(env);
      if (fs::exists(p / "tests/s3/start.js", ec)) return fs::absolute(p, ec);
    }
    fs::path dir = fs::current_path(ec);
    for (; !dir.empty(); dir = dir.parent_path()) {
      if (fs::exists(dir / "tests/s3/start.js", ec)) return dir;
      if (dir == dir.parent_path()) break;
    }
    return {};
  }

 private:
  // Percent-encodes all but RFC 3986 unreserved characters and '/'.
  static std::string encode_path(const std::string& s) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
      if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
          c == '.' || c == '~' || c == '/') {
        out += static_cast<char>(c);
      } else {
        out += '%';
        out += hex[c >> 4];
        out += hex[c & 15];
      }
    }
    return out;
  }

  bool fail(std::string why) {
    reason_ = std::move(why);
    return false;
  }

  void find_prerequisites() {
    root_ = repo_root();
    if (root_.empty()) {
      reason_ = "repository root not found (set ROOMREC_SOURCE_DIR; looked for tests/s3/start.js upwards from " +
                std::filesystem::current_path().string() + ")";
      return;
    }
    if (!std::filesystem::exists(root_ / "tests/s3/node_modules/@20minutes/s3rver/package.json")) {
      reason_ = "s3rver is not installed in " + (root_ / "tests/s3/node_modules").string() +
                "; run: npm ci --prefix " + (root_ / "tests/s3").string();
      return;
    }
    node_ = find_node();
    if (node_.empty()) {
      reason_ = "node not found (set ROOMREC_NODE or put node on PATH)";
      return;
    }
    available_ = true;
  }

  static std::string find_node() {
    if (const char* env = std::getenv("ROOMREC_NODE"); env && *env) return ::access(env, X_OK) == 0 ? env : "";
    const char* path = std::getenv("PATH");
    std::string p = path ? path : "/usr/local/bin:/usr/bin:/bin";
    std::stringstream ss(p);
    for (std::string dir; std::getline(ss, dir, ':');) {
      if (dir.empty()) continue;
      std::string cand = dir + "/node";
      if (::access(cand.c_str(), X_OK) == 0) return cand;
    }
    return "";
  }

  bool ensure_work_dir() {
    if (!work_dir_.empty()) return true;
    std::string tmpl = (std::filesystem::temp_directory_path() / "roomrec-s3rver-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) return fail(std::string("mkdtemp: ") + std::strerror(errno));
    work_dir_ = tmpl;
    std::error_code ec;
    std::filesystem::create_directories(work_dir_ / "data", ec);
    return true;
  }

  std::string stderr_path() const { return (work_dir_ / "stderr.log").string(); }

  bool read_port_line(std::string& line) {
    using clock = std::chrono::steady_clock;
    const auto deadline = clock::now() + std::chrono::seconds(20);
    std::string buf;
    while (buf.find('\n') == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
      if (left <= 0)
        return fail("S3 server did not report its port within 20 s; stdout so far: \"" + buf + "\"; stderr:\n" +
                    stderr_text());
      pollfd pfd{stdout_fd_, POLLIN, 0};
      int n = ::poll(&pfd, 1, static_cast<int>(left));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) continue;
      char tmp[256];
      ssize_t r = ::read(stdout_fd_, tmp, sizeof tmp);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        wait_exit(std::chrono::seconds(2));
        return fail("S3 server exited before reporting its port; stdout: \"" + buf + "\"; stderr:\n" +
                    stderr_text());
      }
      buf.append(tmp, static_cast<size_t>(r));
    }
    line = buf.substr(0, buf.find('\n'));
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    return true;
  }

  // Reaps the child if it exits within `limit`; true when it is gone.
  bool wait_exit(std::chrono::milliseconds limit) {
    if (pid_ <= 0) return true;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      int st;
      pid_t r = ::waitpid(pid_, &st, WNOHANG);
      if (r == pid_ || (r < 0 && errno == ECHILD)) {
        pid_ = -1;
        return true;
      }
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  std::vector<std::string> buckets_;
  std::filesystem::path root_;
  std::string node_;
  bool available_ = false;
  std::string reason_;
  std::filesystem::path work_dir_;
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  uint16_t port_ = 0;
};

}  // namespace roomrec::testing
