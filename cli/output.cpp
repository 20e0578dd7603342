#include "output.hpp"

#include <algorithm>
#include <charconv>

#include "spotgrid/util/utc.hpp"

namespace spotgrid::cli {

// util::format_decimal's exact digits, with a dollar sign, thousands
// separators and `decimals` of the six places (truncated).
std::string usd(std::int64_t micros, int decimals) {
  const std::string exact = util::format_decimal(micros);  // "-1234.500000"
  const bool negative = exact.front() == '-';
  const std::size_t point = exact.find('.');
  const std::string_view whole(exact.data() + (negative ? 1 : 0), point - (negative ? 1 : 0));
  std::string text = negative ? "-$" : "$";
  for (std::size_t i = 0; i < whole.size(); ++i) {
    if (i > 0 && (whole.size() - i) % 3 == 0) text.push_back(',');
    text.push_back(whole[i]);
  }
  if (decimals > 0) text.append(exact, point, 1 + static_cast<std::size_t>(std::min(decimals, 6)));
  return text;
}

std::optional<std::int64_t> micros_of(std::string_view text) {
  const std::size_t point = text.find('.');
  const std::string_view whole = text.substr(0, point);
  const std::string_view fraction =
      point == std::string_view::npos ? std::string_view{} : text.substr(point + 1);
  const auto digits = [](std::string_view part) {
    return std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (whole.empty() || whole.size() > 10 || fraction.size() > 6 || !digits(whole) ||
      !digits(fraction))
    return std::nullopt;
  std::int64_t dollars = 0;
  std::from_chars(whole.data(), whole.data() + whole.size(), dollars);
  std::string six(fraction);
  six.append(6 - six.size(), '0');
  std::int64_t part = 0;
  std::from_chars(six.data(), six.data() + six.size(), part);
  return dollars * 1'000'000 + part;
}

std::string printable(std::string_view text) {
  std::string shown(text);
  for (char& c : shown) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) c = '?';
  }
  return shown;
}

std::string utc(std::int64_t unix_seconds) {
  if (unix_seconds == 0) return "-";
  std::string text = util::format_utc(unix_seconds);  // "2026-12-01T19:20:00Z"
  text[10] = ' ';
  text.pop_back();
  return text;
}

void Table::print(std::ostream& out, std::string_view nothing) const {
  if (rows_.empty()) {
    out << nothing << '\n';
    return;
  }
  std::vector<std::size_t> widths(headings_.size());
  for (std::size_t column = 0; column < headings_.size(); ++column) {
    widths[column] = headings_[column].size();
    for (const auto& row : rows_)
      widths[column] = std::max(widths[column], column < row.size() ? row[column].size() : 0);
  }
  const auto line = [&](const std::vector<std::string>& cells) {
    for (std::size_t column = 0; column < widths.size(); ++column) {
      const std::string cell = column < cells.size() ? cells[column] : "";
      out << cell;
      if (column + 1 < widths.size()) out << std::string(widths[column] - cell.size() + 2, ' ');
    }
    out << '\n';
  };
  line(headings_);
  for (const auto& row : rows_)
    line(row);
}

}  // namespace spotgrid::cli
