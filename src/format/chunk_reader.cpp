#include <roomrec/chunk_reader.h>

#include <algorithm>
#include <cstring>

#include "format/row_codec.h"
#include "util/crc32c.h"
#include "util/utf8.h"

namespace roomrec {


namespace {

constexpr size_t kReadBlock = 64 * 1024;

uint32_t get_u32le(const uint8_t* p) {
  return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}

// The common rows (rtp, rtcp) decoded straight from the wire: fields 1 (ts),
// 2 (track_id) and 7/8 (bytes) only. Anything else (another field, a wire
// type out of place, a truncated varint) returns false and the generated
// parser takes the row, so this only ever speeds up, never changes, a read.
bool read_varint(const uint8_t*& p, const uint8_t* end, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64 && p < end; shift += 7) {
    uint8_t b = *p++;
    v |= uint64_t{b & 0x7Fu} << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}

bool fast_bytes_row(const uint8_t* p, size_t n, Row& row) {
  const uint8_t* end = p + n;
  uint64_t ts = 0, track = 0;
  const uint8_t* bytes = nullptr;
  uint64_t len = 0;
  uint64_t kind = 0;
  while (p < end) {
    uint64_t tag;
    if (!read_varint(p, end, tag)) return false;
    switch (tag) {
      case (1 << 3) | 0:
        if (!read_varint(p, end, ts)) return false;
        break;
      case (2 << 3) | 0:
        if (!read_varint(p, end, track) || track > UINT32_MAX) return false;
        break;
      case (7 << 3) | 2:
      case (8 << 3) | 2:
        if (kind || !read_varint(p, end, len) || len > static_cast<uint64_t>(end - p)) return false;
        kind = tag >> 3;
        bytes = p;
        p += len;
        break;
      default:
        return false;
    }
  }
  if (!kind) return false;
  row.ts = ts;
  row.track_id = static_cast<uint32_t>(track);
  row.kind = kind == 7 ? RowKind::rtp : RowKind::rtcp;
  row.payload.assign(bytes, bytes + len);
  return true;
}

void assign(std::vector<uint8_t>& out, const std::string& s) {
  out.assign(reinterpret_cast<const uint8_t*>(s.data()), reinterpret_cast<const uint8_t*>(s.data()) + s.size());
}

}  // namespace

struct ROOMREC_HIDDEN ChunkReader::Impl {
  explicit Impl(std::unique_ptr<ByteSource> source);
  enum class Frame { none, header, row };
  struct Parsed;
  bool fill(size_t need);
  Frame next_frame(Row* row);
  void skip_damaged(size_t n);
  const ChunkHeader* read_header();
  const ChunkHeader* header() const { return stats_.header_ok ? &header_ : nullptr; }
  bool next(Row& row);

  std::unique_ptr<ByteSource> source_;
  std::vector<uint8_t> buf_;
  size_t pos_ = 0, end_ = 0;
  bool eof_ = false;
  bool preamble_done_ = false;
  bool in_damage_ = false;
  // Bytes the CRC may still be computed over for candidate frames that turn
  // out damaged: 16 MiB, plus 16 for each byte read past, so resynchronisation
  // costs at most a fixed multiple of the chunk's size (issue 21 item 7).
  uint64_t crc_budget_ = 16u << 20;
  bool have_pending_ = false;
  Row pending_;
  ChunkHeader header_;
  ChunkReadStats stats_;
  std::unique_ptr<Parsed> parsed_;
};

struct ChunkReader::Impl::Parsed {
  record::Row row;
  record::ChunkHeader header;
};

ChunkReader::Impl::Impl(std::unique_ptr<ByteSource> source)
    : source_(std::move(source)), parsed_(std::make_unique<Parsed>()) {}

ChunkReader::ChunkReader(std::unique_ptr<ByteSource> source) : impl_(std::make_unique<Impl>(std::move(source))) {}

ChunkReader::~ChunkReader() = default;

const ChunkHeader* ChunkReader::read_header() { return impl_->read_header(); }
const ChunkHeader* ChunkReader::header() const { return impl_->header(); }
bool ChunkReader::next(Row& row) { return impl_->next(row); }
const ChunkReadStats& ChunkReader::stats() const { return impl_->stats_; }

bool ChunkReader::Impl::fill(size_t need) {
  while (end_ - pos_ < need) {
    if (eof_) return false;
    if (pos_ > 0 && (buf_.size() - end_ < kReadBlock || pos_ >= buf_.size() / 2)) {
      std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_);
      end_ -= pos_;
      pos_ = 0;
    }
    size_t want = std::max(need - (end_ - pos_), kReadBlock);
    if (buf_.size() - end_ < want) buf_.resize(end_ + want);
    auto got = source_ ? source_->read(buf_.data() + end_, buf_.size() - end_) : Result<size_t>(size_t{0});
    if (!got) {
      stats_.source_error = got.status();
      eof_ = true;
      return false;
    }
    if (*got == 0) {
      eof_ = true;
      return false;
    }
    end_ += *got;
  }
  return true;
}

// Resynchronisation cost bound: checking a candidate frame costs a CRC over
// its claimed length. Candidates that fail are paid from crc_budget_ (16 MiB
// to start, plus kCrcBudgetPerByte for each byte skipped or read as a good
// frame), and a candidate longer than what is left is skipped unchecked: CRC
// work on damage is at most 16 MiB + 16x the chunk's size, instead of
// (markers x claimed length). Intact frames cost their own length, once, and
// are never refused while the budget holds their length.
constexpr uint64_t kCrcBudgetPerByte = 16;

