// make_thumbnails(): the video track read block by block with libwebm's
// mkvparser; compressed frames since the last key frame kept (one group of
// pictures at most); at each thumbnail time the group decoded up to the frame
// shown then (continuing where the previous thumbnail of the same group
// stopped), scaled with libyuv, written as JPEG with libjpeg(-turbo).
#include <roomrec/thumbnails.h>

#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <jpeglib.h>
#include <libyuv.h>
#include <mkvparser/mkvparser.h>
#include <mkvparser/mkvreader.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <memory>

#include "media/video_decoder.h"
#include "util/atomic_file.h"

namespace fs = std::filesystem;

namespace roomrec {
namespace {

Status invalid(std::string m) { return Status::error(ErrorCode::invalid_argument, std::move(m)); }

struct RgbImage {
  uint32_t width = 0, height = 0;
  std::vector<uint8_t> rgb;  // R, G, B per pixel, rows packed
};

// JPEG bytes of an RGB image; a libjpeg error gives an empty result (the
// classic setjmp pattern: libjpeg's default handler would exit()).
struct JpegError {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
};

std::vector<uint8_t> encode_jpeg(const RgbImage& img, int quality) {
  jpeg_compress_struct c{};
  JpegError err{};
  c.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = [](j_common_ptr cinfo) { std::longjmp(reinterpret_cast<JpegError*>(cinfo->err)->jump, 1); };
  unsigned char* out = nullptr;
  unsigned long size = 0;
  std::vector<uint8_t> bytes;
  if (setjmp(err.jump)) {
    jpeg_destroy_compress(&c);
    std::free(out);
    return {};
  }
  jpeg_create_compress(&c);
  jpeg_mem_dest(&c, &out, &size);
  c.image_width = img.width;
  c.image_height = img.height;
  c.input_components = 3;
  c.in_color_space = JCS_RGB;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, quality, TRUE);
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < c.image_height) {
    JSAMPROW row = const_cast<uint8_t*>(img.rgb.data() + static_cast<size_t>(c.next_scanline) * img.width * 3);
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  bytes.assign(out, out + size);
  jpeg_destroy_compress(&c);
  std::free(out);
  return bytes;
}

Status write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  return util::write_file_atomic(path, bytes.data(), bytes.size(), /*sync_dir=*/false);
}

std::string vtt_time(uint64_t ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02llu:%02llu:%02llu.%03llu", static_cast<unsigned long long>(ms / 3'600'000),
                static_cast<unsigned long long>(ms / 60'000 % 60), static_cast<unsigned long long>(ms / 1000 % 60),
                static_cast<unsigned long long>(ms % 1000));
  return buf;
}

struct Block {
  uint64_t time_ms;
  bool key;
  std::vector<uint8_t> data;
};

}  // namespace

Status validate(const ThumbnailOptions& o) {
  if (o.output_dir.empty()) return invalid("thumbnails.output_dir is required");
  if (o.interval_s < 1 || o.interval_s > 3600) return invalid("thumbnails.interval_s must be 1..3600");
  if (o.width < 16 || o.width > 1920 || o.width % 2) return invalid("thumbnails.width must be even, 16..1920");
  if (o.quality < 1 || o.quality > 100) return invalid("thumbnails.quality must be 1..100");
  if (o.columns < 1 || o.columns > 100) return invalid("thumbnails.columns must be 1..100");
  if (o.name.find('/') != std::string::npos) return invalid("thumbnails.name must be a file name, not a path");
  return Status::ok();
}

