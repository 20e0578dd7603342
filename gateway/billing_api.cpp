#include "billing_api.hpp"

#include <charconv>
#include <chrono>
#include <cstdint>
#include <pqxx/pqxx>
#include <tuple>

#include "api_support.hpp"
#include "spotgrid/finance/export.hpp"
#include "spotgrid/finance/payouts.hpp"
#include "spotgrid/finance/statements.hpp"
#include "spotgrid/ledger/trial_balance.hpp"
#include "spotgrid/util/log.hpp"

namespace spotgrid::gateway {
namespace {

// One answer holds every payout of a range or none (no silent truncation).
constexpr std::size_t kMaxPayoutsPerAnswer = 100'000;

// Holds one of the export slots until the body is written (or abandoned).
// An export's rows, a page at a time: each page is fetched on the worker
// pool (a FETCH can take seconds), and the cursor (its transaction and
// connection) is closed there too, never on the connection's I/O thread.
class ExportBody final : public BodySource {
 public:
  ExportBody(std::unique_ptr<finance::ExportCursor> cursor, WorkerPool& pages,
             std::shared_ptr<std::atomic<int>> running)
      : cursor_(std::make_shared<Cursor>(std::move(cursor))),
        pages_(pages),
        running_(std::move(running)),
        owner_("export-" + std::to_string(reinterpret_cast<std::uintptr_t>(this))) {}
  ~ExportBody() override {
    --*running_;
    // Closed by a job on the pool, whoever holds the last copy of cursor_
    // (only if the pool is stopping does this thread close it).
    run_on_worker(
        pages_, owner_, [cursor = cursor_](const Respond&) { cursor->reset(); },
        [](const HttpResponse&) {});
  }
  ExportBody(const ExportBody&) = delete;
  ExportBody& operator=(const ExportBody&) = delete;

  void next(std::function<void(Piece)> deliver) override {
    run_on_worker(
        pages_, owner_,
        [cursor = cursor_, deliver](const Respond&) {
          Piece piece;
          try {
            auto page = (*cursor) ? (*cursor)->next() : std::nullopt;
            piece.kind = page ? Piece::Kind::kData : Piece::Kind::kEnd;
            if (page) piece.data = std::move(*page);
          } catch (const std::exception& error) {
            util::log::warn("export_failed", {{"cause", error.what()}});
            piece.kind = Piece::Kind::kFailed;
          }
          deliver(std::move(piece));
        },
        [deliver](const HttpResponse& refused) {
          util::log::warn("export_cut_short", {{"status", std::uint64_t{refused.status}}});
          deliver(Piece{Piece::Kind::kFailed, {}});
        });
  }

 private:
  // One page job runs at a time (the connection asks for the next piece
  // only once it has the previous one), so the cursor needs no lock.
  using Cursor = std::unique_ptr<finance::ExportCursor>;

