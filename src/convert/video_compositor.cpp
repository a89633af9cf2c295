#include "util/text.h"
#include "convert/video_compositor.h"

#include <libyuv.h>
#include <vpx/vp8cx.h>
#include <vpx/vpx_encoder.h>

#include "media/h264_encoder.h"

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <tuple>

namespace roomrec::convert {

namespace {

constexpr uint8_t kBlackY = 16, kBlackUV = 128;
constexpr uint32_t kMaxDimension = 16384;

uint32_t even_down(uint64_t v) { return static_cast<uint32_t>(v & ~uint64_t{1}); }

void grid_shape(uint32_t n, uint32_t& cols, uint32_t& rows) {
  if (n == 0) {
    cols = rows = 0;
    return;
  }
  cols = 1;
  while (cols * cols < n) ++cols;
  rows = (n + cols - 1) / cols;
}

}  // namespace

// ---- encoder ------------------------------------------------------------------

// Owns the libvpx context. Synchronous: encode() and take() on the caller's
// thread. Threaded: jobs go to a queue served by one thread, each naming the
// canvas it reads (busy until encoded); packets and the first error come back
// under the lock.
struct VideoCompositor::Encoder {
  struct Job {
    size_t canvas = 0;
    bool flush = false;
    vpx_codec_pts_t pts = 0;
    unsigned long duration = 1;
  };

  vpx_codec_ctx_t ctx{};
  std::vector<vpx_image_t> imgs;  // one per canvas (wraps its I420 bytes, for H264 too)
  bool ready = false;
  std::unique_ptr<media::H264Encoder> h264;  // codec "h264": OpenH264 instead of libvpx

  std::thread thread;
  std::mutex mu;
  std::condition_variable cv;          // jobs queued, or stop
  std::condition_variable done_cv;     // a job done
  std::deque<Job> jobs;                // the front one is being encoded
  std::vector<bool> busy;              // per canvas: queued or being encoded
  std::vector<EncodedVideo> packets;   // encoded, not yet collected
  Status status;                       // the first failure
  bool stop = false;

  ~Encoder() {
    stop_thread();
    if (ready) vpx_codec_destroy(&ctx);
  }
  std::string error(const char* what) {
    std::string m = std::string(what) + ": " + vpx_codec_error(&ctx);
    if (const char* d = vpx_codec_error_detail(&ctx)) m += std::string(" (") + d + ")";
    return m;
  }

  // Encodes one job and appends its packets (pts relative to the start).
  Status run(const Job& j, std::vector<EncodedVideo>& out) {
    if (h264) {
      if (j.flush) return Status::ok();  // no frames held back
      EncodedVideo e;
      Status s = h264->encode(imgs[j.canvas].planes[VPX_PLANE_Y], static_cast<uint64_t>(j.pts), e.data, e.keyframe);
      if (!s) return s;
      if (e.data.empty()) return Status::ok();
      e.pts_ms = static_cast<uint64_t>(std::max<vpx_codec_pts_t>(0, j.pts));
      out.push_back(std::move(e));
      return Status::ok();
    }
    vpx_codec_err_t rc = j.flush ? vpx_codec_encode(&ctx, nullptr, -1, 1, 0, VPX_DL_REALTIME)
                                 : vpx_codec_encode(&ctx, &imgs[j.canvas], j.pts, j.duration, 0, VPX_DL_REALTIME);
    if (rc != VPX_CODEC_OK)
      return Status::error(ErrorCode::internal,
                           "video compositor: " + error(j.flush ? "flushing the encoder failed" : "encoding failed"));
    vpx_codec_iter_t it = nullptr;
    while (const vpx_codec_cx_pkt_t* pkt = vpx_codec_get_cx_data(&ctx, &it)) {
      if (pkt->kind != VPX_CODEC_CX_FRAME_PKT) continue;
      EncodedVideo e;
      auto* p = static_cast<const uint8_t*>(pkt->data.frame.buf);
      e.data.assign(p, p + pkt->data.frame.sz);
      e.pts_ms = static_cast<uint64_t>(std::max<vpx_codec_pts_t>(0, pkt->data.frame.pts));
      e.keyframe = (pkt->data.frame.flags & VPX_FRAME_IS_KEY) != 0;
      out.push_back(std::move(e));
    }
    return Status::ok();
  }

