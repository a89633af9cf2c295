// WebmWriter over libwebm's mkvmuxer. See webm_writer.h.
//
// How the track header ends up with the maximum frame size: mkvmuxer writes
// the Tracks element once, at the first frame, with minimal-length EBML
// integers. The header is written with a placeholder of at least 256 (so
// PixelWidth/PixelHeight take at least 2 value bytes), our IMkvWriter records
// where those elements start (IMkvWriter::ElementStartNotify) and keeps a copy
// of the header bytes, and from then on the value bytes are rewritten in place
// (same length, leading zero bytes allowed by EBML) whenever the maximum
// grows, and once more after Segment::Finalize.
//
// Cues: mkvmuxer adds a cue on the first frame of the cue track after every
// new cluster, key frame or not. A cluster cut on a video delta frame (the 5 s
// limit, or the 32 s cluster timecode limit) would put a cue there; such cues
// are remembered and, before Finalize, made copies of the previous cue on a
// key frame, so every cue points at a key frame.

#include "media/webm_writer.h"

#include <common/webmids.h>
#include <mkvmuxer/mkvmuxer.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace roomrec::media {

namespace {

constexpr uint64_t kTimecodeScale = 1000000;               // 1 ms
constexpr uint64_t kMaxClusterDurationNs = 5000000000ULL;  // 5 s
constexpr uint64_t kSeekPreRollNs = 80000000;              // 80 ms, as the Opus-in-Matroska spec asks
constexpr size_t kMaxHeaderCapture = 16u << 20;            // bytes of header mirrored (codec private included)
constexpr size_t kDeltaWindow = 16;                        // recent frame intervals kept per track
constexpr const char kH264CodecId[] = "V_MPEG4/ISO/AVC";

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// One EBML element in a byte buffer: where its data starts and how long it is.
struct EbmlElement {
  size_t data_pos = 0;
  size_t data_len = 0;
};

bool parse_element(const std::vector<uint8_t>& b, size_t pos, EbmlElement& out) {
  if (pos >= b.size()) return false;
  // ID: 1..4 bytes, length marked by the leading one bit.
  const uint8_t id0 = b[pos];
  size_t id_len = 0;
  for (size_t i = 0; i < 4; ++i)
    if (id0 & (0x80 >> i)) {
      id_len = i + 1;
      break;
    }
  if (id_len == 0) return false;
  size_t p = pos + id_len;
  if (p >= b.size()) return false;
  // Size: 1..8 bytes vint.
  const uint8_t s0 = b[p];
  size_t size_len = 0;
  for (size_t i = 0; i < 8; ++i)
    if (s0 & (0x80 >> i)) {
      size_len = i + 1;
      break;
    }
  if (size_len == 0 || p + size_len > b.size()) return false;
  uint64_t size = s0 & (0xFF >> size_len);
  for (size_t i = 1; i < size_len; ++i) size = (size << 8) | b[p + i];
  p += size_len;
  if (size > b.size() - p) return false;
  out.data_pos = p;
  out.data_len = static_cast<size_t>(size);
  return true;
}

uint64_t read_uint(const std::vector<uint8_t>& b, const EbmlElement& e) {
  uint64_t v = 0;
  for (size_t i = 0; i < e.data_len && i < 8; ++i) v = (v << 8) | b[e.data_pos + i];
  return v;
}

}  // namespace

uint32_t opus_packet_samples(const uint8_t* d, size_t n) {
  if (n < 1) return 0;
  const unsigned config = d[0] >> 3;
  uint32_t per_frame;
  if (config < 12) {
    static constexpr uint32_t silk[4] = {480, 960, 1920, 2880};
    per_frame = silk[config & 3];
  } else if (config < 16) {
    per_frame = (config & 1) ? 960 : 480;
  } else {
    static constexpr uint32_t celt[4] = {120, 240, 480, 960};
    per_frame = celt[config & 3];
  }
  uint32_t count;
  switch (d[0] & 3) {
    case 0: count = 1; break;
    case 1:
    case 2: count = 2; break;
    default:
      if (n < 2) return 0;
      count = d[1] & 0x3F;
      break;
  }
  const uint32_t total = per_frame * count;
  return total <= 5760 ? total : 0;  // at most 120 ms
}

