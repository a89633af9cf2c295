// VideoDecoder on real VP8/VP9 (libvpx) and H264 (ffmpeg's libx264), and the
// VideoCompositor's grid checked by decoding its output with libvpx and
// reading pixels.
#include <doctest/doctest.h>

#include <vpx/vp8dx.h>
#include <vpx/vpx_decoder.h>

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "../media_synth.h"
#include "convert/video_compositor.h"
#include "media/video_decoder.h"

using namespace roomrec;
using namespace roomrec::convert;
using roomrec::media::I420Frame;
using roomrec::media::VideoDecoder;

namespace {

constexpr uint64_t kStart = 1'700'000'000'000ull;  // a unix-ms room start

struct Yuv {
  int y, u, v;
};
// BT.601 studio range.
constexpr Yuv kRed{81, 90, 240}, kGreen{145, 54, 34}, kBlue{41, 240, 110}, kWhite{235, 128, 128},
    kYellow{210, 16, 146}, kBlack{16, 128, 128};

std::string yuv_str(Yuv c) {
  return std::to_string(c.y) + "," + std::to_string(c.u) + "," + std::to_string(c.v);
}

bool near(Yuv a, Yuv b, int tol = 16) {
  return std::abs(a.y - b.y) <= tol && std::abs(a.u - b.u) <= tol && std::abs(a.v - b.v) <= tol;
}

I420Frame solid(uint32_t w, uint32_t h, Yuv c) {
  I420Frame f;
  f.resize(w, h);
  std::fill(f.y.begin(), f.y.end(), static_cast<uint8_t>(c.y));
  std::fill(f.u.begin(), f.u.end(), static_cast<uint8_t>(c.u));
  std::fill(f.v.begin(), f.v.end(), static_cast<uint8_t>(c.v));
  return f;
}

// Top half `top`, bottom half `bottom`.
I420Frame split(uint32_t w, uint32_t h, Yuv top, Yuv bottom) {
  I420Frame f = solid(w, h, bottom);
  for (uint32_t r = 0; r < h / 2; ++r) std::fill_n(f.y.begin() + r * w, w, static_cast<uint8_t>(top.y));
  for (uint32_t r = 0; r < f.chroma_height() / 2; ++r) {
    std::fill_n(f.u.begin() + r * f.chroma_width(), f.chroma_width(), static_cast<uint8_t>(top.u));
    std::fill_n(f.v.begin() + r * f.chroma_width(), f.chroma_width(), static_cast<uint8_t>(top.v));
  }
  return f;
}

// Mean colour of the 6x6 block around (x, y).
Yuv sample(const I420Frame& f, uint32_t x, uint32_t y) {
  int ys = 0, us = 0, vs = 0, n = 0, cn = 0;
  for (uint32_t r = y - 3; r < y + 3; ++r)
    for (uint32_t c = x - 3; c < x + 3; ++c) {
      ys += f.y[r * f.width + c];
      ++n;
      if (r % 2 == 0 && c % 2 == 0) {
        us += f.u[(r / 2) * f.chroma_width() + c / 2];
        vs += f.v[(r / 2) * f.chroma_width() + c / 2];
        ++cn;
      }
    }
  return {ys / n, us / cn, vs / cn};
}

struct Decoded {
  uint64_t pts = 0;
  I420Frame pic;
};

// Decodes the compositor's output with libvpx (independently of VideoDecoder).
std::vector<Decoded> decode_output(const std::vector<EncodedVideo>& frames, bool vp9 = false) {
  vpx_codec_ctx_t ctx;
  vpx_codec_dec_cfg_t cfg{};
  cfg.threads = 1;
  REQUIRE(vpx_codec_dec_init(&ctx, vp9 ? vpx_codec_vp9_dx() : vpx_codec_vp8_dx(), &cfg, 0) == VPX_CODEC_OK);
  std::vector<Decoded> out;
  for (auto& f : frames) {
    REQUIRE(vpx_codec_decode(&ctx, f.data.data(), static_cast<unsigned>(f.data.size()), nullptr, 0) == VPX_CODEC_OK);
    vpx_codec_iter_t it = nullptr;
    while (const vpx_image_t* img = vpx_codec_get_frame(&ctx, &it)) {
      Decoded d;
      d.pts = f.pts_ms;
      d.pic.resize(img->d_w, img->d_h);
      for (unsigned r = 0; r < img->d_h; ++r)
        std::copy_n(img->planes[0] + r * img->stride[0], img->d_w, d.pic.y.begin() + r * img->d_w);
      for (unsigned r = 0; r < d.pic.chroma_height(); ++r) {
        std::copy_n(img->planes[1] + r * img->stride[1], d.pic.chroma_width(), d.pic.u.begin() + r * d.pic.chroma_width());
        std::copy_n(img->planes[2] + r * img->stride[2], d.pic.chroma_width(), d.pic.v.begin() + r * d.pic.chroma_width());
      }
      out.push_back(std::move(d));
    }
  }
  vpx_codec_destroy(&ctx);
  return out;
}

uint64_t expected_pts(uint64_t start, uint64_t k, uint32_t fps) { return start + (k * 1000 + fps / 2) / fps; }

// Output pts are start + round(k*1000/fps), one per frame, the first a key frame.
void check_continuous(const std::vector<EncodedVideo>& out, uint64_t start, uint32_t fps) {
  REQUIRE(!out.empty());
  CHECK(out.front().keyframe);
  for (size_t k = 0; k < out.size(); ++k) {
    INFO("frame " << k);
    CHECK(out[k].pts_ms == expected_pts(start, k, fps));
  }
}

// The decoded output frame for time t.
const I420Frame& at(const std::vector<Decoded>& d, uint64_t t) {
  for (auto& f : d)
    if (f.pts == t) return f.pic;
  FAIL("no output frame at " << t);
  return d.front().pic;
}

CompositorOptions opts(uint32_t w = 1280, uint32_t h = 720) {
  CompositorOptions o;
  o.width = w;
  o.height = h;
  o.fps = 15;
  o.bitrate = 2'000'000;
  return o;
}

// Colour at the centre of cell c of the n-source grid.
Yuv cell_centre(const I420Frame& f, uint32_t n, size_t c) {
  auto cells = VideoCompositor::layout(n, f.width, f.height);
  REQUIRE(c < cells.size());
  return sample(f, cells[c].x + cells[c].w / 2, cells[c].y + cells[c].h / 2);
}

// ---- H264 from ffmpeg ----------------------------------------------------------

struct H264Stream {
  std::vector<std::vector<uint8_t>> frames;  // AVCC access units (SPS/PPS kept in-band, like the depacketizer)
  std::vector<bool> key;
  std::vector<uint8_t> avcc;                 // avcC record
  std::vector<uint8_t> sps, pps;
};

std::vector<std::vector<uint8_t>> split_annexb(const std::vector<uint8_t>& b) {
  std::vector<size_t> starts;  // first byte after each start code
  for (size_t i = 0; i + 3 <= b.size(); ++i)
    if (b[i] == 0 && b[i + 1] == 0 && b[i + 2] == 1) {
      starts.push_back(i + 3);
      i += 2;
    }
  std::vector<std::vector<uint8_t>> nals;
  for (size_t k = 0; k < starts.size(); ++k) {
    size_t end = k + 1 < starts.size() ? starts[k + 1] - 3 : b.size();
    while (end > starts[k] && b[end - 1] == 0) --end;  // the zero of a 4-byte start code
    if (end > starts[k]) nals.emplace_back(b.begin() + static_cast<long>(starts[k]), b.begin() + static_cast<long>(end));
  }
  return nals;
}

void append_avcc(std::vector<uint8_t>& out, const std::vector<uint8_t>& nal) {
  uint32_t n = static_cast<uint32_t>(nal.size());
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<uint8_t>(n >> (8 * i)));
  out.insert(out.end(), nal.begin(), nal.end());
}

