// LabelFont: a line of text (a peer's name) rendered with FreeType into an
// 8-bit coverage mask, for drawing names on the composed video's tiles. The
// font is a TrueType file from a Debian package (fonts-dejavu-core).
#pragma once

#include <roomrec/status.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace roomrec::media {

// DejaVu Sans, from Debian's fonts-dejavu-core.
inline constexpr const char* kLabelFontPath = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

struct TextMask {
  uint32_t width = 0, height = 0;  // height: the line's (ascent + descent)
  std::vector<uint8_t> alpha;      // width x height coverage, 0..255
};

class LabelFont {
 public:
  // Opens the font file; an unreadable file is an error naming it.
  static Result<std::unique_ptr<LabelFont>> open(const std::string& path = kLabelFontPath);
  ~LabelFont();
  LabelFont(const LabelFont&) = delete;
  LabelFont& operator=(const LabelFont&) = delete;

  // `text` (UTF-8; invalid bytes and missing glyphs are skipped) at a pixel
  // size, cut to at most max_width pixels. Not thread-safe: one caller at a time.
  TextMask render(std::string_view text, uint32_t pixel_size, uint32_t max_width);

 private:
  LabelFont() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace roomrec::media