std::vector<uint8_t> opus_head(uint32_t channels, uint16_t pre_skip, uint32_t input_rate) {
  std::vector<uint8_t> h = {'O', 'p', 'u', 's', 'H', 'e', 'a', 'd', 1, static_cast<uint8_t>(channels)};
  h.push_back(static_cast<uint8_t>(pre_skip & 0xFF));
  h.push_back(static_cast<uint8_t>(pre_skip >> 8));
  for (int i = 0; i < 4; ++i) h.push_back(static_cast<uint8_t>((input_rate >> (8 * i)) & 0xFF));
  h.push_back(0);  // output gain (Q7.8 dB), little endian
  h.push_back(0);
  h.push_back(0);  // channel mapping family 0: mono or stereo
  return h;
}


// ---- the file under mkvmuxer ------------------------------------------------

// A seekable IMkvWriter over a FILE*. While the header is being written it
// mirrors the bytes and records where TrackNumber / PixelWidth / PixelHeight
// elements start.
class WebmWriter::FileWriter final : public mkvmuxer::IMkvWriter {
 public:
  struct Mark {
    uint64_t id;
    int64_t pos;
  };

  FileWriter() = default;
  ~FileWriter() override { close(); }

  Status open(const std::string& path) {
    file_ = std::fopen(path.c_str(), "wb");
    if (!file_) return Status::error(ErrorCode::io, "create " + path + ": " + std::strerror(errno));
    // glibc ignores the size when no buffer is given (it allocates st_blksize, 4 KiB): then every
    // frame larger than that is a write(2) of its own. Give it the buffer.
    vbuf_ = std::make_unique<char[]>(kFileBufferBytes);
    std::setvbuf(file_, vbuf_.get(), _IOFBF, kFileBufferBytes);
    return Status::ok();
  }

  // IMkvWriter
  mkvmuxer::int32 Write(const void* buf, mkvmuxer::uint32 len) override {
    if (!file_ || failed_) return -1;
    if (len == 0) return 0;
    if (std::fwrite(buf, 1, len, file_) != len) {
      fail();
      return -1;
    }
    if (capturing_) capture(static_cast<const uint8_t*>(buf), len);
    pos_ += len;
    size_ = std::max(size_, pos_);
    return 0;
  }
  mkvmuxer::int64 Position() const override { return pos_; }
  mkvmuxer::int32 Position(mkvmuxer::int64 position) override {
    if (!file_ || failed_ || position < 0) return -1;
    if (position == pos_) return 0;
    if (fseeko(file_, static_cast<off_t>(position), SEEK_SET) != 0) {
      fail();
      return -1;
    }
    pos_ = position;
    return 0;
  }
  bool Seekable() const override { return true; }
  void ElementStartNotify(mkvmuxer::uint64 element_id, mkvmuxer::int64 position) override {
    if (!capturing_) return;
    if (element_id == libwebm::kMkvTrackNumber || element_id == libwebm::kMkvPixelWidth ||
        element_id == libwebm::kMkvPixelHeight)
      marks_.push_back({element_id, position});
  }

  // Rewrites bytes already written, then returns to the current position.
  bool patch(int64_t pos, const uint8_t* data, size_t n) {
    if (!file_ || failed_ || pos < 0 || static_cast<uint64_t>(pos) + n > static_cast<uint64_t>(size_)) return false;
    if (fseeko(file_, static_cast<off_t>(pos), SEEK_SET) != 0 || std::fwrite(data, 1, n, file_) != n ||
        fseeko(file_, static_cast<off_t>(pos_), SEEK_SET) != 0) {
      fail();
      return false;
    }
    if (static_cast<size_t>(pos) + n <= mirror_.size()) std::memcpy(mirror_.data() + pos, data, n);
    return true;
  }

  bool close() {
    if (!file_) return !failed_;
    if (std::fflush(file_) != 0) fail();
    if (std::fclose(file_) != 0 && !failed_) fail();
    file_ = nullptr;
    return !failed_;
  }

  void stop_capture() { capturing_ = false; }
  const std::vector<uint8_t>& mirror() const { return mirror_; }
  const std::vector<Mark>& marks() const { return marks_; }
  bool failed() const { return failed_; }
  int error() const { return errno_; }
  int64_t size() const { return size_; }

 private:
  void fail() {
    if (!failed_) errno_ = errno;
    failed_ = true;
  }
  void capture(const uint8_t* p, size_t n) {
    const size_t at = static_cast<size_t>(pos_);
    if (at + n > kMaxHeaderCapture) {
      capturing_ = false;
      return;
    }
    if (mirror_.size() < at + n) mirror_.resize(at + n);
    std::memcpy(mirror_.data() + at, p, n);
  }

