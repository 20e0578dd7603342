#pragma once
// What the platform accepts as a client's text (names, client order ids, card
// ids, labels): every byte of it must be storable in PostgreSQL and printable
// in a statement, so no NUL, no other control character (C0, DEL, C1).
// UTF-8 validity is checked where the text is read (util::parse_json).
#include <string_view>

namespace spotgrid::util {

inline bool is_clean_text(std::string_view text) {
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
