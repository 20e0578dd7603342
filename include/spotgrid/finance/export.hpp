#pragma once
// Billing exports (docs/architecture.md#finance-reports): one row per lease per charge hour,
// read from one consistent snapshot (REPEATABLE READ) and handed out a page at a time,
// so memory stays constant whatever the range. Formats: csv and json (our own
// columns, money in integer micro-units) and focus (FinOps FOCUS 1.2, CSV).
//
// A charge hour is the UTC hour in which metering settled the charge (the
// engine's settlement time, at most a few seconds after the metered seconds).
// Credits (settlements reversed after an interruption) are rows of their own.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "spotgrid/engine/catalog.hpp"
#include "spotgrid/engine/tariff.hpp"
#include "spotgrid/engine/types.hpp"
#include "spotgrid/util/utc.hpp"

namespace spotgrid::finance {

enum class ExportFormat : std::uint8_t { kCsv, kJson, kFocus };
std::optional<ExportFormat> parse_export_format(std::string_view text);

// Whose rows: everyone's (finance, operator), or one buyer's or supplier's.
enum class ExportScope : std::uint8_t { kAll, kBuyer, kSupplier };

struct ExportRequest {
  UnixSeconds from = 0;  // inclusive
  UnixSeconds to = 0;    // exclusive
  ExportFormat format = ExportFormat::kCsv;
  ExportScope scope = ExportScope::kAll;
  AccountId account = 0;  // for kBuyer and kSupplier
};

struct ChargeRow {
  LeaseId lease = 0;
  UnixSeconds hour = 0;  // the charge hour's start
  Micros charge = 0;     // negative for a credit
  Micros platform_fee = 0;
  AccountId buyer = 0;
  std::string buyer_name;
  AccountId supplier = 0;
  NodeId node = 0;
  PoolIndex pool = 0;
  RegionIndex region = 0;
  std::uint32_t cards = 0;
  Micros price_micros_per_card_hour = 0;
  std::int64_t energy_joules = 0;  // what the agent measured on the lease's cards that hour
};

// The times and amounts exports print (spotgrid/util/utc.hpp).
using util::format_decimal;
using util::format_utc;

// Writes rows in one format: the header, rows, the trailer.
class RowWriter {
 public:
  RowWriter(ExportFormat format, const engine::Catalog& catalog, const engine::TariffBook& tariffs)
      : format_(format), catalog_(catalog), tariffs_(tariffs) {}
  void header(std::string& out) const;
  void row(const ChargeRow& row, std::string& out);
  void trailer(std::string& out) const;
  static std::string_view content_type(ExportFormat format);

 private:
  ExportFormat format_;
  const engine::Catalog& catalog_;
  const engine::TariffBook& tariffs_;
  bool first_ = true;
};

// An export in progress: its own connection and snapshot. next() answers the
// next page of text (header first, trailer last), then nullopt.
class ExportCursor {
 public:
  static constexpr std::size_t kRowsPerPage = 2'000;

  ExportCursor(const std::string& conninfo, const ExportRequest& request,
               const engine::Catalog& catalog, const engine::TariffBook& tariffs);
  ~ExportCursor();
  ExportCursor(const ExportCursor&) = delete;
  ExportCursor& operator=(const ExportCursor&) = delete;

  std::optional<std::string> next();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace spotgrid::finance
