// Where a recorded room is read from: a listing of its sessions and chunks,
// and a streaming read of each chunk.
//
//   auto src = RecordingSource::open("http://KEY:SECRET@host:9000/bucket/prefix/app/room/1731132577000?path_style=true");
//   auto listing = src.value()->list();          // sessions by peer then session, chunks in numeric order
//   auto bytes = src.value()->open(listing->sessions[0].chunks[0]);  // a ByteSource for a ChunkReader
//
// Three kinds of source, chosen by RecordingSource::open():
//  - S3 ("http(s)://..."): ListObjectsV2 (paginated) under the room path; each chunk is downloaded by a
//    background thread started by the first read, into memory when smaller than 2 MiB, else into an
//    anonymous temporary file (TMPDIR), while the reader consumes what has arrived. The reader never
//    holds a large chunk in memory and a slow consumer never stalls the HTTP transfer. A transfer
//    broken midway is restarted (up to 3 times); connections are reused across chunks.
//  - a local folder ("file:///path" or a plain path) with the same layout as the S3 keys
//    ({room}/{peer}/{session}/{index}-{from_ts}-{to_ts}.rec); files are streamed from disk.
//  - a local folder of Janus .mjr recordings (one file per track; when the folder holds .mjr files it is
//    read this way). Each peer (file name without its -audio/-video/-data suffix) becomes one session
//    (number 0) whose chunks are its .mjr files, read by open() as a valid roomrec chunk (a
//    track_started row, one rtp row per frame, a track_stopped row) encoded while the file is read in
//    256 KiB blocks: neither the file nor its chunk is ever held whole. The listing reads each file's
//    first and last bytes only: its key's from_ts is the info header's "u", its to_ts the time of the
//    last frame found at the file's end (from_ts when unknown: MJR00001, damage at the end).
//
// Whatever the recording's length, reading holds a bounded window of it: a chunk reader's buffer
// (a read block plus the largest frame), an .mjr window, and for S3 at most 2 MiB of an object in
// memory (larger objects go to the temporary file).
//
// All implementations are thread-safe: list(), open() and the ByteSources they return may be used from
// different threads (each ByteSource by one thread at a time).
#pragma once

#include <roomrec/byte_source.h>
#include <roomrec/chunk_key.h>
#include <roomrec/export.h>
#include <roomrec/status.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace roomrec {

// One chunk of a session.
struct ChunkRef {
  ChunkKey key;          // parsed from the object key / file name (index, from_ts, to_ts are numeric)
  uint64_t size = 0;     // bytes of the stored object (for .mjr: the .mjr file's size)
  std::string location;  // full S3 key or local file path
};

// One peer session and its chunks.
struct SessionRef {
  std::string peer;
  uint64_t session = 0;
  std::vector<ChunkRef> chunks;            // numeric index order (then from_ts)
  std::vector<uint32_t> missing_indexes;   // gaps in 0..max index, ascending (at most 100,000 listed)
};

struct RoomListing {
  std::string app, room, room_record_id;   // from the room path (its last three components)
  std::vector<SessionRef> sessions;        // by peer, then session number
  std::vector<std::string> problems;       // human-readable: unparsable keys, missing chunks, bad .mjr...
};

class ROOMREC_API RecordingSource {
 public:
  virtual ~RecordingSource() = default;

  // All sessions of the room. One bad key never fails the listing (it is reported in problems);
  // an empty room is an error ("no recording found at ...").
  virtual Result<RoomListing> list() = 0;

  // A streaming read of one chunk (a ChunkRef from list()).
  virtual Result<std::unique_ptr<ByteSource>> open(const ChunkRef& c) = 0;

  // For messages and logs (never shows a secret).
  virtual std::string describe() const = 0;

  // Problems found while reading `c` that its bytes cannot show (e.g. a truncated .mjr file read as an
  // intact chunk): those of the last read of `c` to its end (an .mjr's damage is known only then).
  // Empty for chunks read as stored. SessionReader adds these to its problems when it finishes `c`.
  virtual std::vector<std::string> chunk_problems(const ChunkRef& c) {
    (void)c;
    return {};
  }

  // "http(s)://KEY:SECRET@host/bucket/prefix/app/room/record_id?path_style=true" (S3),
  // "file:///path/app/room/record_id" or a plain local path (same layout on disk). The URI/path names
  // the ROOM path ("{prefix}/{app}/{room}/{room_record_id}"); peers are the next level, sessions the
  // level below. A local folder whose files are Janus .mjr recordings is read as a Janus room.
  static Result<std::unique_ptr<RecordingSource>> open(std::string_view uri_or_path);
};

// Which peers and tracks of a room a conversion reads (consent: record everyone, convert only those
// who agreed). Names are spelled as summary.json spells them: the peer as in the chunk keys, the track
// by its name ("audio_main"). An empty selection reads everything.
struct ROOMREC_API RoomSelection {
  std::vector<std::string> include_peers;   // when not empty: only these peers
  std::vector<std::string> exclude_peers;   // never these
  // Tracks left out: "peer/track" for one peer's track, or "track" for that track of every peer
  // (a peer name with a '/' in it is split at the last '/').
  std::vector<std::string> exclude_tracks;
  bool empty() const { return include_peers.empty() && exclude_peers.empty() && exclude_tracks.empty(); }
  bool peer_selected(std::string_view peer) const;
  bool track_selected(std::string_view peer, std::string_view track) const;
};

// Empty names, a peer both included and excluded, and other contradictions; messages name the field as
// the JSON spells it ("selection.exclude_peers[1] is empty"). validate(ConvertJob) calls it.
ROOMREC_API Status validate(const RoomSelection& selection);

// `inner` as seen through `selection`: list() leaves out the sessions of peers not selected (and the
// listing problems that name them; a selection that leaves no session fails with invalid_argument),
// and rows are read without the excluded tracks (their track_started/rtp/stop/pause rows, and their
// entries in chunk headers). Every reader of rooms (transmux, compose, speakers, replay, the
// per-participant files) reads through rows, so each gets the selection; open() of a chunk of a
// peer not selected is refused (not_found), any other chunk is given as stored. `inner` must outlive
// the result; convert() applies ConvertJob::selection this way.
ROOMREC_API std::unique_ptr<RecordingSource> select_from(RecordingSource& inner, RoomSelection selection);

}  // namespace roomrec