  static constexpr size_t kFileBufferBytes = 256 * 1024;
  std::FILE* file_ = nullptr;
  std::unique_ptr<char[]> vbuf_;  // file_'s stdio buffer (outlives it: close() runs in the destructor's body)
  int64_t pos_ = 0;
  int64_t size_ = 0;
  bool failed_ = false;
  int errno_ = 0;
  bool capturing_ = true;
  std::vector<uint8_t> mirror_;
  std::vector<Mark> marks_;
};

// ---- per track state --------------------------------------------------------

struct WebmWriter::Track {
  uint64_t number = 0;
  bool video = false;
  bool opus = false;
  double frame_rate = 0;
  mkvmuxer::VideoTrack* mkv_video = nullptr;  // owned by the segment
  // Maximum size seen, and what the file's header says now.
  uint32_t max_width = 0, max_height = 0;
  uint64_t header_width = UINT64_MAX, header_height = UINT64_MAX;
  // PixelWidth / PixelHeight value bytes in the file (pos < 0: not located).
  int64_t width_pos = -1, height_pos = -1;
  size_t width_len = 0, height_len = 0;
  // Timing.
  uint64_t frames = 0;
  uint64_t last_ts = 0;
  uint64_t last_opus_ns = 0;  // duration of the last Opus packet (TOC)
  std::vector<uint64_t> deltas;  // recent positive frame intervals (ring)
  size_t delta_next = 0;

  void add_delta(uint64_t d) {
    if (d == 0) return;
    if (deltas.size() < kDeltaWindow) {
      deltas.push_back(d);
    } else {
      deltas[delta_next] = d;
      delta_next = (delta_next + 1) % kDeltaWindow;
    }
  }
  uint64_t typical_interval() const {
    if (deltas.empty()) return 0;
    std::vector<uint64_t> d = deltas;
    std::nth_element(d.begin(), d.begin() + static_cast<ptrdiff_t>(d.size() / 2), d.end());
    return d[d.size() / 2];
  }
  // Duration given to the last frame when computing the file's duration.
  uint64_t last_frame_duration() const {
    if (opus && last_opus_ns > 0) return last_opus_ns;
    if (video && frame_rate > 0) return static_cast<uint64_t>(std::llround(1e9 / frame_rate));
    return typical_interval();
  }
};

// ---- WebmWriter ---------------------------------------------------------------

WebmWriter::WebmWriter(std::string path, Container c, std::unique_ptr<FileWriter> file)
    : path_(std::move(path)), container_(c), file_(std::move(file)) {}

WebmWriter::~WebmWriter() {
  if (!finished_) (void)finish();
  segment_.reset();  // before file_
}

Result<std::unique_ptr<WebmWriter>> WebmWriter::create(const std::string& path, Container c) {
  if (path.empty()) return Status::error(ErrorCode::invalid_argument, "WebmWriter: empty path");
  auto file = std::make_unique<FileWriter>();
  if (Status st = file->open(path); !st) return st;
  std::unique_ptr<WebmWriter> w(new WebmWriter(path, c, std::move(file)));
  w->segment_ = std::make_unique<mkvmuxer::Segment>();
  if (!w->segment_->Init(w->file_.get()))
    return Status::error(ErrorCode::internal, "mkvmuxer: cannot initialise the segment for " + path);
  w->segment_->set_mode(mkvmuxer::Segment::kFile);
  w->segment_->OutputCues(true);
  w->segment_->set_max_cluster_duration(kMaxClusterDurationNs);
  w->segment_->set_estimate_file_duration(false);
  mkvmuxer::SegmentInfo* info = w->segment_->GetSegmentInfo();
  info->set_timecode_scale(kTimecodeScale);
  info->set_writing_app("roomrec");
  return w;
}

void WebmWriter::set_date_utc_ms(uint64_t unix_ms) {
  constexpr uint64_t kMatroskaEpochUnixMs = 978307200000;  // 2001-01-01T00:00:00Z
  constexpr uint64_t kMaxMs = static_cast<uint64_t>(INT64_MAX / 1000000);
  if (unix_ms < kMatroskaEpochUnixMs || unix_ms - kMatroskaEpochUnixMs > kMaxMs) return;
  segment_->GetSegmentInfo()->set_date_utc(static_cast<int64_t>((unix_ms - kMatroskaEpochUnixMs) * 1000000));
}

WebmWriter::Track* WebmWriter::find_track(uint64_t number) {
  for (Track& t : tracks_)
    if (t.number == number) return &t;
  return nullptr;
}