Result<ThumbnailsResult> make_thumbnails(const std::string& media_path, const ThumbnailOptions& opt) {
  if (Status s = validate(opt); !s) return s;
  mkvparser::MkvReader reader;
  if (reader.Open(media_path.c_str()) != 0) return Status::error(ErrorCode::not_found, "cannot open " + media_path);
  long long pos = 0;
  mkvparser::EBMLHeader ebml;
  if (ebml.Parse(&reader, pos) < 0) return Status::error(ErrorCode::corrupt, media_path + ": not a WebM/Matroska file");
  mkvparser::Segment* raw = nullptr;
  if (mkvparser::Segment::CreateInstance(&reader, pos, raw) != 0 || !raw)
    return Status::error(ErrorCode::corrupt, media_path + ": no segment");
  std::unique_ptr<mkvparser::Segment> segment(raw);
  if (segment->Load() < 0) return Status::error(ErrorCode::corrupt, media_path + ": cannot read the segment");

  const mkvparser::Tracks* tracks = segment->GetTracks();
  const mkvparser::VideoTrack* video = nullptr;
  for (unsigned long i = 0; tracks && i < tracks->GetTracksCount() && !video; ++i) {
    const mkvparser::Track* t = tracks->GetTrackByIndex(i);
    if (t && t->GetType() == mkvparser::Track::kVideo) video = static_cast<const mkvparser::VideoTrack*>(t);
  }
  if (!video) return Status::error(ErrorCode::not_found, media_path + ": no video track");
  const std::string codec_id = video->GetCodecId() ? video->GetCodecId() : "";
  std::string codec;
  if (codec_id == "V_VP8") codec = "vp8";
  else if (codec_id == "V_VP9") codec = "vp9";
  else if (codec_id == "V_MPEG4/ISO/AVC") codec = "h264";
  else return Status::error(ErrorCode::unsupported, media_path + ": video codec " + codec_id + " has no decoder here");
  size_t cp_size = 0;
  const unsigned char* cp = video->GetCodecPrivate(cp_size);
  auto decoder = media::VideoDecoder::create(codec, cp ? std::vector<uint8_t>(cp, cp + cp_size) : std::vector<uint8_t>{});
  if (!decoder) return decoder.status();

  ThumbnailsResult out;
  std::error_code ec;
  fs::create_directories(opt.output_dir, ec);
  if (ec) return Status::error(ErrorCode::io, "cannot create " + opt.output_dir + ": " + ec.message());
  const std::string name = opt.name.empty() ? fs::path(media_path).stem().string() : opt.name;
  const uint64_t interval_ms = static_cast<uint64_t>(opt.interval_s) * 1000;

  std::vector<Block> gop;   // compressed frames since the last key frame
  size_t decoded = 0;       // how many of them went through the decoder
  media::I420Frame picture;
  bool have_picture = false;
  uint64_t next_target = 0;
  std::vector<RgbImage> thumbs;
  std::vector<uint64_t> times;
  uint64_t last_time = 0;

  // The thumbnail at `target`: decode the group up to its last frame at or before it.
  auto shoot = [&](uint64_t target) -> Status {
    while (decoded < gop.size() && gop[decoded].time_ms <= target) {
      const Block& b = gop[decoded++];
      out.frames_decoded++;
      if ((*decoder)->decode(b.data.data(), b.data.size(), b.key, picture)) have_picture = true;
    }
    if (!have_picture) return Status::ok();  // nothing shown yet (a file starting without a key frame)
    if (thumbs.empty()) {
      out.width = opt.width;
      uint32_t h = static_cast<uint32_t>((static_cast<uint64_t>(picture.height) * opt.width + picture.width / 2) /
                                         std::max<uint32_t>(1, picture.width));
      out.height = std::max<uint32_t>(2, h & ~1u);
    }
    media::I420Frame small;
    small.resize(out.width, out.height);
    libyuv::I420Scale(picture.y.data(), static_cast<int>(picture.width), picture.u.data(),
                      static_cast<int>(picture.chroma_width()), picture.v.data(), static_cast<int>(picture.chroma_width()),
                      static_cast<int>(picture.width), static_cast<int>(picture.height), small.y.data(),
                      static_cast<int>(small.width), small.u.data(), static_cast<int>(small.chroma_width()),
                      small.v.data(), static_cast<int>(small.chroma_width()), static_cast<int>(small.width),
                      static_cast<int>(small.height), libyuv::kFilterBox);
    RgbImage img;
    img.width = out.width;
    img.height = out.height;
    img.rgb.resize(static_cast<size_t>(img.width) * img.height * 3);
    // libyuv's "RAW" is R, G, B in memory (its "RGB24" is B, G, R).
    libyuv::I420ToRAW(small.y.data(), static_cast<int>(small.width), small.u.data(),
                      static_cast<int>(small.chroma_width()), small.v.data(), static_cast<int>(small.chroma_width()),
                      img.rgb.data(), static_cast<int>(img.width * 3), static_cast<int>(img.width),
                      static_cast<int>(img.height));
    thumbs.push_back(std::move(img));
    times.push_back(target);
    return Status::ok();
  };

  for (const mkvparser::Cluster* cl = segment->GetFirst(); cl && !cl->EOS(); cl = segment->GetNext(cl)) {
    if (opt.cancel && opt.cancel->load()) return Status::error(ErrorCode::cancelled, "thumbnails cancelled");
    const mkvparser::BlockEntry* be = nullptr;
    if (cl->GetFirst(be) < 0) return Status::error(ErrorCode::corrupt, media_path + ": a damaged cluster");
    for (; be && !be->EOS(); cl->GetNext(be, be)) {
      const mkvparser::Block* b = be->GetBlock();
      if (!b || static_cast<unsigned long long>(b->GetTrackNumber()) != video->GetNumber()) continue;
      const long long t_ns = b->GetTime(cl);
      const uint64_t t = t_ns > 0 ? static_cast<uint64_t>(t_ns) / 1'000'000 : 0;
      // Every thumbnail time before this frame shows what came before it.
      while (next_target < t && !gop.empty()) {
        if (Status s = shoot(next_target); !s) return s;
        next_target += interval_ms;
      }
      for (int i = 0; i < b->GetFrameCount(); ++i) {
        const mkvparser::Block::Frame& f = b->GetFrame(i);
        Block blk{t, b->IsKey(), std::vector<uint8_t>(static_cast<size_t>(f.len))};
        if (f.Read(&reader, blk.data.data()) < 0) return Status::error(ErrorCode::corrupt, media_path + ": a frame cannot be read");
        if (blk.key) {
          gop.clear();
          decoded = 0;
        }
        gop.push_back(std::move(blk));
        out.frames_in_file++;
      }
      last_time = std::max(last_time, t);
    }
  }
  if (out.frames_in_file == 0) return Status::error(ErrorCode::not_found, media_path + ": the video track has no frame");
  const long long dur_ns = segment->GetInfo() ? segment->GetInfo()->GetDuration() : -1;
  out.duration_ms = dur_ns > 0 ? static_cast<uint64_t>(dur_ns) / 1'000'000 : last_time;
  // The times at and after the last frame, up to the end, show the last frame.
  while (next_target < std::max(out.duration_ms, last_time + 1)) {
    if (Status s = shoot(next_target); !s) return s;
    next_target += interval_ms;
  }
  if (thumbs.empty()) return Status::error(ErrorCode::corrupt, media_path + ": no frame could be decoded");

  // One JPEG each, then the sprite sheet and the VTT.
  const uint32_t cols = std::min<uint32_t>(opt.columns, static_cast<uint32_t>(thumbs.size()));
  const uint32_t rows = static_cast<uint32_t>((thumbs.size() + cols - 1) / cols);
  RgbImage sprite;
  sprite.width = cols * out.width;
  sprite.height = rows * out.height;
  sprite.rgb.assign(static_cast<size_t>(sprite.width) * sprite.height * 3, 0);
  char idx[16];
  for (size_t i = 0; i < thumbs.size(); ++i) {
    std::snprintf(idx, sizeof idx, "%04zu", i);
    Thumbnail th;
    th.time_ms = times[i];
    th.path = (fs::path(opt.output_dir) / (name + "-" + idx + ".jpg")).string();
    th.x = static_cast<uint32_t>(i % cols) * out.width;
    th.y = static_cast<uint32_t>(i / cols) * out.height;
    auto jpeg = encode_jpeg(thumbs[i], static_cast<int>(opt.quality));
    if (jpeg.empty()) return Status::error(ErrorCode::internal, "JPEG encoding failed");
    if (Status s = write_file(th.path, jpeg); !s) return s;
    for (uint32_t r = 0; r < out.height; ++r)
      std::memcpy(sprite.rgb.data() + ((static_cast<size_t>(th.y) + r) * sprite.width + th.x) * 3,
                  thumbs[i].rgb.data() + static_cast<size_t>(r) * out.width * 3, static_cast<size_t>(out.width) * 3);
    out.thumbnails.push_back(std::move(th));
  }
  const std::string sprite_name = name + "-sprite.jpg";
  out.sprite_path = (fs::path(opt.output_dir) / sprite_name).string();
  auto sprite_jpeg = encode_jpeg(sprite, static_cast<int>(opt.quality));
  if (sprite_jpeg.empty()) return Status::error(ErrorCode::internal, "JPEG encoding failed");
  if (Status s = write_file(out.sprite_path, sprite_jpeg); !s) return s;

  std::string vtt = "WEBVTT\n";
  for (size_t i = 0; i < out.thumbnails.size(); ++i) {
    const Thumbnail& th = out.thumbnails[i];
    uint64_t end = i + 1 < out.thumbnails.size() ? out.thumbnails[i + 1].time_ms
                                                 : std::max(out.duration_ms, th.time_ms + 1);
    vtt += "\n" + vtt_time(th.time_ms) + " --> " + vtt_time(end) + "\n" + sprite_name + "#xywh=" +
           std::to_string(th.x) + "," + std::to_string(th.y) + "," + std::to_string(out.width) + "," +
           std::to_string(out.height) + "\n";
  }
  out.vtt_path = (fs::path(opt.output_dir) / (name + ".vtt")).string();
  if (Status s = write_file(out.vtt_path, std::vector<uint8_t>(vtt.begin(), vtt.end())); !s) return s;
  return out;
}

}  // namespace roomrec
