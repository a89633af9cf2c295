// Where a job reads and writes: record_path checks, and joining a relative
// path onto a storage root that is either an S3 URI or a local folder.
#pragma once

#include <roomrec/status.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace roomrec::worker {

// "http://..." or "https://..." (an S3 URI or presigned URL), as opposed to a local path.
bool is_remote(std::string_view location);

// A local root as a path: "file:///x" -> "/x", "/x" -> "/x".
std::string local_path_of(std::string_view root);

// One path component: 1..255 characters of [A-Za-z0-9._~=@,:-], not "." or "..".
bool is_path_segment(std::string_view s);

// record_path is "{app}/{room}/{room_record_id}", relative to the input root:
// three path segments, no leading '/', no empty segment, no "." or "..".
// The message says what is wrong.
Status check_record_path(std::string_view record_path);

// The first component of a record_path (its app).
std::string app_of(std::string_view record_path);

// `relative` (already checked, no leading '/') under `root`: for an S3 URI
// it is appended to the URI's path before its query; for a folder it is
// joined with '/'.
std::string join_location(std::string_view root, std::string_view relative);

// For a local root: fails when a component of `relative` under it is a
// symbolic link (a recording is read without following links). Ok for S3.
Status check_no_links(std::string_view root, std::string_view relative);

// "yyyy/mm/dd" of a unix time in milliseconds, in UTC.
std::string utc_date_path(uint64_t unix_ms);

}  // namespace roomrec::worker