const WebmWriter::Track* WebmWriter::find_track(uint64_t number) const {
  for (const Track& t : tracks_)
    if (t.number == number) return &t;
  return nullptr;
}

Status WebmWriter::check_can_add_track() const {
  if (finished_) return Status::error(ErrorCode::invalid_argument, "WebmWriter: already finished");
  if (header_written_ || total_frames_ > 0)
    return Status::error(ErrorCode::invalid_argument, "WebmWriter: tracks must be added before the first frame");
  if (tracks_.size() >= mkvmuxer::kMaxTrackNumber)
    return Status::error(ErrorCode::resource_exhausted, "WebmWriter: too many tracks");
  return Status::ok();
}

Result<uint64_t> WebmWriter::add_video_track(const VideoTrackParams& p) {
  if (Status st = check_can_add_track(); !st) return st;
  const std::string codec = lower(p.codec);
  const char* codec_id = nullptr;
  if (codec == "vp8") {
    codec_id = mkvmuxer::Tracks::kVp8CodecId;
  } else if (codec == "vp9") {
    codec_id = mkvmuxer::Tracks::kVp9CodecId;
  } else if (codec == "av1") {
    codec_id = mkvmuxer::Tracks::kAv1CodecId;
  } else if (codec == "h264") {
    if (container_ == Container::webm)
      return Status::error(ErrorCode::unsupported, "WebmWriter: H264 cannot go into a webm file (use mkv)");
    if (p.codec_private.empty())
      return Status::error(ErrorCode::invalid_argument, "WebmWriter: H264 needs an avcC codec_private");
    codec_id = kH264CodecId;
  } else {
    return Status::error(ErrorCode::unsupported, "WebmWriter: unsupported video codec '" + p.codec + "'");
  }

  Track t;
  t.video = true;
  t.max_width = p.width;
  t.max_height = p.height;
  t.frame_rate = (std::isfinite(p.frame_rate) && p.frame_rate > 0) ? p.frame_rate : 0;
  // Placeholders >= 256 so that the size fields are written with >= 2 value
  // bytes; the real maximum is patched in right after the header is written.
  const auto placeholder = [](uint32_t v) { return static_cast<int32_t>(std::max<uint32_t>(v, 256)); };
  const uint64_t number = segment_->AddVideoTrack(placeholder(p.width), placeholder(p.height), 0);
  if (number == 0) return Status::error(ErrorCode::internal, "mkvmuxer: cannot add a video track");
  auto* vt = static_cast<mkvmuxer::VideoTrack*>(segment_->GetTrackByNumber(number));
  if (!vt) return Status::error(ErrorCode::internal, "mkvmuxer: video track vanished");
  vt->set_uid(number);  // not mkvmuxer's random one: the same input gives the same bytes
  vt->set_codec_id(codec_id);
  if (!p.codec_private.empty() && !vt->SetCodecPrivate(p.codec_private.data(), p.codec_private.size()))
    return Status::error(ErrorCode::internal, "mkvmuxer: cannot set the codec private data");
  if (t.frame_rate > 0) vt->set_frame_rate(t.frame_rate);
  t.number = number;
  t.mkv_video = vt;
  tracks_.push_back(std::move(t));
  has_video_ = true;
  return number;
}

Result<uint64_t> WebmWriter::add_audio_track(const AudioTrackParams& p) {
  if (Status st = check_can_add_track(); !st) return st;
  if (lower(p.codec) != "opus")
    return Status::error(ErrorCode::unsupported, "WebmWriter: unsupported audio codec '" + p.codec + "'");
  if (p.channels == 0 || p.channels > 255)
    return Status::error(ErrorCode::invalid_argument, "WebmWriter: bad channel count " + std::to_string(p.channels));
  std::vector<uint8_t> head = p.codec_private;
  if (head.empty()) {
    if (p.channels > 2)
      return Status::error(ErrorCode::invalid_argument,
                           "WebmWriter: Opus with more than 2 channels needs an OpusHead codec_private");
    head = opus_head(p.channels, p.pre_skip, p.sample_rate);
  }
  const uint64_t number = segment_->AddAudioTrack(48000, static_cast<int32_t>(p.channels), 0);
  if (number == 0) return Status::error(ErrorCode::internal, "mkvmuxer: cannot add an audio track");
  auto* at = static_cast<mkvmuxer::AudioTrack*>(segment_->GetTrackByNumber(number));
  if (!at) return Status::error(ErrorCode::internal, "mkvmuxer: audio track vanished");
  at->set_uid(number);
  at->set_codec_id(mkvmuxer::Tracks::kOpusCodecId);
  if (!at->SetCodecPrivate(head.data(), head.size()))
    return Status::error(ErrorCode::internal, "mkvmuxer: cannot set the codec private data");
  at->set_codec_delay(static_cast<uint64_t>(p.pre_skip) * 1000000000ULL / 48000);
  at->set_seek_pre_roll(kSeekPreRollNs);
  Track t;
  t.number = number;
  t.opus = true;
  tracks_.push_back(std::move(t));
  return number;
}