std::vector<uint8_t> make_avcc(const std::vector<uint8_t>& sps, const std::vector<uint8_t>& pps) {
  std::vector<uint8_t> c = {1, sps[1], sps[2], sps[3], 0xFF, 0xE1};
  c.push_back(static_cast<uint8_t>(sps.size() >> 8));
  c.push_back(static_cast<uint8_t>(sps.size()));
  c.insert(c.end(), sps.begin(), sps.end());
  c.push_back(1);
  c.push_back(static_cast<uint8_t>(pps.size() >> 8));
  c.push_back(static_cast<uint8_t>(pps.size()));
  c.insert(c.end(), pps.begin(), pps.end());
  return c;
}

const H264Stream& ffmpeg_h264() {
  static H264Stream s = [] {
    H264Stream r;
    char path[] = "/tmp/roomrec-vid-XXXXXX";
    int fd = ::mkstemp(path);
    REQUIRE(fd >= 0);
    ::close(fd);
    int st = 0;
    testing::run_capture(std::string("ffmpeg -nostdin -v error -y -f lavfi -i testsrc=size=320x240:rate=15 -frames:v 15 "
                                     "-c:v libx264 -pix_fmt yuv420p -bsf:v h264_mp4toannexb -f h264 '") +
                             path + "' 2>&1",
                         &st);
    std::ifstream in(path, std::ios::binary);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ::unlink(path);
    REQUIRE_MESSAGE(st == 0, "ffmpeg failed");
    REQUIRE(!bytes.empty());
    // Access units: a new one starts at a non-VCL NAL after a VCL NAL, or at
    // a slice with first_mb_in_slice == 0 when the unit already has a slice.
    std::vector<uint8_t> au;
    bool au_has_vcl = false, au_key = false;
    auto flush = [&] {
      if (!au.empty() && au_has_vcl) {
        r.frames.push_back(au);
        r.key.push_back(au_key);
      }
      au.clear();
      au_has_vcl = au_key = false;
    };
    for (auto& nal : split_annexb(bytes)) {
      unsigned type = nal[0] & 0x1f;
      bool vcl = type >= 1 && type <= 5;
      if ((vcl && nal.size() > 1 && (nal[1] & 0x80) && au_has_vcl) || (!vcl && au_has_vcl)) flush();
      if (type == 7 && r.sps.empty()) r.sps = nal;
      if (type == 8 && r.pps.empty()) r.pps = nal;
      append_avcc(au, nal);
      au_has_vcl |= vcl;
      au_key |= type == 5;
    }
    flush();
    REQUIRE(!r.sps.empty());
    REQUIRE(!r.pps.empty());
    r.avcc = make_avcc(r.sps, r.pps);
    return r;
  }();
  return s;
}

// The AVCC frame without its SPS/PPS NALs (parameter sets out of band only).
std::vector<uint8_t> strip_parameter_sets(const std::vector<uint8_t>& f) {
  std::vector<uint8_t> out;
  size_t pos = 0;
  while (pos + 4 <= f.size()) {
    size_t len = (size_t{f[pos]} << 24) | (size_t{f[pos + 1]} << 16) | (size_t{f[pos + 2]} << 8) | f[pos + 3];
    unsigned type = f[pos + 4] & 0x1f;
    if (type != 7 && type != 8) out.insert(out.end(), f.begin() + static_cast<long>(pos), f.begin() + static_cast<long>(pos + 4 + len));
    pos += 4 + len;
  }
  return out;
}

}  // namespace