  std::shared_ptr<Cursor> cursor_;
  WorkerPool& pages_;  // Service declares its pools before the server: they outlive sessions
  std::shared_ptr<std::atomic<int>> running_;
  std::string owner_;
};

}  // namespace

std::optional<std::pair<UnixSeconds, UnixSeconds>> time_range(const Api& api,
                                                              const HttpRequest& request,
                                                              const Respond& respond) {
  std::pair<UnixSeconds, UnixSeconds> range;
  for (const char* name : {"from", "to"}) {
    const auto text = query_value(request.target, name);
    const auto at = text ? parse_instant(*text) : std::nullopt;
    if (!at) {
      respond(error_response(
          400, "invalid_query",
          std::string(name) + " must be Unix seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)",
          name));
      return std::nullopt;
    }
    (std::string_view(name) == "from" ? range.first : range.second) = *at;
  }
  if (range.second <= range.first) {
    respond(error_response(400, "invalid_query", "to must be after from", "to"));
    return std::nullopt;
  }
  if (range.second - range.first > api.settings.max_export_days * 86'400) {
    respond(error_response(
        400, "invalid_query",
        "the range is longer than " + std::to_string(api.settings.max_export_days) + " days",
        "to"));
    return std::nullopt;
  }
  return range;
}

bool accounts_shown(const Principal& caller, const HttpRequest& request, const Respond& respond,
                    std::optional<AccountId>& account) {
  if (!is_platform_role(caller.role)) {
    account = caller.account;
    return true;
  }
  const auto wanted = query_value(request.target, "account");
  if (!wanted) return true;
  account = id_of<AccountId>(*wanted);
  if (!account)
    respond(error_response(400, "invalid_query", "account must be an account id", "account"));
  return account.has_value();
}

void billing_export(Api& api, const Principal& caller, const HttpRequest& request,
                    Respond& respond) {
  finance::ExportRequest wanted;
  if (is_platform_role(caller.role)) {
    wanted.scope = finance::ExportScope::kAll;
  } else {
    wanted.scope = caller.role == Role::kBuyer ? finance::ExportScope::kBuyer
                                               : finance::ExportScope::kSupplier;
    wanted.account = caller.account;
  }
  const auto format_text = query_value(request.target, "format").value_or("csv");
  const auto format = finance::parse_export_format(format_text);
  if (!format)
    return respond(
        error_response(400, "invalid_query", "format must be csv, json or focus", "format"));
  wanted.format = *format;
  const auto range = time_range(api, request, respond);
  if (!range) return;
  std::tie(wanted.from, wanted.to) = *range;
  if (++*api.exports_running > api.settings.max_concurrent_exports) {
    --*api.exports_running;
    HttpResponse busy = error_response(503, "busy", "too many exports running: retry shortly");
    busy.headers.emplace_back("Retry-After", "5");
    return respond(std::move(busy));
  }
  try {
    auto cursor = std::make_unique<finance::ExportCursor>(api.settings.postgres_conninfo, wanted,
                                                          api.setup.catalog, api.setup.tariffs);
    HttpResponse streamed;
    streamed.content_type = std::string(finance::RowWriter::content_type(wanted.format));
    streamed.stream =
        std::make_shared<ExportBody>(std::move(cursor), api.export_pages, api.exports_running);
    respond(std::move(streamed));
  } catch (const std::exception&) {
    --*api.exports_running;
    respond(error_response(503, "unavailable", "cannot read the ledger now"));
  }
}

void billing_statements(Api& api, const Principal& caller, const HttpRequest& request,
                        bool invoices, Respond& respond) {
  const Role own_role = invoices ? Role::kBuyer : Role::kSupplier;
  if (caller.role != own_role && !is_platform_role(caller.role)) return respond(forbidden());
  const auto month_text = query_value(request.target, "month");
  const auto month = month_text ? finance::parse_month(*month_text) : std::nullopt;
  if (!month)
    return respond(error_response(400, "invalid_query", "month must be YYYY-MM (UTC)", "month"));
  const std::string_view format = query_value(request.target, "format").value_or("json");
  if (format != "json" && format != "csv")
    return respond(error_response(400, "invalid_query", "format must be json or csv", "format"));
  std::optional<AccountId> account;
  if (!accounts_shown(caller, request, respond, account)) return;
  const auto kind = invoices ? finance::StatementKind::kInvoice : finance::StatementKind::kPayout;
  std::vector<finance::Statement> statements;
  try {
    pqxx::connection connection(api.settings.postgres_conninfo);
    statements = finance::monthly_statements(connection, kind, *month, account);
  } catch (const std::exception&) {
    return respond(error_response(503, "unavailable", "cannot read the ledger now"));
  }
  if (format == "csv") {
    return respond(HttpResponse{200,
                                finance::statements_csv(statements, kind, api.setup.catalog),
                                "text/csv; charset=utf-8",
                                {},
                                {}});
  }
  respond(HttpResponse{200,
                       finance::statements_json(statements, kind, api.setup.catalog),
                       "application/json",
                       {},
                       {}});
}

void payout_transfers(Api& api, const Principal& caller, const HttpRequest& request,
                      Respond& respond) {
  if (caller.role != Role::kSupplier && !is_platform_role(caller.role)) return respond(forbidden());
  const std::string_view format = query_value(request.target, "format").value_or("json");
  if (format != "json" && format != "csv")
    return respond(error_response(400, "invalid_query", "format must be json or csv", "format"));
  const auto range = time_range(api, request, respond);
  if (!range) return;
  std::optional<AccountId> account;
  if (!accounts_shown(caller, request, respond, account)) return;
  std::vector<finance::PayoutRecord> payouts;
  try {
    pqxx::connection connection(api.settings.postgres_conninfo);
    payouts = finance::payouts_between(connection, range->first, range->second, account,
                                       kMaxPayoutsPerAnswer + 1);
  } catch (const std::exception&) {
    return respond(error_response(503, "unavailable", "cannot read the ledger now"));
  }
  if (payouts.size() > kMaxPayoutsPerAnswer) {
    return respond(error_response(
        400, "invalid_query",
        "more than " + std::to_string(kMaxPayoutsPerAnswer) + " payouts: ask for a shorter range",
        "to"));
  }
  if (format == "csv") {
    return respond(
        HttpResponse{200, finance::payouts_csv(payouts), "text/csv; charset=utf-8", {}, {}});
  }
  respond(HttpResponse{200, finance::payouts_json(payouts), "application/json", {}, {}});
}

void ledger_trial_balance(Api& api, const Principal& caller, Respond& respond) {
  if (!is_platform_role(caller.role)) return respond(forbidden());
  ledger::TrialBalance balance;
  try {
    pqxx::connection connection(api.settings.postgres_conninfo);
    balance = ledger::trial_balance(connection);
  } catch (const std::exception&) {
    return respond(error_response(503, "unavailable", "cannot read the ledger now"));
  }
  respond(json(200, [&](Writer& w) {
    key(w, "accounts");
    w.StartArray();
    for (const ledger::TrialBalanceLine& line : balance.lines) {
      w.StartObject();
      field(w, "account", line.account);
      field(w, "count", line.accounts);
      field(w, "balance_micros", line.balance);
      w.EndObject();
    }
    w.EndArray();
    field(w, "total_micros", balance.total);
    field(w, "transactions", balance.transactions);
  }));
}

}  // namespace spotgrid::gateway