Status WebmWriter::io_status(const char* what) const {
  const int e = file_->error();
  return Status::error(e == ENOSPC ? ErrorCode::resource_exhausted : ErrorCode::io,
                       std::string(what) + " " + path_ + ": " + (e ? std::strerror(e) : "write failed"));
}

Status WebmWriter::write_frame(uint64_t track, const uint8_t* data, size_t n, uint64_t timestamp_ns,
                               bool keyframe) {
  if (finished_) return Status::error(ErrorCode::invalid_argument, "WebmWriter: write after finish");
  if (!sticky_error_.is_ok()) return sticky_error_;
  Track* t = find_track(track);
  if (!t) return Status::error(ErrorCode::invalid_argument, "WebmWriter: unknown track " + std::to_string(track));
  if (!data || n == 0) return Status::error(ErrorCode::invalid_argument, "WebmWriter: empty frame");

  // Never go back in time: mkvmuxer refuses frames older than the last one.
  // Within a track, keep timecodes strictly increasing (a frame at or before
  // the previous one goes 1 ms after it): equal timestamps make players and
  // ffmpeg complain (non monotonically increasing dts).
  uint64_t ts = std::max(timestamp_ns, last_timestamp_ns_);
  if (t->frames > 0 && ts / kTimecodeScale <= t->last_ts / kTimecodeScale)
    ts = (t->last_ts / kTimecodeScale + 1) * kTimecodeScale;
  const bool key = t->video ? keyframe : true;

  // In a file with video, mkvmuxer holds audio frames back until a video
  // frame opens a cluster. If audio comes first (video joins late, or never),
  // open the first cluster on the audio frame so audio is not held (and later
  // dropped as out of the cluster's timecode range).
  if (has_video_ && !t->video && total_frames_ == 0) segment_->ForceNewClusterOnNextFrame();

  mkvmuxer::Cues* cues = segment_->GetCues();
  const int32_t cues_before = cues->cue_entries_size();
  const bool ok = segment_->AddFrame(data, n, track, ts, key);

  if (!header_written_ && file_->size() > 0) {
    // The whole header is written inside the first AddFrame.
    header_written_ = true;
    file_->stop_capture();
    if (Status st = locate_size_fields(); !st) {
      sticky_error_ = st;
      return st;
    }
    for (Track& v : tracks_)
      if (v.video) patch_size_fields(v);
  }
  if (file_->failed()) {
    sticky_error_ = io_status("write");
    return sticky_error_;
  }
  if (!ok)
    return Status::error(ErrorCode::internal, "mkvmuxer refused a frame of track " + std::to_string(track) +
                                                  " at " + std::to_string(ts) + " ns");

  if (t->video && !key && cues->cue_entries_size() > cues_before) bad_cues_.push_back(cues->cue_entries_size() - 1);
  if (t->frames > 0) t->add_delta(ts - t->last_ts);
  if (t->opus) t->last_opus_ns = opus_packet_samples(data, n) * 1000000000ULL / 48000;
  t->last_ts = ts;
  t->frames++;
  total_frames_++;
  last_timestamp_ns_ = ts;
  return Status::ok();
}

void WebmWriter::note_video_size(uint64_t track, uint32_t width, uint32_t height) {
  Track* t = find_track(track);
  if (!t || !t->video || finished_) return;
  const uint32_t w = std::max(t->max_width, width);
  const uint32_t h = std::max(t->max_height, height);
  if (w == t->max_width && h == t->max_height) return;
  t->max_width = w;
  t->max_height = h;
  if (!header_written_) {
    t->mkv_video->set_width(std::max<uint32_t>(w, 256));
    t->mkv_video->set_height(std::max<uint32_t>(h, 256));
  } else {
    patch_size_fields(*t);
  }
}

