#include "convert/video_compositor.h"

#include <libyuv.h>
#include <vpx/vp8cx.h>
#include <vpx/vpx_encoder.h>

#include <algorithm>
#include <cctype>
#include <cstring>
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

struct VideoCompositor::Encoder {
  vpx_codec_ctx_t ctx{};
  vpx_image_t img{};
  bool ready = false;
  ~Encoder() {
    if (ready) vpx_codec_destroy(&ctx);
  }
  std::string error(const char* what) {
    std::string m = std::string(what) + ": " + vpx_codec_error(&ctx);
    if (const char* d = vpx_codec_error_detail(&ctx)) m += std::string(" (") + d + ")";
    return m;
  }
};

VideoCompositor::VideoCompositor(CompositorOptions o) : opt_(std::move(o)) {}

VideoCompositor::~VideoCompositor() = default;

Status VideoCompositor::init() {
  if (initialized_) return init_status_;
  initialized_ = true;
  auto fail = [&](ErrorCode code, std::string m) {
    init_status_ = Status::error(code, "video compositor: " + m);
    enc_.reset();
    return init_status_;
  };
  std::string codec = opt_.codec;
  for (auto& c : codec) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (codec != "vp8" && codec != "vp9")
    return fail(ErrorCode::unsupported, "output codec must be vp8 or vp9, not \"" + opt_.codec + "\"");
  if (opt_.width < 2 || opt_.height < 2 || opt_.width > kMaxDimension || opt_.height > kMaxDimension)
    return fail(ErrorCode::invalid_argument, "output size " + std::to_string(opt_.width) + "x" +
                                                 std::to_string(opt_.height) + " is out of range (2..16384)");
  if (opt_.fps == 0 || opt_.fps > 240)
    return fail(ErrorCode::invalid_argument, "frame rate " + std::to_string(opt_.fps) + " is out of range (1..240)");
  if (opt_.bitrate_kbps == 0) return fail(ErrorCode::invalid_argument, "bitrate must be positive");
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
  cfg.rc_target_bitrate = opt_.bitrate_kbps;
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

  // The canvas: tightly packed I420, wrapped by the encoder's image.
  const size_t w = opt_.width, h = opt_.height, cw = (w + 1) / 2, ch = (h + 1) / 2;
  canvas_.assign(w * h + 2 * cw * ch, 0);
  std::fill_n(canvas_.begin(), w * h, kBlackY);
  std::fill(canvas_.begin() + static_cast<ptrdiff_t>(w * h), canvas_.end(), kBlackUV);
  vpx_img_wrap(&enc_->img, VPX_IMG_FMT_I420, opt_.width, opt_.height, 1, canvas_.data());
  enc_->img.planes[VPX_PLANE_Y] = canvas_.data();
  enc_->img.planes[VPX_PLANE_U] = canvas_.data() + w * h;
  enc_->img.planes[VPX_PLANE_V] = canvas_.data() + w * h + cw * ch;
  enc_->img.stride[VPX_PLANE_Y] = static_cast<int>(w);
  enc_->img.stride[VPX_PLANE_U] = enc_->img.stride[VPX_PLANE_V] = static_cast<int>(cw);
  init_status_ = Status::ok();
  return init_status_;
}

// ---- sources ------------------------------------------------------------------

