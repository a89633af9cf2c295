#include "media/label_font.h"

#include <ft2build.h>
#include FT_FREETYPE_H

#include <algorithm>

namespace roomrec::media {

struct LabelFont::Impl {
  FT_Library lib = nullptr;
  FT_Face face = nullptr;
  ~Impl() {
    if (face) FT_Done_Face(face);
    if (lib) FT_Done_FreeType(lib);
  }
};

LabelFont::~LabelFont() = default;

Result<std::unique_ptr<LabelFont>> LabelFont::open(const std::string& path) {
  std::unique_ptr<LabelFont> f(new LabelFont);
  f->impl_ = std::make_unique<Impl>();
  if (FT_Init_FreeType(&f->impl_->lib) != 0) return Status::error(ErrorCode::internal, "FreeType did not start");
  if (FT_New_Face(f->impl_->lib, path.c_str(), 0, &f->impl_->face) != 0)
    return Status::error(ErrorCode::not_found, "cannot load the font for names on tiles: " + path +
                                                   " (Debian package fonts-dejavu-core)");
  return f;
}

namespace {

// The next code point of UTF-8 text, or 0 past the end; an invalid byte is skipped (returns U+FFFD).
uint32_t next_code_point(std::string_view s, size_t& i) {
  if (i >= s.size()) return 0;
  unsigned char c = static_cast<unsigned char>(s[i++]);
  if (c < 0x80) return c;
  int extra = c >= 0xF0 && c < 0xF5 ? 3 : c >= 0xE0 ? 2 : c >= 0xC2 && c < 0xE0 ? 1 : -1;
  if (extra < 0) return 0xFFFD;
  uint32_t cp = c & (0x3F >> extra);
  for (int k = 0; k < extra; ++k) {
    if (i >= s.size() || (static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) return 0xFFFD;
    cp = (cp << 6) | (static_cast<unsigned char>(s[i++]) & 0x3F);
  }
  return cp;
}

}  // namespace

TextMask LabelFont::render(std::string_view text, uint32_t pixel_size, uint32_t max_width) {
  TextMask m;
  FT_Face face = impl_->face;
  if (pixel_size == 0 || max_width == 0 || FT_Set_Pixel_Sizes(face, 0, pixel_size) != 0) return m;
  const int ascent = static_cast<int>(face->size->metrics.ascender >> 6);
  const int descent = static_cast<int>(-face->size->metrics.descender >> 6);
  m.height = static_cast<uint32_t>(std::max(1, ascent + descent));
  m.width = max_width;
  m.alpha.assign(size_t{m.width} * m.height, 0);
  int pen = 0;
  uint32_t right = 0;
  size_t i = 0;
  while (uint32_t cp = next_code_point(text, i)) {
    if (cp == 0xFFFD || cp < 0x20) continue;
    if (FT_Load_Char(face, cp, FT_LOAD_RENDER) != 0) continue;
    const FT_GlyphSlot g = face->glyph;
    const int advance = static_cast<int>(g->advance.x >> 6);
    if (pen + advance > static_cast<int>(max_width)) break;  // cut at the tile's width
    const FT_Bitmap& b = g->bitmap;
    for (unsigned r = 0; r < b.rows; ++r) {
      int y = ascent - g->bitmap_top + static_cast<int>(r);
      if (y < 0 || y >= static_cast<int>(m.height)) continue;
      for (unsigned c = 0; c < b.width; ++c) {
        int x = pen + g->bitmap_left + static_cast<int>(c);
        if (x < 0 || x >= static_cast<int>(m.width)) continue;
        uint8_t a = b.buffer[static_cast<ptrdiff_t>(r) * b.pitch + c];
        uint8_t& d = m.alpha[static_cast<size_t>(y) * m.width + static_cast<size_t>(x)];
        d = std::max(d, a);
        right = std::max(right, static_cast<uint32_t>(x + 1));
      }
    }
    pen += advance;
    right = std::max(right, static_cast<uint32_t>(std::max(0, pen)));
  }
  // Trim to the text's width.
  if (right < m.width) {
    std::vector<uint8_t> t(size_t{right} * m.height);
    for (uint32_t y = 0; y < m.height; ++y)
      std::copy_n(m.alpha.begin() + static_cast<ptrdiff_t>(y) * m.width, right, t.begin() + static_cast<ptrdiff_t>(y) * right);
    m.alpha.swap(t);
    m.width = right;
  }
  return m;
}

}  // namespace roomrec::media