void ChunkReader::Impl::skip_damaged(size_t n) {
  if (!in_damage_) {
    ++stats_.bad_regions;
    in_damage_ = true;
  }
  stats_.skipped_bytes += n;
  crc_budget_ += n * kCrcBudgetPerByte;
  pos_ += n;
}

ChunkReader::Impl::Frame ChunkReader::Impl::next_frame(Row* row) {
  if (!preamble_done_) {
    preamble_done_ = true;
    if (fill(format::kPreambleBytes) && std::memcmp(buf_.data() + pos_, format::kMagic, sizeof format::kMagic) == 0) {
      stats_.format_version = get_u32le(buf_.data() + pos_ + sizeof format::kMagic);
      stats_.magic_ok = stats_.format_version == format::kFormatVersion;
      pos_ += format::kPreambleBytes;
    }
    // Otherwise the preamble is damaged: the frame scan below skips it.
  }
  for (;;) {
    if (!fill(1)) return Frame::none;
    if (buf_[pos_] != format::kFrameMarker) {
      const void* m = std::memchr(buf_.data() + pos_, format::kFrameMarker, end_ - pos_);
      size_t n = m ? static_cast<size_t>(static_cast<const uint8_t*>(m) - (buf_.data() + pos_)) : end_ - pos_;
      skip_damaged(n);
      continue;
    }
    if (!fill(format::kFramePrefixBytes)) {
      skip_damaged(end_ - pos_);  // a truncated tail
      return Frame::none;
    }
    const uint8_t type = buf_[pos_ + 1];
    const size_t len = get_u32le(buf_.data() + pos_ + 2);
    if ((type != format::kFrameHeader && type != format::kFrameRow) || len > format::kMaxFrameBytes ||
        len + 5 > crc_budget_ || !fill(format::kFrameOverhead + len)) {
      skip_damaged(1);
      continue;
    }
    const uint8_t* f = buf_.data() + pos_;
    if (util::crc32c(f + 1, 5 + len) != get_u32le(f + format::kFramePrefixBytes + len)) {
      crc_budget_ -= len + 5;  // <= crc_budget_, checked above
      stats_.crc_bytes_failed += len + 5;
      skip_damaged(1);
      continue;
    }
    const uint8_t* msg = f + format::kFramePrefixBytes;
    const int msg_len = static_cast<int>(len);
    if (type == format::kFrameHeader) {
      auto& h = parsed_->header;
      if (!h.ParseFromArray(msg, msg_len)) {
        crc_budget_ -= len + 5;  // a matching CRC over bytes that are no frame: paid like a mismatch
        stats_.crc_bytes_failed += len + 5;
        skip_damaged(1);
        continue;
      }
      in_damage_ = false;
      pos_ += format::kFrameOverhead + len;
      crc_budget_ += (format::kFrameOverhead + len) * kCrcBudgetPerByte;
      if (stats_.header_ok) continue;  // a second header: keep the first
      format::from_proto(h, header_);
      stats_.header_ok = true;
      return Frame::header;
    }
    if (fast_bytes_row(msg, len, *row)) {
      in_damage_ = false;
      pos_ += format::kFrameOverhead + len;
      crc_budget_ += (format::kFrameOverhead + len) * kCrcBudgetPerByte;
      ++stats_.good_rows;
      return Frame::row;
    }
    auto& r = parsed_->row;
    if (!r.ParseFromArray(msg, msg_len)) {
      crc_budget_ -= len + 5;
      stats_.crc_bytes_failed += len + 5;
      skip_damaged(1);
      continue;
    }
    in_damage_ = false;
    pos_ += format::kFrameOverhead + len;
    crc_budget_ += (format::kFrameOverhead + len) * kCrcBudgetPerByte;
    row->ts = r.ts();
    row->track_id = r.track_id();
    switch (r.kind_case()) {
      case record::Row::kJoin: row->kind = RowKind::join; break;
      case record::Row::kLeave: row->kind = RowKind::leave; break;
      case record::Row::kTrackStarted:
        row->kind = RowKind::track_started;
        format::from_proto(r.track_started(), row->track);
        break;
      case record::Row::kTrackStopped: row->kind = RowKind::track_stopped; break;
      case record::Row::kPause: row->kind = RowKind::pause; break;
      case record::Row::kResume: row->kind = RowKind::resume; break;
      case record::Row::kRtp:
        row->kind = RowKind::rtp;
        assign(row->payload, r.rtp());
        break;
      case record::Row::kRtcp:
        row->kind = RowKind::rtcp;
        assign(row->payload, r.rtcp());
        break;
      case record::Row::kData:
        row->kind = RowKind::data;
        row->label = util::utf8_replace_invalid(r.data().label());  // valid UTF-8 from here on
        row->binary = r.data().binary();
        assign(row->payload, r.data().bytes());
        break;
      case record::Row::kTrailer:
        stats_.trailer_seen = true;
        stats_.trailer_row_count = r.trailer().row_count();
        stats_.trailer_last_ts = r.trailer().last_ts();
        continue;
      case record::Row::KIND_NOT_SET:
        continue;  // a row kind from a newer writer: intact, not ours to read
    }
    ++stats_.good_rows;
    return Frame::row;
  }
}

const ChunkHeader* ChunkReader::Impl::read_header() {
  if (stats_.header_ok) return &header_;
  if (have_pending_ || preamble_done_) return nullptr;  // rows already read: the header was not first
  Frame f = next_frame(&pending_);
  if (f == Frame::row) have_pending_ = true;
  return header();
}

bool ChunkReader::Impl::next(Row& row) {
  if (have_pending_) {
    have_pending_ = false;
    row = std::move(pending_);
    return true;
  }
  for (;;) {
    Frame f = next_frame(&row);
    if (f == Frame::row) return true;
    if (f == Frame::none) return false;
  }
}

}  // namespace roomrec
