// Thumbnails of a long composed-like video: roomrec's make_thumbnails()
// against `ffmpeg -vf fps=1/N,scale=160:-2` on the same WebM (the usual way),
// each in a child process (wall time, peak RSS), page cache warm.
//
//   bench_thumbnails [--minutes 60] [--interval 10] [--keyframe 10] [--dir DIR] [--keep]
//
// The WebM is 1280x720 15 fps VP8 with a key frame every --keyframe seconds
// (the composer's default is 10 s, its keyframe_interval_s): a still
// background and a moving block, written frame by frame (never all in
// memory). Prints one SUMMARY line. ffmpeg decodes every frame; roomrec the
// frames from the key frame before each thumbnail time (with key frames at
// the thumbnail times, one per thumbnail).
#include <roomrec/thumbnails.h>

#include <vpx/vp8cx.h>
#include <vpx/vpx_encoder.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "bench_util.h"
#include "media/webm_writer.h"

namespace fs = std::filesystem;
using namespace roomrec;
using namespace roomrec::bench;

namespace {

bool write_video(const std::string& path, int minutes, int keyframe_s) {
  const uint32_t w = 1280, h = 720, fps = 15;
  vpx_codec_iface_t* iface = vpx_codec_vp8_cx();
  vpx_codec_enc_cfg_t cfg;
  vpx_codec_enc_config_default(iface, &cfg, 0);
  cfg.g_w = w;
  cfg.g_h = h;
  cfg.g_timebase = {1, static_cast<int>(fps)};
  cfg.rc_target_bitrate = 1500;
  cfg.g_lag_in_frames = 0;
  cfg.g_threads = 2;
  cfg.kf_mode = VPX_KF_DISABLED;
  vpx_codec_ctx_t codec;
  if (vpx_codec_enc_init(&codec, iface, &cfg, 0) != VPX_CODEC_OK) return false;
  vpx_codec_control(&codec, VP8E_SET_CPUUSED, 16);
  vpx_image_t img;
  vpx_img_alloc(&img, VPX_IMG_FMT_I420, w, h, 1);
  auto writer = media::WebmWriter::create(path, media::Container::webm);
  if (!writer) return false;
  media::VideoTrackParams p;
  p.codec = "vp8";
  p.width = w;
  p.height = h;
  p.frame_rate = fps;
  uint64_t track = (*writer)->add_video_track(p).value();
  // One minute is encoded (keyframe_s divides 60 or not, the minute starts with a key frame) and
  // written `minutes` times with later timestamps: an hour of valid VP8 without an hour of encoding.
  const uint32_t frames = 60 * fps;
  std::vector<std::pair<std::vector<uint8_t>, bool>> minute;
  for (uint32_t i = 0; i < frames; ++i) {
    // A still gradient with a 160x160 block moving across it and changing shade each second: the
    // motion of a talking head in a tile, cheap enough to write an hour of it in minutes.
    if (i == 0) {
      for (uint32_t y = 0; y < h; ++y) std::memset(img.planes[0] + y * img.stride[0], static_cast<int>(y / 3), w);
      for (uint32_t y = 0; y < h / 2; ++y) {
        std::memset(img.planes[1] + y * img.stride[1], 120, w / 2);
        std::memset(img.planes[2] + y * img.stride[2], 136, w / 2);
      }
    }
    const uint32_t bx = (i * 8) % (w - 160), by = 200 + (i / fps % 3) * 100;
    const uint32_t px = i ? ((i - 1) * 8) % (w - 160) : bx, py = i ? 200 + ((i - 1) / fps % 3) * 100 : by;
    for (uint32_t y = py; y < py + 160; ++y) std::memset(img.planes[0] + y * img.stride[0] + px, static_cast<int>(y / 3), 160);
    for (uint32_t y = by; y < by + 160; ++y)
      std::memset(img.planes[0] + y * img.stride[0] + bx, static_cast<int>((60 + i / fps * 37) & 0xFF), 160);
    vpx_enc_frame_flags_t flags = (i % (static_cast<uint32_t>(keyframe_s) * fps) == 0) ? VPX_EFLAG_FORCE_KF : 0;
    if (vpx_codec_encode(&codec, &img, i, 1, flags, VPX_DL_REALTIME) != VPX_CODEC_OK) return false;
    vpx_codec_iter_t it = nullptr;
    while (const vpx_codec_cx_pkt_t* pkt = vpx_codec_get_cx_data(&codec, &it)) {
      if (pkt->kind != VPX_CODEC_CX_FRAME_PKT) continue;
      auto* b = static_cast<const uint8_t*>(pkt->data.frame.buf);
      minute.emplace_back(std::vector<uint8_t>(b, b + pkt->data.frame.sz), (pkt->data.frame.flags & VPX_FRAME_IS_KEY) != 0);
    }
  }
  vpx_img_free(&img);
  vpx_codec_destroy(&codec);
  if (minute.size() != frames || !minute.front().second) return false;
  for (uint64_t m = 0; m < static_cast<uint64_t>(minutes); ++m)
    for (uint64_t i = 0; i < frames; ++i)
      if (!(*writer)->write_frame(track, minute[i].first.data(), minute[i].first.size(),
                                  (m * frames + i) * 1'000'000'000ull / fps, minute[i].second))
        return false;
  return (*writer)->finish().is_ok();
}

}  // namespace

int main(int argc, char** argv) {
  int minutes = 60, interval = 10, keyframe = 10;
  std::string dir = (fs::temp_directory_path() / "roomrec-bench-thumbnails").string();
  bool keep = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--minutes") && i + 1 < argc) minutes = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--interval") && i + 1 < argc) interval = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--keyframe") && i + 1 < argc) keyframe = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--dir") && i + 1 < argc) dir = argv[++i];
    else if (!std::strcmp(argv[i], "--keep")) keep = true;
    else {
      std::fprintf(stderr, "usage: bench_thumbnails [--minutes 60] [--interval 10] [--keyframe 10] [--dir DIR] [--keep]\n");
      return 2;
    }
  }
  if (minutes < 1 || interval < 1 || keyframe < 1) return 2;
  fs::create_directories(dir);
  const std::string video = dir + "/room-" + std::to_string(minutes) + "min-kf" + std::to_string(keyframe) + ".webm";
  if (!fs::exists(video)) {
    std::printf("writing %d minutes of 720p VP8 (a key frame every %d s)...\n", minutes, keyframe);
    if (!write_video(video, minutes, keyframe)) {
      std::fprintf(stderr, "cannot write %s\n", video.c_str());
      return 1;
    }
  }
  std::printf("%s: %.1f MB\n", video.c_str(), double(fs::file_size(video)) / 1e6);
  // Warm the page cache for both.
  std::system(("cat '" + video + "' > /dev/null").c_str());

  fs::remove_all(dir + "/ours");
  fs::remove_all(dir + "/ffmpeg");
  fs::create_directories(dir + "/ffmpeg");
  uint64_t decoded = 0, in_file = 0, thumbs = 0;
  int pipefd[2];
  if (::pipe(pipefd) != 0) return 1;
  RunFigures ours = in_child([&] {
    ThumbnailOptions o;
    o.output_dir = dir + "/ours";
    o.interval_s = static_cast<uint32_t>(interval);
    auto r = make_thumbnails(video, o);
    if (!r) {
      std::fprintf(stderr, "make_thumbnails: %s\n", r.status().to_string().c_str());
      return 1;
    }
    uint64_t figs[3] = {r->frames_decoded, r->frames_in_file, r->thumbnails.size()};
    return ::write(pipefd[1], figs, sizeof figs) == sizeof figs ? 0 : 1;
  });
  uint64_t figs[3] = {};
  if (ours.status == 0 && ::read(pipefd[0], figs, sizeof figs) == sizeof figs) {
    decoded = figs[0];
    in_file = figs[1];
    thumbs = figs[2];
  }
  ::close(pipefd[0]);
  ::close(pipefd[1]);
  const std::string cmd = "ffmpeg -v error -y -threads 1 -i '" + video + "' -vf fps=1/" + std::to_string(interval) +
                          ",scale=160:-2 -q:v 4 '" + dir + "/ffmpeg/%04d.jpg'";
  RunFigures ref = in_child([&] { return std::system(cmd.c_str()) == 0 ? 0 : 1; });
  size_t ref_count = 0;
  for (const auto& e : fs::directory_iterator(dir + "/ffmpeg")) ref_count += e.path().extension() == ".jpg";
  std::printf("roomrec:  %.2f s, %llu thumbnails, decoded %llu of %llu frames, peak RSS %.0f MiB\n", ours.seconds,
              static_cast<unsigned long long>(thumbs), static_cast<unsigned long long>(decoded),
              static_cast<unsigned long long>(in_file), ours.peak_rss_kb / 1024.0);
  std::printf("ffmpeg:   %.2f s, %zu thumbnails (fps=1/%d, one thread per side), peak RSS %.0f MiB\n", ref.seconds,
              ref_count, interval, ref.peak_rss_kb / 1024.0);
  const bool ok = ours.status == 0 && ref.status == 0 && thumbs > 0;
  std::printf("SUMMARY\tthumbnails every %d s, %d min 720p VP8 (key frame every %d s)\t%.2f s\t%.2f s (ffmpeg fps=1/%d)\t"
              "%.1fx\t%.0f MiB\t%.0f MiB\n",
              interval, minutes, keyframe, ours.seconds, ref.seconds, interval, ref.seconds / ours.seconds,
              ours.peak_rss_kb / 1024.0, ref.peak_rss_kb / 1024.0);
  if (!keep) fs::remove_all(dir);
  return ok ? 0 : 1;
}
