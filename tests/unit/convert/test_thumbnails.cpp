// Issue 19, thumbnails: a WebM whose picture changes shade every second, key
// frames every 3 s; thumbnails every 5 s must show the shade of their second,
// decode only the frames from the key frame before each time, and come with a
// sprite sheet and a WebVTT track pointing into it.
#include <doctest/doctest.h>

#include "../temp_dir.h"

#include <roomrec/thumbnails.h>

#include <jpeglib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "../media_synth.h"
#include "media/webm_writer.h"

using namespace roomrec;
using namespace roomrec::testing;

namespace {

struct Decoded {
  uint32_t width = 0, height = 0;
  std::vector<uint8_t> rgb;
  double mean(uint32_t x0, uint32_t y0, uint32_t w, uint32_t h) const {
    double sum = 0;
    for (uint32_t y = y0; y < y0 + h; ++y)
      for (uint32_t x = x0; x < x0 + w; ++x) sum += rgb[(static_cast<size_t>(y) * width + x) * 3 + 1];  // green
    return sum / (static_cast<double>(w) * h);
  }
};

Decoded read_jpeg(const std::string& path) {
  Decoded d;
  FILE* f = std::fopen(path.c_str(), "rb");
  REQUIRE_MESSAGE(f, path);
  jpeg_decompress_struct c{};
  jpeg_error_mgr err{};
  c.err = jpeg_std_error(&err);
  jpeg_create_decompress(&c);
  jpeg_stdio_src(&c, f);
  REQUIRE(jpeg_read_header(&c, TRUE) == JPEG_HEADER_OK);
  c.out_color_space = JCS_RGB;
  jpeg_start_decompress(&c);
  d.width = c.output_width;
  d.height = c.output_height;
  d.rgb.resize(static_cast<size_t>(d.width) * d.height * 3);
  while (c.output_scanline < c.output_height) {
    JSAMPROW row = d.rgb.data() + static_cast<size_t>(c.output_scanline) * d.width * 3;
    jpeg_read_scanlines(&c, &row, 1);
  }
  jpeg_finish_decompress(&c);
  jpeg_destroy_decompress(&c);
  std::fclose(f);
  return d;
}

// The gray a shade of luma Y becomes in RGB (BT.601 limited range).
double gray_of(int y) { return (y - 16) * 255.0 / 219.0; }
int shade_of_second(uint32_t s) { return 30 + static_cast<int>(s) * 7; }

std::string write_shaded_webm(const std::string& path, uint32_t seconds) {
  const uint32_t fps = 10;
  auto frames = encode_vp8_painted(320, 180, seconds * fps, fps, 30, [&](uint32_t i, vpx_image_t& img) {
    fill_i420(img, static_cast<uint8_t>(shade_of_second(i / fps)), 128, 128);
  }, false, 600);
  auto w = media::WebmWriter::create(path, media::Container::webm).value();
  media::VideoTrackParams p;
  p.codec = "vp8";
  p.width = 320;
  p.height = 180;
  p.frame_rate = fps;
  uint64_t track = w->add_video_track(p).value();
  for (const auto& f : frames)
    REQUIRE(w->write_frame(track, f.data.data(), f.data.size(), uint64_t{f.index} * 100'000'000ull, f.keyframe).is_ok());
  REQUIRE(w->finish().is_ok());
  return path;
}

}  // namespace

TEST_CASE("thumbnails: the picture of each time, only the needed frames decoded, sprite and VTT") {
  TempDir dir;
  const std::string webm = write_shaded_webm(dir.str() + "/room.webm", 25);
  ThumbnailOptions o;
  o.output_dir = dir.str() + "/thumbs";
  o.interval_s = 5;
  o.columns = 3;
  auto r = make_thumbnails(webm, o);
  REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
  REQUIRE(r->thumbnails.size() == 5);  // 0, 5, 10, 15, 20 s of a 25 s file
  CHECK(r->width == 160);
  CHECK(r->height == 90);
  CHECK(r->frames_in_file == 250);
  // Key frames every 3 s: 0 s (1 frame), 3..5 s (21), 9..10 s (11), 15 s (1), 18..20 s (21).
  CHECK(r->frames_decoded == 55);
  for (size_t i = 0; i < r->thumbnails.size(); ++i) {
    const Thumbnail& t = r->thumbnails[i];
    CHECK(t.time_ms == i * 5000);
    Decoded d = read_jpeg(t.path);
    REQUIRE(d.width == 160);
    REQUIRE(d.height == 90);
    const double want = gray_of(shade_of_second(static_cast<uint32_t>(i * 5)));
    INFO("thumbnail " << i << ": mean " << d.mean(0, 0, 160, 90) << ", the shade of second " << i * 5 << " is " << want);
    CHECK(std::abs(d.mean(0, 0, 160, 90) - want) < 4);  // the next second's shade is 8 away
  }
  // The sprite: 3 columns, 2 rows, each thumbnail where the result says.
  Decoded sprite = read_jpeg(r->sprite_path);
  CHECK(sprite.width == 480);
  CHECK(sprite.height == 180);
  for (const auto& t : r->thumbnails) {
    Decoded one = read_jpeg(t.path);
    CHECK(std::abs(sprite.mean(t.x + 8, t.y + 8, 144, 74) - one.mean(8, 8, 144, 74)) < 3);
  }
  // The VTT: cues back to back over the file, each pointing at its thumbnail in the sprite.
  std::ifstream f(r->vtt_path);
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string vtt = ss.str();
  CHECK(vtt.rfind("WEBVTT\n", 0) == 0);
  std::regex cue(R"((\d\d):(\d\d):(\d\d)\.(\d\d\d) --> (\d\d):(\d\d):(\d\d)\.(\d\d\d)\nroom-sprite\.jpg#xywh=(\d+),(\d+),160,90\n)");
  size_t n = 0;
  uint64_t prev_end = 0;
  for (auto it = std::sregex_iterator(vtt.begin(), vtt.end(), cue); it != std::sregex_iterator(); ++it, ++n) {
    auto ms = [&](int k) {
      return std::stoull((*it)[k]) * 3'600'000 + std::stoull((*it)[k + 1]) * 60'000 + std::stoull((*it)[k + 2]) * 1000 +
             std::stoull((*it)[k + 3]);
    };
    REQUIRE(n < r->thumbnails.size());
    CHECK(ms(1) == r->thumbnails[n].time_ms);
    CHECK(ms(1) == prev_end);
    prev_end = ms(5);
    CHECK(std::stoul((*it)[9]) == r->thumbnails[n].x);
    CHECK(std::stoul((*it)[10]) == r->thumbnails[n].y);
  }
  CHECK(n == 5);
  CHECK(prev_end == r->duration_ms);
  CHECK(r->duration_ms == 25'000);
}

TEST_CASE("thumbnails: bad options and inputs get clear errors") {
  TempDir dir;
  ThumbnailOptions o;
  o.output_dir = dir.str();
  o.width = 161;
  CHECK(validate(o).message() == "thumbnails.width must be even, 16..1920");
  o.width = 160;
  o.interval_s = 0;
  CHECK(make_thumbnails("/nonexistent.webm", o).status().message() == "thumbnails.interval_s must be 1..3600");
  o.interval_s = 10;
  CHECK(make_thumbnails(dir.str() + "/missing.webm", o).status().code() == ErrorCode::not_found);
  std::ofstream(dir.str() + "/junk.webm") << "this is not a matroska file at all";
  CHECK(make_thumbnails(dir.str() + "/junk.webm", o).status().code() == ErrorCode::corrupt);
}
