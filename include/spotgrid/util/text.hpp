#pragma once
// What the platform accepts as a client's text (names, client order ids, card
// ids, labels): every byte of it must be storable in PostgreSQL and printable
// in a statement: well-formed UTF-8, no NUL, no other control character (C0,
// DEL, C1). The JSON reader validates the bytes it is sent, but a \u escape
// of a lone surrogate (\udc00) decodes to bytes that are not UTF-8, so the
// decoded text is checked again here.
#include <cstddef>
#include <string_view>

namespace spotgrid::util {

// Well-formed UTF-8 (RFC 3629 table 3-7): no overlong forms, no surrogates
// (U+D800..U+DFFF), nothing above U+10FFFF.
inline bool is_utf8(std::string_view text) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const auto in = [](unsigned char b, unsigned char low, unsigned char high) {
    return b >= low && b <= high;
  };
  std::size_t i = 0;
  while (i < text.size()) {
    const unsigned char lead = byte(i);
    std::size_t length = 0;
    unsigned char low = 0x80;
    unsigned char high = 0xbf;  // the range of the second byte
    if (lead < 0x80) {
      ++i;
      continue;
    } else if (in(lead, 0xc2, 0xdf)) {
      length = 2;
    } else if (lead == 0xe0) {
      length = 3, low = 0xa0;
    } else if (lead == 0xed) {
      length = 3, high = 0x9f;  // not a surrogate
    } else if (in(lead, 0xe1, 0xef)) {
      length = 3;
    } else if (lead == 0xf0) {
      length = 4, low = 0x90;
    } else if (lead == 0xf4) {
      length = 4, high = 0x8f;  // at most U+10FFFF
    } else if (in(lead, 0xf1, 0xf3)) {
      length = 4;
    } else {
      return false;
    }
    if (i + length > text.size() || !in(byte(i + 1), low, high)) return false;
    for (std::size_t k = 2; k < length; ++k) {
      if (!in(byte(i + k), 0x80, 0xbf)) return false;
    }
    i += length;
  }
  return true;
}

inline bool is_clean_text(std::string_view text) {
  if (!is_utf8(text)) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x20 || byte == 0x7f) return false;
    // U+0080..U+009F (C1 controls) are 0xC2 0x80..0x9F in UTF-8.
    if (byte == 0xc2 && i + 1 < text.size()) {
      const auto next = static_cast<unsigned char>(text[i + 1]);
      if (next >= 0x80 && next <= 0x9f) return false;
    }
  }
  return true;
}

}  // namespace spotgrid::util