Status WebmWriter::locate_size_fields() {
  const std::vector<uint8_t>& b = file_->mirror();
  Track* current = nullptr;
  for (const FileWriter::Mark& m : file_->marks()) {
    EbmlElement e;
    if (m.pos < 0 || !parse_element(b, static_cast<size_t>(m.pos), e)) continue;
    if (m.id == libwebm::kMkvTrackNumber) {
      current = find_track(read_uint(b, e));
    } else if (current && current->video && e.data_len >= 1 && e.data_len <= 8) {
      if (m.id == libwebm::kMkvPixelWidth) {
        current->width_pos = static_cast<int64_t>(e.data_pos);
        current->width_len = e.data_len;
        current->header_width = read_uint(b, e);
      } else if (m.id == libwebm::kMkvPixelHeight) {
        current->height_pos = static_cast<int64_t>(e.data_pos);
        current->height_len = e.data_len;
        current->header_height = read_uint(b, e);
      }
    }
  }
  for (const Track& t : tracks_)
    if (t.video && (t.width_pos < 0 || t.height_pos < 0))
      return Status::error(ErrorCode::internal,
                           "WebmWriter: video size fields of track " + std::to_string(t.number) + " not found");
  return Status::ok();
}

void WebmWriter::patch_size_fields(Track& t) {
  const auto patch = [this](int64_t pos, size_t len, uint64_t value, uint64_t& in_header) {
    if (pos < 0 || len == 0) return;
    const uint64_t limit = len >= 8 ? UINT64_MAX : ((uint64_t{1} << (8 * len)) - 1);
    value = std::min(value, limit);  // cannot grow the field: clamp (never happens below 65536)
    if (value == in_header) return;
    uint8_t bytes[8];
    for (size_t i = 0; i < len; ++i) bytes[i] = static_cast<uint8_t>(value >> (8 * (len - 1 - i)));
    if (file_->patch(pos, bytes, len)) in_header = value;
  };
  patch(t.width_pos, t.width_len, t.max_width, t.header_width);
  patch(t.height_pos, t.height_len, t.max_height, t.header_height);
  if (file_->failed() && sticky_error_.is_ok()) sticky_error_ = io_status("write");
}

uint64_t WebmWriter::end_time_ns() const {
  uint64_t end = 0;
  for (const Track& t : tracks_)
    if (t.frames > 0) end = std::max(end, t.last_ts + t.last_frame_duration());
  return end;
}

void WebmWriter::repair_cues() {
  mkvmuxer::Cues* cues = segment_->GetCues();
  size_t next_bad = 0;
  const mkvmuxer::CuePoint* good = nullptr;
  for (int32_t i = 0; i < cues->cue_entries_size(); ++i) {
    mkvmuxer::CuePoint* cue = cues->GetCueByIndex(i);
    if (!cue) continue;
    const bool bad = next_bad < bad_cues_.size() && bad_cues_[next_bad] == i;
    if (bad) ++next_bad;
    if (!bad) {
      good = cue;
    } else if (good) {
      cue->set_time(good->time());
      cue->set_track(good->track());
      cue->set_cluster_pos(good->cluster_pos());
      cue->set_block_number(good->block_number());
    }
    // A bad cue before any good one marks the file's first video frame (a
    // stream that starts without a key frame): left as is.
  }
}

Status WebmWriter::finish() {
  if (finished_) return finish_status_;
  finished_ = true;
  if (!sticky_error_.is_ok()) {
    file_->close();
    finish_status_ = sticky_error_;
    return finish_status_;
  }
  if (total_frames_ == 0) {
    file_->close();
    std::remove(path_.c_str());
    finish_status_ = Status::error(ErrorCode::invalid_argument, "WebmWriter: no frame written to " + path_);
    return finish_status_;
  }
  repair_cues();
  const uint64_t end = end_time_ns();
  if (end > 0) segment_->set_duration(static_cast<double>(end) / static_cast<double>(kTimecodeScale));
  const bool ok = segment_->Finalize();
  if (ok)
    for (Track& t : tracks_)
      if (t.video) patch_size_fields(t);
  const bool closed = file_->close();
  if (!ok || !closed || file_->failed()) {
    finish_status_ = file_->failed() ? io_status("finish")
                                     : Status::error(ErrorCode::internal, "mkvmuxer: cannot finalize " + path_);
  }
  return finish_status_;
}

uint64_t WebmWriter::frames_written(uint64_t track) const {
  const Track* t = find_track(track);
  return t ? t->frames : 0;
}

uint64_t WebmWriter::bytes_written() const { return static_cast<uint64_t>(file_->size()); }

}  // namespace roomrec::media