  void start_thread() {
    thread = std::thread([this] { serve(); });
  }

  void serve() {
    std::vector<EncodedVideo> local;
    std::unique_lock<std::mutex> lk(mu);
    for (;;) {
      cv.wait(lk, [&] { return stop || !jobs.empty(); });
      if (stop) return;  // finish() waits for the jobs first; otherwise their packets are not wanted
      Job j = jobs.front();
      bool failed = !status.is_ok();
      lk.unlock();
      Status st;
      try {  // this thread must not end the process: the compose fails instead
        st = failed ? Status::ok() : run(j, local);  // after a failure, jobs only free their canvas
      } catch (const std::exception& e) {
        st = Status::error(ErrorCode::internal, std::string("video encoder: ") + e.what());
      } catch (...) {
        st = Status::error(ErrorCode::internal, "video encoder: unknown exception");
      }
      lk.lock();
      if (!st && status.is_ok()) status = st;
      for (auto& e : local) packets.push_back(std::move(e));
      local.clear();
      if (!j.flush) busy[j.canvas] = false;
      jobs.pop_front();
      done_cv.notify_all();
    }
  }

  // Ends the thread once it is done with the job at hand; later jobs are dropped.
  void stop_thread() {
    if (!thread.joinable()) return;
    {
      std::lock_guard<std::mutex> lk(mu);
      stop = true;
    }
    cv.notify_all();
    thread.join();
  }
};

VideoCompositor::VideoCompositor(CompositorOptions o) : opt_(std::move(o)) {}

VideoCompositor::~VideoCompositor() {
  enc_.reset();  // its thread may still read a canvas
}

Status VideoCompositor::init() {
  if (initialized_) return init_status_;
  initialized_ = true;
  auto fail = [&](ErrorCode code, std::string m) {
    init_status_ = Status::error(code, "video compositor: " + m);
    enc_.reset();
    return init_status_;
  };
  std::string codec = util::ascii_lowercase(opt_.codec);
  if (codec != "vp8" && codec != "vp9" && codec != "h264")
    return fail(ErrorCode::unsupported, "output codec must be vp8, vp9 or h264, not \"" + opt_.codec + "\"");
  if (opt_.width < 2 || opt_.height < 2 || opt_.width > kMaxDimension || opt_.height > kMaxDimension)
    return fail(ErrorCode::invalid_argument, "output size " + std::to_string(opt_.width) + "x" +
                                                 std::to_string(opt_.height) + " is out of range (2..16384)");
  if (opt_.fps == 0 || opt_.fps > 240)
    return fail(ErrorCode::invalid_argument, "frame rate " + std::to_string(opt_.fps) + " is out of range (1..240)");
  if (opt_.bitrate < 1000) return fail(ErrorCode::invalid_argument, "bitrate must be at least 1000 bit/s");
  if (opt_.names) {
    auto font = media::LabelFont::open(opt_.font_path);
    if (!font) return fail(font.status().code(), font.status().message());
    font_ = std::move(font.value());
  }
  if (codec == "h264") {
    media::H264EncoderOptions ho;
    ho.width = opt_.width;
    ho.height = opt_.height;
    ho.fps = opt_.fps;
    ho.bitrate = opt_.bitrate;
    ho.keyframe_interval_frames = std::max(1u, opt_.keyframe_interval_frames);
    ho.threads = std::max(1u, opt_.threads);
    auto h = media::H264Encoder::create(ho);
    if (!h) return fail(h.status().code(), h.status().message());
    enc_ = std::make_unique<Encoder>();
    enc_->h264 = std::move(h.value());
  } else if (Status s = init_vpx(codec); !s) {
    return fail(s.code(), s.message());
  }
  return init_canvases();
}

Status VideoCompositor::init_vpx(const std::string& codec) {
  auto fail = [&](ErrorCode code, std::string m) {
    enc_.reset();
    return Status::error(code, m);
  };
  const bool vp9 = codec == "vp9";
  vpx_codec_iface_t* iface = vp9 ? vpx_codec_vp9_cx() : vpx_codec_vp8_cx();

  vpx_codec_enc_cfg_t cfg;
  if (vpx_codec_enc_config_default(iface, &cfg, 0) != VPX_CODEC_OK)
    return fail(ErrorCode::internal, "libvpx has no default configuration for " + codec);
  cfg.g_w = opt_.width;
  cfg.g_h = opt_.height;
  cfg.g_timebase = {1, 1000};  // pts in ms from start
  cfg.g_threads = std::max(1u, opt_.threads);
  cfg.g_lag_in_frames = 0;
  cfg.g_error_resilient = 0;
  cfg.g_pass = VPX_RC_ONE_PASS;
  cfg.rc_end_usage = VPX_CBR;
  cfg.rc_target_bitrate = opt_.bitrate / 1000;  // libvpx: kbit/s
  cfg.rc_dropframe_thresh = 0;  // every output time gets a frame
  cfg.rc_resize_allowed = 0;
  cfg.rc_min_quantizer = 2;
  cfg.rc_max_quantizer = vp9 ? 52 : 56;
  cfg.rc_undershoot_pct = 50;
  cfg.rc_overshoot_pct = 50;
  cfg.rc_buf_initial_sz = 500;
  cfg.rc_buf_optimal_sz = 600;
  cfg.rc_buf_sz = 1000;
  cfg.kf_mode = VPX_KF_AUTO;
  cfg.kf_min_dist = 0;
  cfg.kf_max_dist = std::max(1u, opt_.keyframe_interval_frames);

  enc_ = std::make_unique<Encoder>();
  if (vpx_codec_enc_init(&enc_->ctx, iface, &cfg, 0) != VPX_CODEC_OK)
    return fail(ErrorCode::internal, enc_->error(("cannot start the " + codec + " encoder").c_str()));
  enc_->ready = true;
  int cpu = vp9 ? std::clamp(opt_.cpu_used, -9, 9) : std::clamp(opt_.cpu_used, -16, 16);
  vpx_codec_control(&enc_->ctx, VP8E_SET_CPUUSED, cpu);
  if (vp9) {
    vpx_codec_control(&enc_->ctx, VP9E_SET_ROW_MT, 1);
    int tiles = opt_.threads >= 4 ? 2 : opt_.threads >= 2 ? 1 : 0;  // log2
    vpx_codec_control(&enc_->ctx, VP9E_SET_TILE_COLUMNS, tiles);
    vpx_codec_control(&enc_->ctx, VP9E_SET_AQ_MODE, 3);
  } else {
    vpx_codec_control(&enc_->ctx, VP8E_SET_NOISE_SENSITIVITY, 0);
  }
  return Status::ok();
}

Status VideoCompositor::init_canvases() {

  // The canvases: tightly packed I420, each wrapped by an encoder image. With
  // an encoder thread, three: one being encoded, one queued, one being drawn.
  const size_t w = opt_.width, h = opt_.height, cw = (w + 1) / 2, ch = (h + 1) / 2;
  canvases_.resize(opt_.encode_thread ? 3 : 1);
  enc_->imgs.resize(canvases_.size());
  enc_->busy.assign(canvases_.size(), false);
  for (size_t i = 0; i < canvases_.size(); ++i) {
    auto& canvas = canvases_[i].data;
    canvas.assign(w * h + 2 * cw * ch, 0);
    std::fill_n(canvas.begin(), w * h, kBlackY);
    std::fill(canvas.begin() + static_cast<ptrdiff_t>(w * h), canvas.end(), kBlackUV);
    vpx_image_t& img = enc_->imgs[i];
    vpx_img_wrap(&img, VPX_IMG_FMT_I420, opt_.width, opt_.height, 1, canvas.data());
    img.planes[VPX_PLANE_Y] = canvas.data();
    img.planes[VPX_PLANE_U] = canvas.data() + w * h;
    img.planes[VPX_PLANE_V] = canvas.data() + w * h + cw * ch;
    img.stride[VPX_PLANE_Y] = static_cast<int>(w);
    img.stride[VPX_PLANE_U] = img.stride[VPX_PLANE_V] = static_cast<int>(cw);
  }
  if (opt_.encode_thread) enc_->start_thread();
  init_status_ = Status::ok();
  return init_status_;
}

std::vector<uint8_t> VideoCompositor::codec_private() const {
  return enc_ && enc_->h264 ? enc_->h264->avcc() : std::vector<uint8_t>{};
}

// ---- sources ------------------------------------------------------------------

uint32_t VideoCompositor::add_source(std::string label, std::string peer, bool screen) {
  sources_.emplace_back();
  sources_.back().label = std::move(label);
  sources_.back().peer = std::move(peer);
  sources_.back().screen = screen;
  return static_cast<uint32_t>(sources_.size() - 1);
}

void VideoCompositor::set_start(uint64_t start_ms) {
  if (next_k_ == 0 && !finished_) {
    start_ = start_ms;
    start_set_ = true;
  }
}

uint64_t VideoCompositor::output_time(uint64_t k) const {
  const uint64_t fps = std::max(1u, opt_.fps);
  return start_ + (k * 1000 + fps / 2) / fps;
}

// The index of the first output frame at or after pts (the frame that would
// first show a picture with this pts).
uint64_t VideoCompositor::slot(uint64_t pts) const {
  if (pts <= start_) return 0;
  const uint64_t fps = std::max(1u, opt_.fps);
  uint64_t k = (pts - start_) * fps / 1000;
  while (output_time(k) < pts) ++k;
  while (k > 0 && output_time(k - 1) >= pts) --k;
  return k;
}

media::I420Frame VideoCompositor::take_spare() {
  if (spare_.empty()) return {};
  media::I420Frame f = std::move(spare_.back());
  spare_.pop_back();
  return f;
}

void VideoCompositor::recycle(media::I420Frame&& f) {
  if (spare_.size() < 16) spare_.push_back(std::move(f));
}

void VideoCompositor::push(uint32_t source, const media::I420Frame& pic, uint64_t pts_ms, int rotation) {
  if (source >= sources_.size() || finished_) return;
  Source& s = sources_[source];
  if (s.ended) return;
  if (!pic.valid() || pic.width > kMaxDimension || pic.height > kMaxDimension) {
    ++stats_.decode_errors;
    return;
  }
  if (s.have_last && pts_ms < s.last_pushed) return;  // out of order: the newer picture wins
  int r = ((rotation % 360) + 360) % 360;
  r = ((r + 45) / 90 * 90) % 360;

  Picture p;
  p.pts = pts_ms;
  p.img = take_spare();
  if (r == 0) {
    p.img.width = pic.width;
    p.img.height = pic.height;
    p.img.y.assign(pic.y.begin(), pic.y.end());
    p.img.u.assign(pic.u.begin(), pic.u.end());
    p.img.v.assign(pic.v.begin(), pic.v.end());
  } else {
    bool swap = r == 90 || r == 270;
    p.img.resize(swap ? pic.height : pic.width, swap ? pic.width : pic.height);
    const int cw = static_cast<int>(pic.chroma_width());
    const int ocw = static_cast<int>(p.img.chroma_width());
    libyuv::I420Rotate(pic.y.data(), static_cast<int>(pic.width), pic.u.data(), cw, pic.v.data(), cw,
                       p.img.y.data(), static_cast<int>(p.img.width), p.img.u.data(), ocw, p.img.v.data(), ocw,
                       static_cast<int>(pic.width), static_cast<int>(pic.height),
                       static_cast<libyuv::RotationMode>(r));
  }

  // A queued picture that no output frame would show before this one is dropped.
  if (!s.queue.empty() && start_set_) {
    uint64_t a = std::max(slot(s.queue.back().pts), next_k_), b = std::max(slot(pts_ms), next_k_);
    if (a == b) {
      recycle(std::move(s.queue.back().img));
      s.queue.pop_back();
    }
  }
  s.queue.push_back(std::move(p));
  s.have_last = true;
  s.last_pushed = pts_ms;
}

void VideoCompositor::end_source(uint32_t source) {
  if (source >= sources_.size()) return;
  Source& s = sources_[source];
  if (s.ended) return;
  s.ended = true;
  s.end_ms = s.have_last ? s.last_pushed : 0;
  if (!s.have_last) s.queue.clear();
}

void VideoCompositor::advance_sources(uint64_t t) {
  for (auto& s : sources_) {
    while (!s.queue.empty() && s.queue.front().pts <= t) {
      if (s.has_current) recycle(std::move(s.current.img));
      s.current = std::move(s.queue.front());
      s.queue.pop_front();
      s.has_current = true;
      ++s.generation;
    }
  }
}

bool VideoCompositor::live(const Source& s, uint64_t t) const {
  if (!s.has_current) return false;
  if (s.ended && t > s.end_ms) return false;
  return t - s.current.pts <= opt_.hold_ms;  // current.pts <= t always
}

void VideoCompositor::assign_cells(uint64_t t) {
  uint32_t n = 0;
  for (auto& s : sources_) {
    if (live(s, t)) {
      ++n;
    } else {
      s.cell = -1;
      if (s.scaled_generation != UINT64_MAX) {  // not shown: drop its scaled copy
        s.scaled = {};
        s.scaled_generation = UINT64_MAX;
      }
      if (s.has_current) {  // ended, or held too long: that picture is never shown again
        recycle(std::move(s.current.img));
        s.current = {};
        s.has_current = false;
      }
    }
  }
  stats_.live_max = std::max<uint64_t>(stats_.live_max, n);
  if (opt_.speaker_border || !opt_.plan.grid_only()) speaker_ = active_speaker(t);
  const Scene* scene = nullptr;
  if (!opt_.plan.changes.empty()) scene = &opt_.plan.at(t - start_);
  if (!scene || scene->kind == SceneKind::grid)
    assign_grid(t, n);
  else
    assign_regions(t, *scene);
  int border = opt_.speaker_border ? speaker_ : -1;
  if (border >= 0 && sources_[static_cast<size_t>(border)].cell < 0) border = -1;
  if (border != border_) {
    border_ = border;
    ++layout_epoch_;
  }
}

void VideoCompositor::assign_grid(uint64_t t, uint32_t n) {
  uint32_t cols = 0, rows = 0;
  grid_shape(n, cols, rows);
  if (cols != grid_cols_ || rows != grid_rows_ || !grid_mode_) {
    grid_mode_ = true;
    grid_cols_ = cols;
    grid_rows_ = rows;
    cells_ = layout(n, opt_.width, opt_.height);
    ++layout_epoch_;
    int next = 0;
    for (auto& s : sources_) s.cell = live(s, t) ? next++ : -1;  // in order of arrival
    return;
  }
  std::vector<bool> used(cells_.size(), false);
  for (auto& s : sources_)
    if (s.cell >= 0) used[static_cast<size_t>(s.cell)] = true;
  for (auto& s : sources_) {
    if (s.cell >= 0 || !live(s, t)) continue;
    auto it = std::find(used.begin(), used.end(), false);
    s.cell = static_cast<int>(it - used.begin());  // a free cell exists: n <= cols * rows
    *it = true;
  }
}

void VideoCompositor::assign_regions(uint64_t t, const Scene& scene) {
  grid_mode_ = false;
  live_scratch_.clear();
  for (size_t i = 0; i < sources_.size(); ++i)
    if (live(sources_[i], t)) live_scratch_.push_back({static_cast<uint32_t>(i), sources_[i].peer, sources_[i].screen});
  place(scene, live_scratch_, speaker_, opt_.width, opt_.height, placements_);
  for (auto& s : sources_) s.cell = -1;
  bool same = placements_.size() == cells_.size();
  cells_.resize(placements_.size());
  for (size_t k = 0; k < placements_.size(); ++k) {  // by z: cells are drawn in their order
    sources_[placements_[k].id].cell = static_cast<int>(k);
    same = same && cells_[k] == placements_[k].rect;
    cells_[k] = placements_[k].rect;
  }
  if (!same) ++layout_epoch_;
}

void VideoCompositor::set_speaker_turns(std::vector<SpeakerTurn> turns) {
  turns_ = std::move(turns);
  turn_ = 0;
}

// The active speaker's camera at t (see the header), -1 when no camera is live.
int VideoCompositor::active_speaker(uint64_t t) {
  while (turn_ + 1 < turns_.size() && turns_[turn_ + 1].from_ms <= t) ++turn_;
  int pick = -1;
  if (!turns_.empty() && turns_[turn_].from_ms <= t) {
    const std::string& peer = turns_[turn_].peer;
    for (size_t i = sources_.size(); i-- > 0;)
      if (!sources_[i].screen && sources_[i].peer == peer && live(sources_[i], t)) {
        pick = static_cast<int>(i);
        break;
      }
  }
  if (pick < 0 && speaker_ >= 0 && live(sources_[static_cast<size_t>(speaker_)], t)) pick = speaker_;
  for (size_t i = 0; pick < 0 && i < sources_.size(); ++i)
    if (!sources_[i].screen && live(sources_[i], t)) pick = static_cast<int>(i);
  if (pick != speaker_ && pick >= 0 && speaker_ >= 0) ++stats_.speaker_switches;
  return pick;
}

// ---- drawing ------------------------------------------------------------------

std::vector<VideoCompositor::Cell> VideoCompositor::layout(uint32_t n, uint32_t width, uint32_t height) {
  std::vector<Cell> cells;
  uint32_t cols = 0, rows = 0;
  grid_shape(n, cols, rows);
  if (n == 0 || width == 0 || height == 0) return cells;
  auto xb = [&](uint32_t i) { return i >= cols ? width : even_down(uint64_t{i} * width / cols); };
  auto yb = [&](uint32_t i) { return i >= rows ? height : even_down(uint64_t{i} * height / rows); };
  cells.reserve(size_t{cols} * rows);
  for (uint32_t r = 0; r < rows; ++r)
    for (uint32_t c = 0; c < cols; ++c) cells.push_back({xb(c), yb(r), xb(c + 1) - xb(c), yb(r + 1) - yb(r)});
  return cells;
}

void VideoCompositor::draw(Canvas& canvas) {
  const size_t w = opt_.width, h = opt_.height, cw = (w + 1) / 2, ch = (h + 1) / 2;
  auto& d = canvas.data;
  std::fill_n(d.begin(), w * h, kBlackY);
  std::fill(d.begin() + static_cast<ptrdiff_t>(w * h), d.begin() + static_cast<ptrdiff_t>(w * h + 2 * cw * ch), kBlackUV);
  draw_order_.clear();  // in cell order: regions come sorted by z
  for (size_t i = 0; i < sources_.size(); ++i)
    if (sources_[i].cell >= 0 && static_cast<size_t>(sources_[i].cell) < cells_.size())
      draw_order_.emplace_back(sources_[i].cell, i);
  std::sort(draw_order_.begin(), draw_order_.end());
  for (auto [cell, i] : draw_order_) {
    Rect r = draw_source(sources_[i], cells_[static_cast<size_t>(cell)], d.data());
    if (r.w == 0) continue;
    if (font_) draw_label(sources_[i], r, d.data());
    if (border_ == static_cast<int>(i)) draw_border(r, d.data());
  }
}

// The label in a dark box at the bottom left of the picture's rectangle.
void VideoCompositor::draw_label(Source& s, const Rect& r, uint8_t* canvas) {
  if (s.label.empty() || r.w < 24 || r.h < 24) return;
  const uint32_t px = std::clamp(r.h / 16, 10u, 32u);
  const uint32_t pad = even_down(std::max(2u, px / 4)), margin = pad;
  if (r.w <= 2 * (margin + pad) + 4) return;
  const uint32_t max_w = r.w - 2 * (margin + pad);
  const uint64_t key = (uint64_t{px} << 32) | max_w;
  if (s.label_key != key) {
    s.label_mask = font_->render(s.label, px, max_w);
    s.label_key = key;
  }
  const media::TextMask& m = s.label_mask;
  if (m.width == 0 || m.height == 0) return;
  const uint32_t bw = even_down(m.width + 2 * pad + 1), bh = even_down(m.height + 2 * pad + 1);
  if (bh + margin > r.h || bw + margin > r.w) return;
  const uint32_t bx = r.x + margin, by = even_down(r.y + r.h - margin - bh);
  const size_t w = opt_.width, h = opt_.height, cw = (w + 1) / 2;
  uint8_t* y = canvas;
  uint8_t* u = y + w * h;
  uint8_t* v = u + cw * ((h + 1) / 2);
  for (uint32_t row = by; row < by + bh; ++row)  // the box: the picture darkened
    for (uint32_t x = bx; x < bx + bw; ++x) {
      uint8_t& p = y[row * w + x];
      p = static_cast<uint8_t>(kBlackY + (std::max<int>(p, kBlackY) - kBlackY) * 3 / 8);
    }
  for (uint32_t row = by / 2; row < (by + bh) / 2; ++row)
    for (uint32_t x = bx / 2; x < (bx + bw) / 2; ++x) {
      uint8_t& pu = u[row * cw + x];
      uint8_t& pv = v[row * cw + x];
      pu = static_cast<uint8_t>(kBlackUV + (pu - kBlackUV) * 3 / 8);
      pv = static_cast<uint8_t>(kBlackUV + (pv - kBlackUV) * 3 / 8);
    }
  const uint32_t tx = bx + pad, ty = by + pad;  // the text: white, by coverage
  for (uint32_t row = 0; row < m.height; ++row)
    for (uint32_t x = 0; x < m.width; ++x) {
      const int a = m.alpha[size_t{row} * m.width + x];
      if (a == 0) continue;
      uint8_t& p = y[(ty + row) * w + tx + x];
      p = static_cast<uint8_t>(p + (235 - p) * a / 255);
    }
}

// A yellow frame just inside the rectangle.
void VideoCompositor::draw_border(const Rect& r, uint8_t* canvas) {
  const uint32_t b = std::max(2u, even_down(opt_.height / 180));
  if (r.w < 2 * b + 2 || r.h < 2 * b + 2) return;
  const size_t w = opt_.width, h = opt_.height, cw = (w + 1) / 2;
  uint8_t* y = canvas;
  uint8_t* u = y + w * h;
  uint8_t* v = u + cw * ((h + 1) / 2);
  auto fill = [&](uint32_t x0, uint32_t y0, uint32_t fw, uint32_t fh) {
    for (uint32_t row = y0; row < y0 + fh; ++row) std::memset(y + row * w + x0, 210, fw);
    for (uint32_t row = y0 / 2; row < (y0 + fh) / 2; ++row) {
      std::memset(u + row * cw + x0 / 2, 16, fw / 2);
      std::memset(v + row * cw + x0 / 2, 146, fw / 2);
    }
  };
  fill(r.x, r.y, r.w, b);
  fill(r.x, r.y + r.h - b, r.w, b);
  fill(r.x, r.y, b, r.h);
  fill(r.x + r.w - b, r.y, b, r.h);
}

Rect VideoCompositor::draw_source(Source& s, const Cell& c, uint8_t* canvas) {
  const media::I420Frame& pic = s.current.img;
  if (c.w < 2 || c.h < 2 || !pic.valid()) return {};
  // Fit keeping the aspect ratio; even sizes, centered on even offsets.
  const uint64_t pw = pic.width, ph = pic.height;
  uint32_t dw, dh;
  if (pw * c.h >= ph * c.w) {  // wider than the cell: full width, bars above and below
    dw = c.w;
    dh = static_cast<uint32_t>(std::min<uint64_t>(c.h, (ph * c.w + pw / 2) / pw));
  } else {
    dh = c.h;
    dw = static_cast<uint32_t>(std::min<uint64_t>(c.w, (pw * c.h + ph / 2) / ph));
  }
  if (dw < c.w) dw = even_down(dw);
  if (dh < c.h) dh = even_down(dh);
  dw = std::max(dw, 2u);
  dh = std::max(dh, 2u);
  const uint32_t dx = c.x + even_down((c.w - dw) / 2), dy = c.y + even_down((c.h - dh) / 2);

  if (s.scaled_generation != s.generation || s.scaled.width != dw || s.scaled.height != dh) {
    s.scaled.resize(dw, dh);
    const int sc = static_cast<int>(pic.chroma_width()), dc = static_cast<int>(s.scaled.chroma_width());
    libyuv::I420Scale(pic.y.data(), static_cast<int>(pic.width), pic.u.data(), sc, pic.v.data(), sc,
                      static_cast<int>(pic.width), static_cast<int>(pic.height), s.scaled.y.data(),
                      static_cast<int>(dw), s.scaled.u.data(), dc, s.scaled.v.data(), dc, static_cast<int>(dw),
                      static_cast<int>(dh), libyuv::kFilterBox);
    s.scaled_generation = s.generation;
  }
  const size_t w = opt_.width, h = opt_.height, cw = (w + 1) / 2, ch = (h + 1) / 2;
  uint8_t* y = canvas;
  uint8_t* u = y + w * h;
  uint8_t* v = u + cw * ch;
  const size_t scw = s.scaled.chroma_width(), sch = s.scaled.chroma_height();
  for (uint32_t r = 0; r < dh; ++r) std::memcpy(y + (dy + r) * w + dx, s.scaled.y.data() + size_t{r} * dw, dw);
  for (size_t r = 0; r < sch; ++r) {
    std::memcpy(u + (dy / 2 + r) * cw + dx / 2, s.scaled.u.data() + r * scw, scw);
    std::memcpy(v + (dy / 2 + r) * cw + dx / 2, s.scaled.v.data() + r * scw, scw);
  }
  return {dx, dy, dw, dh};
}

// ---- rendering and encoding -----------------------------------------------------

// Moves the packets encoded so far to `out` (all of them, once the encoder
// has done every queued job, with wait_all); reports an encoder failure.
Status VideoCompositor::collect(std::vector<EncodedVideo>& out, bool wait_all) {
  std::vector<EncodedVideo> got;
  Status st;
  {
    std::unique_lock<std::mutex> lk(enc_->mu);
    if (wait_all) enc_->done_cv.wait(lk, [&] { return enc_->jobs.empty(); });
    got.swap(enc_->packets);
    st = enc_->status;
  }
  for (auto& e : got) {
    e.pts_ms += start_;
    out.push_back(std::move(e));
    ++stats_.frames_out;
  }
  return st;
}

Status VideoCompositor::render_until(uint64_t until_ms, std::vector<EncodedVideo>& out) {
  if (finished_) return Status::ok();
  Status st = init();
  if (!st) return st;
  if (!start_set_) {
    // No set_start(): begin at the first picture (or now), never at time 0.
    uint64_t first = until_ms;
    for (auto& s : sources_)
      if (!s.queue.empty()) first = std::min(first, s.queue.front().pts);
    start_ = first;
    start_set_ = true;
  }
  for (;;) {
    const uint64_t t = output_time(next_k_);
    if (t > until_ms) break;
    advance_sources(t);
    assign_cells(t);
    const size_t ci = static_cast<size_t>(next_k_ % canvases_.size());
    if (opt_.encode_thread) {  // the canvas is free once the encoder is done with it
      std::unique_lock<std::mutex> lk(enc_->mu);
      enc_->done_cv.wait(lk, [&] { return !enc_->busy[ci]; });
    }
    Canvas& canvas = canvases_[ci];
    // Redraw only when what is shown changed since this canvas was drawn.
    shown_.clear();
    for (size_t i = 0; i < sources_.size(); ++i)
      if (sources_[i].cell >= 0) shown_.emplace_back(i, sources_[i].cell, sources_[i].generation);
    if (!canvas.drawn || shown_ != canvas.shown || layout_epoch_ != canvas.epoch) {
      draw(canvas);
      canvas.shown.swap(shown_);
      canvas.epoch = layout_epoch_;
      canvas.drawn = true;
    }
    Encoder::Job job;
    job.canvas = ci;
    job.pts = static_cast<vpx_codec_pts_t>(t - start_);
    job.duration = static_cast<unsigned long>(output_time(next_k_ + 1) - t);
    ++next_k_;
    if (opt_.encode_thread) {
      {
        std::lock_guard<std::mutex> lk(enc_->mu);
        enc_->busy[ci] = true;
        enc_->jobs.push_back(job);
      }
      enc_->cv.notify_one();
    } else {
      st = enc_->run(job, enc_->packets);
      if (!st) return st;
    }
  }
  return collect(out, false);
}

Status VideoCompositor::finish(uint64_t end_ms, std::vector<EncodedVideo>& out) {
  if (finished_) return Status::ok();
  Status st = render_until(end_ms, out);
  if (!st) return st;
  finished_ = true;
  Encoder::Job flush;
  flush.flush = true;
  if (opt_.encode_thread) {
    {
      std::lock_guard<std::mutex> lk(enc_->mu);
      enc_->jobs.push_back(flush);
    }
    enc_->cv.notify_one();
    st = collect(out, true);
    enc_->stop_thread();
  } else {
    st = enc_->run(flush, enc_->packets);
    if (st) st = collect(out, false);
  }
  for (auto& s : sources_) {
    s.queue.clear();
    s.current = {};
    s.scaled = {};
  }
  spare_.clear();
  return st;
}

}  // namespace roomrec::convert
