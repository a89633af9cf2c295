#include "worker/locations.h"

#include <sys/stat.h>

#include <cstdio>
#include <ctime>
#include <vector>

#include "util/text.h"

namespace roomrec::worker {

bool is_remote(std::string_view location) { return util::is_http_uri(location); }

std::string local_path_of(std::string_view root) {
  if (util::starts_with_nocase(root, "file://")) root.remove_prefix(7);
  return std::string(root);
}

bool is_path_segment(std::string_view s) {
  if (s.empty() || s.size() > 255 || s == "." || s == "..") return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '~' || c == '=' || c == '@' || c == ',' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Status check_record_path(std::string_view p) {
  auto bad = [](std::string m) { return Status::error(ErrorCode::invalid_argument, "record_path " + m); };
  if (p.empty()) return bad("is empty");
  if (p.size() > 1024) return bad("is longer than 1024 characters");
  if (p.front() == '/') return bad("must be relative (no leading '/')");
  std::vector<std::string_view> segments;
  size_t start = 0;
  while (true) {
    size_t slash = p.find('/', start);
    segments.push_back(p.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  for (auto s : segments) {
    if (s.empty()) return bad("has an empty path segment");
    if (s == "." || s == "..") return bad("must not contain '.' or '..' segments");
    if (!is_path_segment(s)) return bad("segments may only hold letters, digits and ._~=@,:- (at most 255 each)");
  }
  if (segments.size() != 3) return bad("must be {app}/{room}/{room_record_id}");
  return Status::ok();
}

std::string app_of(std::string_view record_path) { return std::string(record_path.substr(0, record_path.find('/'))); }

std::string join_location(std::string_view root, std::string_view relative) {
  if (is_remote(root)) {
    size_t query = root.find('?');
    std::string_view base = root.substr(0, query);
    std::string_view rest = query == std::string_view::npos ? std::string_view() : root.substr(query);
    while (!base.empty() && base.back() == '/') base.remove_suffix(1);
    return std::string(base) + "/" + std::string(relative) + std::string(rest);
  }
  std::string base(root);
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  if (base == "/") return "/" + std::string(relative);
  return base + "/" + std::string(relative);
}

std::string utc_date_path(uint64_t unix_ms) {
  std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d/%02d/%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
  return buf;
}

Status check_no_links(std::string_view root, std::string_view relative) {
  if (is_remote(root)) return Status::ok();
  std::string path = local_path_of(root);
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  size_t start = 0;
  while (start < relative.size()) {
    size_t slash = relative.find('/', start);
    if (slash == std::string_view::npos) slash = relative.size();
    path += '/';
    path.append(relative.substr(start, slash - start));
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode))
      return Status::error(ErrorCode::invalid_argument,
                           "record_path goes through a symbolic link, which is not followed");
    start = slash + 1;
  }
  return Status::ok();
}

}  // namespace roomrec::worker
