#pragma once
// How the CLI shows things to a person: aligned tables and exact money.
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace spotgrid::cli {

// Micro-USD as dollars, exactly: "$1,234.56" (`decimals` of the 6 kept, truncated).
std::string usd(std::int64_t micros, int decimals = 2);
// "2.50" (USD) as micro-USD, exactly; nothing when it is not a plain amount.
std::optional<std::int64_t> micros_of(std::string_view usd_text);
// `text` with every control character (a terminal escape, say) shown as '?':
// a server's words are printed, never obeyed by the terminal.
std::string printable(std::string_view text);
// Unix seconds as "2026-12-01 19:20:00" (UTC); "-" for 0.
std::string utc(std::int64_t unix_seconds);

class Table {
 public:
  explicit Table(std::vector<std::string> headings) : headings_(std::move(headings)) {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.empty(); }
  // Columns padded to their widest cell; `nothing` when there are no rows.
  void print(std::ostream& out, std::string_view nothing = "(none)") const;

 private:
  std::vector<std::string> headings_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace spotgrid::cli