// ---- decoders -------------------------------------------------------------------

TEST_CASE("VideoDecoder: VP8 and VP9 from libvpx decode to their size and colour") {
  for (bool vp9 : {false, true}) {
    INFO((vp9 ? "vp9" : "vp8"));
    auto frames = testing::encode_vp8_painted(
        320, 240, 12, 15, 6, [](uint32_t, vpx_image_t& img) { testing::fill_i420(img, 145, 54, 34); }, vp9);
    REQUIRE(frames.size() == 12);
    auto dec = VideoDecoder::create(vp9 ? "VP9" : "vp8");
    REQUIRE_MESSAGE(dec.is_ok(), dec.status().to_string());
    CHECK(std::string(dec.value()->codec()) == (vp9 ? "vp9" : "vp8"));
    int pictures = 0;
    for (auto& f : frames) {
      I420Frame pic;
      if (!dec.value()->decode(f.data.data(), f.data.size(), f.keyframe, pic)) continue;
      ++pictures;
      CHECK(pic.width == 320);
      CHECK(pic.height == 240);
      REQUIRE(pic.valid());
      Yuv c = sample(pic, 160, 120);
      INFO("centre " << yuv_str(c));
      CHECK(near(c, kGreen, 6));
    }
    CHECK(pictures == 12);
    CHECK(dec.value()->stats().errors == 0);
    CHECK(dec.value()->stats().pictures_out == 12);
  }
}

TEST_CASE("VideoDecoder: an odd-sized VP8 picture and unknown codecs") {
  auto frames = testing::encode_vp8(175, 99, 3, 15);
  auto dec = VideoDecoder::create("vp8");
  REQUIRE(dec.is_ok());
  I420Frame pic;
  REQUIRE(dec.value()->decode(frames[0].data.data(), frames[0].data.size(), true, pic));
  CHECK(pic.width == 175);
  CHECK(pic.height == 99);
  CHECK(pic.u.size() == 88u * 50u);
  CHECK(pic.valid());

  auto av1 = VideoDecoder::create("av1");
  REQUIRE(!av1.is_ok());
  CHECK(av1.status().code() == ErrorCode::unsupported);
  CHECK(!VideoDecoder::create("").is_ok());
}

TEST_CASE("VideoDecoder: H264 from ffmpeg (libx264) as AVCC with avcC decodes with OpenH264") {
  const H264Stream& s = ffmpeg_h264();
  REQUIRE(s.frames.size() == 15);
  REQUIRE(s.key.front());

  SUBCASE("parameter sets in-band and in the avcC") {
    auto dec = VideoDecoder::create("h264", s.avcc);
    REQUIRE_MESSAGE(dec.is_ok(), dec.status().to_string());
    int pictures = 0;
    for (size_t i = 0; i < s.frames.size(); ++i) {
      I420Frame pic;
      if (dec.value()->decode(s.frames[i].data(), s.frames[i].size(), s.key[i], pic)) {
        ++pictures;
        CHECK(pic.width == 320);
        CHECK(pic.height == 240);
        CHECK(pic.valid());
      }
    }
    // libx264's default (High, B-frames) is reordered by the decoder: a few
    // pictures may come out late, the rest one per frame.
    CHECK(pictures >= 12);
    CHECK(dec.value()->stats().errors == 0);
  }
  SUBCASE("parameter sets only in the avcC: prepended to key frames") {
    auto dec = VideoDecoder::create("h264");  // none at creation: set later, as the Composer does
    REQUIRE(dec.is_ok());
    dec.value()->set_codec_private({1, 2, 3});  // malformed: ignored
    dec.value()->set_codec_private(s.avcc);
    int pictures = 0;
    for (size_t i = 0; i < s.frames.size(); ++i) {
      auto f = strip_parameter_sets(s.frames[i]);
      I420Frame pic;
      if (dec.value()->decode(f.data(), f.size(), s.key[i], pic)) {
        ++pictures;
        CHECK(pic.width == 320);
        CHECK(pic.height == 240);
      }
    }
    CHECK(pictures >= 12);
    CHECK(dec.value()->stats().errors == 0);
  }
  SUBCASE("the picture has testsrc's content") {
    auto dec = VideoDecoder::create("h264", s.avcc);
    REQUIRE(dec.is_ok());
    I420Frame pic;
    bool got = false;
    for (size_t i = 0; i < s.frames.size() && !got; ++i)
      got = dec.value()->decode(s.frames[i].data(), s.frames[i].size(), s.key[i], pic);
    REQUIRE(got);
    // testsrc is colourful: the picture is neither flat nor black.
    auto [mn, mx] = std::minmax_element(pic.y.begin(), pic.y.end());
    CHECK(*mx - *mn > 100);
  }
}

