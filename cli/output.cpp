#include "output.hpp"

#include <algorithm>
#include <charconv>
#include <ctime>

namespace spotgrid::cli {

std::string usd(std::int64_t micros, int decimals) {
  const bool negative = micros < 0;
  const std::uint64_t magnitude =
      negative ? static_cast<std::uint64_t>(-(micros + 1)) + 1 : static_cast<std::uint64_t>(micros);
  // Built one character at a time: GCC 12 -O3 warns (-Wrestrict) on the
  // std::string inserts this would otherwise take.
  const std::string whole = std::to_string(magnitude / 1'000'000);
  std::string text = negative ? "-$" : "$";
  for (std::size_t i = 0; i < whole.size(); ++i) {
    if (i > 0 && (whole.size() - i) % 3 == 0) text.push_back(',');
    text.push_back(whole[i]);
  }
  if (decimals > 0) {
    text.push_back('.');
    std::uint64_t fraction = magnitude % 1'000'000;
    for (int digit = 0, shown = std::min(decimals, 6); digit < shown; ++digit) {
      fraction *= 10;
      text.push_back(static_cast<char>('0' + fraction / 1'000'000));
      fraction %= 1'000'000;
    }
  }
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

std::string utc(std::int64_t unix_seconds) {
  if (unix_seconds == 0) return "-";
  const std::time_t at = unix_seconds;
  std::tm parts{};
  gmtime_r(&at, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &parts);
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