uint32_t VideoCompositor::add_source(std::string label) {
  sources_.emplace_back();
  sources_.back().label = std::move(label);
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
  uint32_t cols = 0, rows = 0;
  grid_shape(n, cols, rows);
  if (cols != grid_cols_ || rows != grid_rows_) {
    grid_cols_ = cols;
    grid_rows_ = rows;
    cells_ = layout(n, opt_.width, opt_.height);
    int next = 0;
    for (auto& s : sources_)
      if (live(s, t)) s.cell = next++;  // in order of arrival
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

void VideoCompositor::draw() {
  const size_t w = opt_.width, h = opt_.height, cw = (w + 1) / 2, ch = (h + 1) / 2;
  std::fill_n(canvas_.begin(), w * h, kBlackY);
  std::fill(canvas_.begin() + static_cast<ptrdiff_t>(w * h), canvas_.begin() + static_cast<ptrdiff_t>(w * h + 2 * cw * ch),
            kBlackUV);
  for (auto& s : sources_)
    if (s.cell >= 0 && static_cast<size_t>(s.cell) < cells_.size()) draw_source(s, cells_[static_cast<size_t>(s.cell)]);
}

void VideoCompositor::draw_source(Source& s, const Cell& c) {
  const media::I420Frame& pic = s.current.img;
  if (c.w < 2 || c.h < 2 || !pic.valid()) return;
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
  uint8_t* y = canvas_.data();
  uint8_t* u = y + w * h;
  uint8_t* v = u + cw * ch;
  const size_t scw = s.scaled.chroma_width(), sch = s.scaled.chroma_height();
  for (uint32_t r = 0; r < dh; ++r) std::memcpy(y + (dy + r) * w + dx, s.scaled.y.data() + size_t{r} * dw, dw);
  for (size_t r = 0; r < sch; ++r) {
    std::memcpy(u + (dy / 2 + r) * cw + dx / 2, s.scaled.u.data() + r * scw, scw);
    std::memcpy(v + (dy / 2 + r) * cw + dx / 2, s.scaled.v.data() + r * scw, scw);
  }
}

// ---- rendering and encoding -----------------------------------------------------

Status VideoCompositor::drain(std::vector<EncodedVideo>& out) {
  vpx_codec_iter_t it = nullptr;
  while (const vpx_codec_cx_pkt_t* pkt = vpx_codec_get_cx_data(&enc_->ctx, &it)) {
    if (pkt->kind != VPX_CODEC_CX_FRAME_PKT) continue;
    EncodedVideo e;
    auto* p = static_cast<const uint8_t*>(pkt->data.frame.buf);
    e.data.assign(p, p + pkt->data.frame.sz);
    e.pts_ms = start_ + static_cast<uint64_t>(std::max<vpx_codec_pts_t>(0, pkt->data.frame.pts));
    e.keyframe = (pkt->data.frame.flags & VPX_FRAME_IS_KEY) != 0;
    out.push_back(std::move(e));
    ++stats_.frames_out;
  }
  return Status::ok();
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
    // Redraw only when what is shown changed.
    shown_.clear();
    for (size_t i = 0; i < sources_.size(); ++i)
      if (sources_[i].cell >= 0) shown_.emplace_back(i, sources_[i].cell, sources_[i].generation);
    if (!drawn_ || shown_ != last_shown_ || grid_cols_ != drawn_cols_ || grid_rows_ != drawn_rows_) {
      draw();
      last_shown_.swap(shown_);
      drawn_cols_ = grid_cols_;
      drawn_rows_ = grid_rows_;
      drawn_ = true;
    }
    const uint64_t rel = t - start_, duration = output_time(next_k_ + 1) - t;
    if (vpx_codec_encode(&enc_->ctx, &enc_->img, static_cast<vpx_codec_pts_t>(rel), static_cast<unsigned long>(duration),
                         0, VPX_DL_REALTIME) != VPX_CODEC_OK)
      return Status::error(ErrorCode::internal, "video compositor: " + enc_->error("encoding failed"));
    ++next_k_;
    st = drain(out);
    if (!st) return st;
  }
  return Status::ok();
}

Status VideoCompositor::finish(uint64_t end_ms, std::vector<EncodedVideo>& out) {
  if (finished_) return Status::ok();
  Status st = render_until(end_ms, out);
  if (!st) return st;
  finished_ = true;
  if (vpx_codec_encode(&enc_->ctx, nullptr, -1, 1, 0, VPX_DL_REALTIME) != VPX_CODEC_OK)
    return Status::error(ErrorCode::internal, "video compositor: " + enc_->error("flushing the encoder failed"));
  st = drain(out);
  for (auto& s : sources_) {
    s.queue.clear();
    s.current = {};
    s.scaled = {};
  }
  spare_.clear();
  return st;
}

}  // namespace roomrec::convert