TEST_CASE("VideoDecoder: garbage and truncated input return false, count errors, and decoding recovers") {
  std::mt19937 rng(7);
  auto garbage = [&](size_t n) {
    std::vector<uint8_t> g(n);
    for (auto& b : g) b = static_cast<uint8_t>(rng());
    return g;
  };
  auto vp8 = testing::encode_vp8(160, 120, 4, 15);
  auto vp9 = testing::encode_vp8_painted(
      160, 120, 4, 15, 30, [](uint32_t, vpx_image_t& img) { testing::fill_i420(img, 81, 90, 240); }, true);
  const H264Stream& h = ffmpeg_h264();
  struct Case {
    const char* codec;
    std::vector<uint8_t> key;
    std::vector<uint8_t> cp;
    std::vector<std::vector<uint8_t>> then;  // the key frame and the next ones
  };
  std::vector<Case> cases = {{"vp8", vp8[0].data, {}, {vp8[0].data, vp8[1].data}},
                             {"vp9", vp9[0].data, {}, {vp9[0].data, vp9[1].data}},
                             {"h264", h.frames[0], h.avcc, {h.frames[0], h.frames[1], h.frames[2], h.frames[3]}}};
  for (auto& c : cases) {
    INFO(std::string(c.codec));
    auto dec = VideoDecoder::create(c.codec, c.cp);
    REQUIRE(dec.is_ok());
    VideoDecoder& d = *dec.value();
    I420Frame pic;
    CHECK(!d.decode(nullptr, 0, true, pic));
    uint64_t before = d.stats().errors;
    for (int i = 0; i < 50; ++i) {
      auto g = garbage(1 + rng() % 3000);
      CHECK(!d.decode(g.data(), g.size(), true, pic));
    }
    // AVCC-looking garbage: plausible lengths, random NAL bodies.
    for (int i = 0; i < 30; ++i) {
      auto g = garbage(200);
      g[0] = g[1] = 0;
      g[2] = 0;
      g[3] = 150;
      g[4] = static_cast<uint8_t>(0x65 & 0x7f);
      CHECK(!d.decode(g.data(), g.size(), true, pic));
    }
    // A key frame cut short, and with a flipped-bits body.
    std::vector<uint8_t> cut(c.key.begin(), c.key.begin() + static_cast<long>(c.key.size() / 3));
    d.decode(cut.data(), cut.size(), true, pic);  // may or may not decode: must not crash
    auto flipped = c.key;
    for (size_t i = 8; i < flipped.size(); i += 7) flipped[i] ^= 0x5a;
    d.decode(flipped.data(), flipped.size(), true, pic);
    CHECK(d.stats().errors > before);
    // A length prefix running past the end (AVCC) / any non-key frame while waiting: false.
    std::vector<uint8_t> overrun = {0, 0, 0x10, 0, 0x65, 1, 2, 3};
    CHECK(!d.decode(overrun.data(), overrun.size(), false, pic));
    // A real key frame (and what follows it) decodes again. libx264's
    // default stream has B-frames, so OpenH264 holds its first picture back.
    bool got = false;
    for (size_t i = 0; i < c.then.size() && !got; ++i)
      got = d.decode(c.then[i].data(), c.then[i].size(), i == 0, pic);
    CHECK(got);
    CHECK(pic.valid());
  }
}

TEST_CASE("VideoDecoder: delta frames before the first key frame are skipped, not errors") {
  auto frames = testing::encode_vp8(160, 120, 6, 15, 4);
  auto dec = VideoDecoder::create("vp8");
  REQUIRE(dec.is_ok());
  I420Frame pic;
  CHECK(!dec.value()->decode(frames[1].data.data(), frames[1].data.size(), false, pic));
  CHECK(!dec.value()->decode(frames[2].data.data(), frames[2].data.size(), false, pic));
  CHECK(dec.value()->stats().skipped == 2);
  CHECK(dec.value()->stats().errors == 0);
  CHECK(dec.value()->decode(frames[4].data.data(), frames[4].data.size(), true, pic));
  CHECK(dec.value()->decode(frames[5].data.data(), frames[5].data.size(), false, pic));
}

// ---- layout ---------------------------------------------------------------------

TEST_CASE("layout: exact geometry at 1280x720") {
  using C = VideoCompositor::Cell;
  auto eq = [](const C& a, const C& b) { return a.x == b.x && a.y == b.y && a.w == b.w && a.h == b.h; };
  auto l1 = VideoCompositor::layout(1, 1280, 720);
  REQUIRE(l1.size() == 1);
  CHECK(eq(l1[0], C{0, 0, 1280, 720}));

  auto l2 = VideoCompositor::layout(2, 1280, 720);  // side by side
  REQUIRE(l2.size() == 2);
  CHECK(eq(l2[0], C{0, 0, 640, 720}));
  CHECK(eq(l2[1], C{640, 0, 640, 720}));

  auto l4 = VideoCompositor::layout(4, 1280, 720);  // 2x2
  REQUIRE(l4.size() == 4);
  CHECK(eq(l4[0], C{0, 0, 640, 360}));
  CHECK(eq(l4[1], C{640, 0, 640, 360}));
  CHECK(eq(l4[2], C{0, 360, 640, 360}));
  CHECK(eq(l4[3], C{640, 360, 640, 360}));
  CHECK(VideoCompositor::layout(3, 1280, 720).size() == 4);

  auto l5 = VideoCompositor::layout(5, 1280, 720);  // cols 3, rows 2
  REQUIRE(l5.size() == 6);
  CHECK(eq(l5[0], C{0, 0, 426, 360}));
  CHECK(eq(l5[1], C{426, 0, 426, 360}));
  CHECK(eq(l5[2], C{852, 0, 428, 360}));
  CHECK(eq(l5[3], C{0, 360, 426, 360}));
  CHECK(eq(l5[4], C{426, 360, 426, 360}));
  CHECK(eq(l5[5], C{852, 360, 428, 360}));

  CHECK(VideoCompositor::layout(0, 1280, 720).empty());
  CHECK(VideoCompositor::layout(7, 1280, 720).size() == 9);   // 3x3
  CHECK(VideoCompositor::layout(10, 1280, 720).size() == 12); // 4x3
  CHECK(VideoCompositor::layout(16, 1280, 720).size() == 16); // 4x4
}

