#pragma once
// Reading CSV as traces come (RFC 4180: quoted fields with doubled quotes, CRLF
// or LF line ends, a UTF-8 byte order mark) into rows of fields that point into
// the text. A quote left open runs to the end of the text: the row is still a
// row, and the trace reader decides whether its fields make sense.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace spotgrid::replay {

class CsvReader {
 public:
  explicit CsvReader(std::string_view text) : text_(text) {
    if (text_.substr(0, 3) == "\xEF\xBB\xBF") text_.remove_prefix(3);
  }

  // The next non-empty row, or false at the end. Fields are valid until the next call.
  bool next(std::vector<std::string_view>& fields) {
    while (position_ < text_.size()) {
      ++line_;
      fields.clear();
      scratch_.clear();
      read_row(fields);
      if (!(fields.size() == 1 && fields[0].empty())) return true;
    }
    return false;
  }
  std::size_t line() const { return line_; }  // of the row last returned, from 1

 private:
  void read_row(std::vector<std::string_view>& fields) {
    // Unquoted fields point into the text; quoted ones into scratch_, which is
    // reserved so that earlier views stay valid while the row is read.
    scratch_.reserve(text_.size() - position_);
    for (;;) {
      if (position_ < text_.size() && text_[position_] == '"') {
        fields.push_back(read_quoted());
      } else {
        const std::size_t start = position_;
        while (position_ < text_.size() && !separator(text_[position_]))
          ++position_;
        fields.push_back(text_.substr(start, position_ - start));
      }
      if (position_ >= text_.size()) return;
      const char separator = text_[position_++];
      if (separator == '\r' && position_ < text_.size() && text_[position_] == '\n') ++position_;
      if (separator != ',') return;  // CRLF, LF or a lone CR ends the row
    }
  }

  std::string_view read_quoted() {
    ++position_;  // the opening quote
    const std::size_t begin = scratch_.size();
    while (position_ < text_.size()) {
      const char c = text_[position_++];
      if (c != '"') {
        if (c == '\n') ++line_;
        scratch_.push_back(c);
      } else if (position_ < text_.size() && text_[position_] == '"') {
        scratch_.push_back('"');
        ++position_;
      } else {
        break;
      }
    }
    // Anything between the closing quote and the separator is not part of the field.
    while (position_ < text_.size() && !separator(text_[position_]))
      ++position_;
    return std::string_view(scratch_).substr(begin);
  }

  static bool separator(char c) { return c == ',' || c == '\n' || c == '\r'; }

  std::string_view text_;
  std::size_t position_ = 0;
  std::size_t line_ = 0;
  std::string scratch_;
};

// Column positions by header name (trimmed, lower case); unknown columns are ignored.
class CsvColumns {
 public:
  explicit CsvColumns(const std::vector<std::string_view>& header) {
    for (std::size_t i = 0; i < header.size(); ++i)
      index_.emplace(normalised(header[i]), i);
  }
  bool has(const std::string& name) const { return index_.contains(name); }
  // The field of `name` in `row`, trimmed; empty when the column or the field is absent.
  std::string_view get(const std::vector<std::string_view>& row, const std::string& name) const {
    const auto found = index_.find(name);
    if (found == index_.end() || found->second >= row.size()) return {};
    return trimmed(row[found->second]);
  }

  static std::string_view trimmed(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
      text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
      text.remove_suffix(1);
    return text;
  }

 private:
  static std::string normalised(std::string_view name) {
    std::string out(trimmed(name));
    for (char& c : out)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
  }
  std::unordered_map<std::string, std::size_t> index_;
};

}  // namespace spotgrid::replay
