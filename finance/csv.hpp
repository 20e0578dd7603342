#pragma once
// CSV as finance tools read it (RFC 4180, CRLF line ends).
#include <string>
#include <string_view>

namespace spotgrid::finance {

// RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled.
inline void csv_field(std::string_view text, std::string& out) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) {
    out += text;
    return;
  }
  out += '"';
  for (const char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

template <typename... Fields>
void csv_line(std::string& out, const Fields&... fields) {
  bool first = true;
  const auto add = [&](std::string_view field) {
    if (!first) out += ',';
    first = false;
    csv_field(field, out);
  };
  (add(fields), ...);
  out += "\r\n";
}

}  // namespace spotgrid::finance