TEST_CASE("layout: cells tile the frame on even coordinates for any n") {
  for (uint32_t n = 1; n <= 30; ++n)
    for (auto [w, h] : {std::pair<uint32_t, uint32_t>{1280, 720}, {640, 360}, {1920, 1080}, {854, 480}}) {
      auto cells = VideoCompositor::layout(n, w, h);
      uint32_t cols = 1;
      while (cols * cols < n) ++cols;
      INFO("n=" << n << " " << w << "x" << h);
      REQUIRE(cells.size() == cols * ((n + cols - 1) / cols));
      uint64_t area = 0;
      for (auto& c : cells) {
        CHECK(c.x % 2 == 0);
        CHECK(c.y % 2 == 0);
        CHECK(c.w % 2 == 0);
        CHECK(c.h % 2 == 0);
        CHECK(c.x + c.w <= w);
        CHECK(c.y + c.h <= h);
        area += uint64_t{c.w} * c.h;
      }
      CHECK(area == uint64_t{w} * h);
    }
}

// ---- compositor -------------------------------------------------------------------

TEST_CASE("compositor: options are checked, init errors are clear") {
  {
    CompositorOptions o;
    o.codec = "h265";
    VideoCompositor c(o);
    Status s = c.init();
    CHECK(s.code() == ErrorCode::unsupported);
    CHECK(s.message().find("h265") != std::string::npos);
    std::vector<EncodedVideo> out;
    CHECK(!c.render_until(kStart, out).is_ok());
  }
  {
    CompositorOptions o;
    o.fps = 0;
    VideoCompositor c(o);
    CHECK(c.init().code() == ErrorCode::invalid_argument);
  }
  {
    CompositorOptions o;
    o.width = 0;
    VideoCompositor c(o);
    CHECK(c.init().code() == ErrorCode::invalid_argument);
  }
  VideoCompositor ok(opts(320, 180));
  CHECK(ok.init().is_ok());
  CHECK(ok.init().is_ok());  // idempotent
}

TEST_CASE("compositor: no source renders black at exact, continuous pts") {
  VideoCompositor c(opts(320, 180));
  REQUIRE(c.init().is_ok());
  c.set_start(kStart);
  std::vector<EncodedVideo> out;
  REQUIRE(c.render_until(kStart + 500, out).is_ok());
  REQUIRE(c.render_until(kStart + 999, out).is_ok());
  REQUIRE(c.finish(kStart + 1000, out).is_ok());
  REQUIRE(out.size() == 16);  // 0 .. 1000 ms at 15 fps
  check_continuous(out, kStart, 15);
  CHECK(out.back().pts_ms == kStart + 1000);
  auto d = decode_output(out);
  REQUIRE(d.size() == out.size());
  CHECK(near(sample(d.back().pic, 160, 90), kBlack, 4));
  CHECK(c.stats().frames_out == 16);
  CHECK(c.stats().live_max == 0);
  std::vector<EncodedVideo> more;
  CHECK(c.render_until(kStart + 5000, more).is_ok());  // after finish: nothing
  CHECK(more.empty());
}

TEST_CASE("compositor: one source fills the frame, pillarboxed in black") {
  VideoCompositor c(opts());
  REQUIRE(c.init().is_ok());
  c.set_start(kStart);
  uint32_t s = c.add_source("red");
  std::vector<EncodedVideo> out;
  for (int k = 0; k < 15; ++k) c.push(s, solid(640, 480, kRed), kStart + k * 66);  // 4:3
  REQUIRE(c.finish(kStart + 1000, out).is_ok());
  check_continuous(out, kStart, 15);
  auto d = decode_output(out);
  const I420Frame& f = d.back().pic;
  REQUIRE(f.width == 1280);
  REQUIRE(f.height == 720);
  // 4:3 in 16:9: 960x720 at x = 160.
  CHECK(near(sample(f, 640, 360), kRed));
  CHECK(near(sample(f, 170, 360), kRed));
  CHECK(near(sample(f, 1110, 700), kRed));
  CHECK(near(sample(f, 80, 360), kBlack));
  CHECK(near(sample(f, 1200, 100), kBlack));
  CHECK(c.stats().live_max == 1);
}

TEST_CASE("compositor: two, four and five sources of different aspect ratios land in their cells") {
  struct Src {
    uint32_t w, h;
    Yuv c;
  };
  const Src all[5] = {{640, 480, kRed}, {640, 360, kGreen}, {360, 640, kBlue}, {400, 400, kWhite}, {320, 240, kYellow}};
  for (uint32_t n : {2u, 4u, 5u}) {
    INFO("n = " << n);
    VideoCompositor c(opts());
    REQUIRE(c.init().is_ok());
    c.set_start(kStart);
    std::vector<uint32_t> ids;
    for (uint32_t i = 0; i < n; ++i) ids.push_back(c.add_source("p" + std::to_string(i)));
    std::vector<EncodedVideo> out;
    for (int k = 0; k < 15; ++k)
      for (uint32_t i = 0; i < n; ++i) c.push(ids[i], solid(all[i].w, all[i].h, all[i].c), kStart + k * 66 + i);
    REQUIRE(c.finish(kStart + 1000, out).is_ok());
    check_continuous(out, kStart, 15);
    auto d = decode_output(out);
    REQUIRE(d.size() == out.size());
    const I420Frame& f = d.back().pic;
    auto cells = VideoCompositor::layout(n, 1280, 720);
    for (uint32_t i = 0; i < n; ++i) {
      Yuv got = cell_centre(f, n, i);
      INFO("cell " << i << " got " << yuv_str(got) << " want " << yuv_str(all[i].c));
      CHECK(near(got, all[i].c));
    }
    if (n == 2) {
      // 4:3 in a 640x720 cell: 640x480 at y = 120; bars above and below.
      CHECK(near(sample(f, 320, 60), kBlack));
      CHECK(near(sample(f, 320, 660), kBlack));
      CHECK(near(sample(f, 320, 130), kRed));
      // 16:9 in the right cell: 640x360 at y = 180.
      CHECK(near(sample(f, 960, 170), kBlack));
      CHECK(near(sample(f, 960, 190), kGreen));
    }
    if (n == 4) {
      // The portrait blue (9:16) in a 640x360 cell: ~202x360, centered: pillars either side.
      CHECK(near(sample(f, 100, 540), kBlack));
      CHECK(near(sample(f, 540, 540), kBlack));
      CHECK(near(sample(f, 320, 370), kBlue));
      // Square white in cell 3: 360x360 at x = 640 + 140.
      CHECK(near(sample(f, 700, 540), kBlack));
      CHECK(near(sample(f, 960, 540), kWhite));
      // Red 4:3 in cell 0: 480x360 at x = 80.
      CHECK(near(sample(f, 40, 180), kBlack));
      CHECK(near(sample(f, 90, 180), kRed));
    }
    if (n == 5) {
      // The sixth cell of the 3x2 grid stays black.
      CHECK(near(cell_centre(f, 5, 5), kBlack));
    }
    CHECK(c.stats().live_max == n);
  }
}

TEST_CASE("compositor: each output frame shows the latest picture with pts <= t, pushed ahead of rendering") {
  VideoCompositor c(opts(320, 180));
  REQUIRE(c.init().is_ok());
  c.set_start(kStart);
  uint32_t s = c.add_source("a");
  // 30 fps input pushed all at once, changing colour at 500 and 1000 ms.
  for (int k = 0; k < 45; ++k) {
    uint64_t pts = kStart + k * 1000 / 30;
    Yuv col = pts < kStart + 500 ? kRed : pts < kStart + 1000 ? kGreen : kBlue;
    c.push(s, solid(320, 180, col), pts);
  }
  std::vector<EncodedVideo> out;
  REQUIRE(c.render_until(kStart + 400, out).is_ok());
  REQUIRE(c.render_until(kStart + 1466, out).is_ok());
  check_continuous(out, kStart, 15);
  auto d = decode_output(out);
  // Frames: 467 red, 533 green, 933 green, 1000 blue (pts == t counts).
  CHECK(near(sample(at(d, kStart + 467), 160, 90), kRed, 20));
  CHECK(near(sample(at(d, kStart + 533), 160, 90), kGreen, 20));
  CHECK(near(sample(at(d, kStart + 933), 160, 90), kGreen, 20));
  CHECK(near(sample(at(d, kStart + 1000), 160, 90), kBlue, 20));
}

TEST_CASE("compositor: with an encoder thread, the same frames come out, the last ones by finish()") {
  // Two sources; a changes colour every 300 ms, b stays: the canvases the
  // encoder thread cycles through must each show the latest pictures.
  auto run = [](bool threaded, std::vector<EncodedVideo>& out, size_t& after_render) {
    CompositorOptions o = opts(320, 180);
    o.encode_thread = threaded;
    o.threads = 1;
    VideoCompositor c(o);
    REQUIRE(c.init().is_ok());
    c.set_start(kStart);
    uint32_t a = c.add_source("a"), b = c.add_source("b");
    const Yuv cols[4] = {kRed, kGreen, kBlue, kWhite};
    for (uint64_t t = 0; t <= 2000; t += 33) {
      c.push(a, solid(160, 90, cols[(t / 300) % 4]), kStart + t);
      if (t == 0) c.push(b, solid(160, 90, kYellow), kStart);
      if (t % 198 == 0) REQUIRE(c.render_until(kStart + t, out).is_ok());
    }
    after_render = out.size();
    REQUIRE(c.finish(kStart + 2000, out).is_ok());
    CHECK(c.stats().frames_out == out.size());
  };
  std::vector<EncodedVideo> sync_out, thread_out;
  size_t sync_n = 0, thread_n = 0;
  run(false, sync_out, sync_n);
  run(true, thread_out, thread_n);
  CHECK(thread_n <= sync_n);
  check_continuous(thread_out, kStart, 15);
  REQUIRE(thread_out.size() == sync_out.size());
  for (size_t k = 0; k < sync_out.size(); ++k) {
    CHECK(thread_out[k].pts_ms == sync_out[k].pts_ms);
    CHECK(thread_out[k].keyframe == sync_out[k].keyframe);
  }
  auto d = decode_output(thread_out);
  const Yuv cols[4] = {kRed, kGreen, kBlue, kWhite};
  for (auto& f : d) {
    uint64_t rel = f.pts - kStart;
    INFO("t " << rel);
    // The latest picture of a at rel was pushed at 33 * floor(rel / 33).
    uint64_t shown = rel / 33 * 33;
    if (shown % 300 > 300 - 33 || shown % 300 < 33) continue;  // near a colour change: either may show
    CHECK(near(sample(f.pic, 80, 90), cols[(shown / 300) % 4], 20));
    CHECK(near(sample(f.pic, 240, 90), kYellow, 20));
  }
}

TEST_CASE("compositor: a source that stops sending is held for hold_ms, then its cell is freed") {
  VideoCompositor c(opts(640, 360));
  REQUIRE(c.init().is_ok());
  c.set_start(kStart);
  uint32_t a = c.add_source("a"), b = c.add_source("b");
  std::vector<EncodedVideo> out;
  for (uint64_t t = 0; t <= 5000; t += 66) {
    if (t <= 1000) c.push(a, solid(320, 180, kRed), kStart + t);  // a freezes after ~1 s
    c.push(b, solid(320, 180, kGreen), kStart + t);
    REQUIRE(c.render_until(kStart + t, out).is_ok());
  }
  check_continuous(out, kStart, 15);
  auto d = decode_output(out);
  // a's last picture is at 990 ms: held up to 2990, gone after.
  const I420Frame& held = at(d, kStart + 2933);
  CHECK(near(sample(held, 160, 180), kRed));
  CHECK(near(sample(held, 480, 180), kGreen));
  const I420Frame& freed = at(d, kStart + 3067);
  CHECK(near(sample(freed, 160, 180), kGreen));  // b alone: full frame
  CHECK(near(sample(freed, 480, 180), kGreen));
  CHECK(near(sample(freed, 320, 180), kGreen));

  // a comes back: side by side again, in order of arrival (a left).
  for (uint64_t t = 5066; t <= 6000; t += 66) {
    c.push(a, solid(320, 180, kBlue), kStart + t);
    c.push(b, solid(320, 180, kGreen), kStart + t);
  }
  REQUIRE(c.finish(kStart + 6000, out).is_ok());
  check_continuous(out, kStart, 15);
  d = decode_output(out);
  const I420Frame& back = d.back().pic;
  CHECK(near(sample(back, 160, 180), kBlue));
  CHECK(near(sample(back, 480, 180), kGreen));
  CHECK(c.stats().live_max == 2);
}

TEST_CASE("compositor: an ended source disappears at once; others keep their cells; a newcomer takes the free cell") {
  VideoCompositor c(opts(640, 360));
  REQUIRE(c.init().is_ok());
  c.set_start(kStart);
  const Yuv cols[5] = {kRed, kGreen, kBlue, kWhite, kYellow};
  std::vector<uint32_t> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(c.add_source("p" + std::to_string(i)));
  std::vector<EncodedVideo> out;
  auto push_all = [&](uint64_t from, uint64_t to, const std::vector<int>& who) {
    for (uint64_t t = from; t <= to; t += 66)
      for (int i : who) c.push(ids[static_cast<size_t>(i)], solid(320, 180, cols[i]), kStart + t);
  };
  push_all(0, 1000, {0, 1, 2, 3});
  REQUIRE(c.render_until(kStart + 1000, out).is_ok());
  c.end_source(ids[1]);  // its last picture was at 990
  push_all(1056, 2000, {0, 2, 3});
  REQUIRE(c.render_until(kStart + 2000, out).is_ok());
  ids.push_back(c.add_source("p4"));
  push_all(2046, 3000, {0, 2, 3, 4});
  REQUIRE(c.finish(kStart + 3000, out).is_ok());
  check_continuous(out, kStart, 15);
  auto d = decode_output(out);
  auto centre = [&](const I420Frame& f, size_t cell) { return cell_centre(f, 4, cell); };
  const I420Frame& before = at(d, kStart + 1000);
  for (size_t i = 0; i < 4; ++i) CHECK(near(centre(before, i), cols[i]));
  const I420Frame& gap = at(d, kStart + 1533);  // 3 live: same 2x2 grid, cell 1 black
  CHECK(near(centre(gap, 0), kRed));
  CHECK(near(centre(gap, 1), kBlack));
  CHECK(near(centre(gap, 2), kBlue));
  CHECK(near(centre(gap, 3), kWhite));
  const I420Frame& after = at(d, kStart + 3000);  // the newcomer in cell 1
  CHECK(near(centre(after, 0), kRed));
  CHECK(near(centre(after, 1), kYellow));
  CHECK(near(centre(after, 2), kBlue));
  CHECK(near(centre(after, 3), kWhite));
  // Pictures pushed after end_source are ignored.
  c.push(ids[1], solid(320, 180, kGreen), kStart + 3100);
}

TEST_CASE("compositor: when the grid changes shape, cells are reassigned in order of arrival") {
  VideoCompositor c(opts(640, 360));
  REQUIRE(c.init().is_ok());
  c.set_start(kStart);
  uint32_t a = c.add_source("a"), b = c.add_source("b"), x = c.add_source("c");
  std::vector<EncodedVideo> out;
  for (uint64_t t = 0; t <= 1000; t += 66) {
    c.push(a, solid(320, 180, kRed), kStart + t);
    c.push(b, solid(320, 180, kGreen), kStart + t);
    c.push(x, solid(320, 180, kBlue), kStart + t);
  }
  REQUIRE(c.render_until(kStart + 1000, out).is_ok());
  c.end_source(a);  // 3 -> 2: 2x2 becomes side by side: b left, c right
  for (uint64_t t = 1056; t <= 1600; t += 66) {
    c.push(b, solid(320, 180, kGreen), kStart + t);
    c.push(x, solid(320, 180, kBlue), kStart + t);
  }
  REQUIRE(c.finish(kStart + 1600, out).is_ok());
  auto d = decode_output(out);
  const I420Frame& f = d.back().pic;
  CHECK(near(sample(f, 160, 180), kGreen));
  CHECK(near(sample(f, 480, 180), kBlue));
}

TEST_CASE("compositor: rotation 90 swaps the aspect, rotating clockwise") {
  VideoCompositor c(opts());
  REQUIRE(c.init().is_ok());
  c.set_start(kStart);
  uint32_t s = c.add_source("phone");
  // 640x360 landscape, red on top, blue below; rotated 90 clockwise: 360x640
  // portrait shown 404x720 at x = 438, red on the right, blue on the left.
  for (int k = 0; k <= 15; ++k) c.push(s, split(640, 360, kRed, kBlue), kStart + k * 66, 90);
  std::vector<EncodedVideo> out;
  REQUIRE(c.finish(kStart + 1000, out).is_ok());
  auto d = decode_output(out);
  const I420Frame& f = d.back().pic;
  CHECK(near(sample(f, 300, 360), kBlack));
  CHECK(near(sample(f, 980, 360), kBlack));
  CHECK(near(sample(f, 540, 360), kBlue));
  CHECK(near(sample(f, 740, 360), kRed));
  CHECK(near(sample(f, 540, 20), kBlue));
  CHECK(near(sample(f, 740, 700), kRed));

  // 180: upside down, same aspect (blue on top).
  VideoCompositor c2(opts(640, 360));
  REQUIRE(c2.init().is_ok());
  c2.set_start(kStart);
  uint32_t s2 = c2.add_source("upside");
  for (int k = 0; k <= 15; ++k) c2.push(s2, split(640, 360, kRed, kBlue), kStart + k * 66, 180);
  std::vector<EncodedVideo> out2;
  REQUIRE(c2.finish(kStart + 1000, out2).is_ok());
  auto d2 = decode_output(out2);
  CHECK(near(sample(d2.back().pic, 320, 60), kBlue));
  CHECK(near(sample(d2.back().pic, 320, 300), kRed));
}

TEST_CASE("compositor: a burst of missing frames keeps the output continuous and decodable") {
  VideoCompositor c(opts(640, 360));
  REQUIRE(c.init().is_ok());
  c.set_start(kStart);
  uint32_t a = c.add_source("lossy"), b = c.add_source("steady");
  std::vector<EncodedVideo> out;
  std::mt19937 rng(3);
  for (uint64_t t = 0; t <= 4000; t += 33) {
    bool lost = (t > 1000 && t < 1800) || rng() % 5 == 0;  // an 800 ms burst and 20% random loss
    if (!lost) c.push(a, solid(320, 240, (t / 500) % 2 ? kRed : kYellow), kStart + t);
    c.push(b, solid(320, 180, kGreen), kStart + t);
    if (t % 198 == 0) REQUIRE(c.render_until(kStart + t, out).is_ok());
  }
  REQUIRE(c.finish(kStart + 4000, out).is_ok());
  CHECK(out.size() == 61);
  check_continuous(out, kStart, 15);
  auto d = decode_output(out);
  CHECK(d.size() == out.size());
  // During the burst the last picture is held: still two cells.
  Yuv held = sample(at(d, kStart + 1600), 160, 180);
  CHECK((near(held, kRed) || near(held, kYellow)));
  CHECK(near(sample(at(d, kStart + 1600), 480, 180), kGreen));
  CHECK(c.stats().live_max == 2);
}

TEST_CASE("compositor: VP9 output, invalid pictures counted, no set_start starts at the first picture") {
  CompositorOptions o = opts(320, 180);
  o.codec = "vp9";
  o.keyframe_interval_frames = 10;
  VideoCompositor c(o);
  uint32_t s = c.add_source("a");
  I420Frame bad = solid(64, 64, kRed);
  bad.u.resize(3);
  c.push(s, bad, kStart);
  c.push(s, I420Frame{}, kStart);
  CHECK(c.stats().decode_errors == 2);
  c.push(s, solid(160, 90, kBlue), kStart + 100);
  c.push(s, solid(160, 90, kBlue), kStart + 50);  // older than the latest: ignored
  std::vector<EncodedVideo> out;
  REQUIRE(c.finish(kStart + 100 + 2100, out).is_ok());  // init() done lazily
  check_continuous(out, kStart + 100, 15);
  CHECK(out.size() == 32);
  size_t keys = static_cast<size_t>(std::count_if(out.begin(), out.end(), [](auto& e) { return e.keyframe; }));
  CHECK(keys >= 3);  // kf_max_dist = 10
  auto d = decode_output(out, true);
  REQUIRE(d.size() == out.size());
  CHECK(near(sample(at(d, kStart + 100 + 2000), 160, 90), kBlue));  // held for hold_ms ...
  CHECK(near(sample(d.back().pic, 160, 90), kBlack));                // ... then gone (t = +2067)
}

TEST_CASE("compositor: odd output sizes and odd picture sizes") {
  VideoCompositor c(opts(333, 187));
  REQUIRE(c.init().is_ok());
  c.set_start(kStart);
  uint32_t a = c.add_source("a"), b = c.add_source("b"), x = c.add_source("c");
  for (int k = 0; k <= 15; ++k) {
    c.push(a, solid(99, 77, kRed), kStart + k * 66);
    c.push(b, solid(1, 1, kGreen), kStart + k * 66);
    c.push(x, solid(1921, 3, kBlue), kStart + k * 66);
  }
  std::vector<EncodedVideo> out;
  REQUIRE(c.finish(kStart + 1000, out).is_ok());
  check_continuous(out, kStart, 15);
  auto d = decode_output(out);
  REQUIRE(d.size() == out.size());
  CHECK(d.back().pic.width == 333);
  CHECK(d.back().pic.height == 187);
  CHECK(near(cell_centre(d.back().pic, 3, 0), kRed));
}
