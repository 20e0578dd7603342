#pragma once
// Reads the gateway answers from PostgreSQL's current-state tables (what the
// persister committed), on one util::PgSession. Each answer is a JSON
// body, or nothing when PostgreSQL did not answer.
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "spotgrid/engine/types.hpp"

namespace spotgrid::util {
class PgSession;
}

namespace spotgrid::gateway {

enum class LeaseSide : std::uint8_t { kBuyer, kSupplier };

// One page of an account's history, newest first. The cursor is the id of the
// last row of the previous page: ids only grow, so paging is stable while rows
// are added.
struct HistoryPage {
  std::uint64_t before = 0;  // 0: from the newest
  int limit = 100;
  int pool = -1;                           // -1: every pool
  std::string statuses;                    // the table's words, comma-separated; "": any
  UnixSeconds from = 0;                    // created (orders) or started (leases) in
  UnixSeconds to = std::int64_t{1} << 62;  //   [from, to)
};

class ReadStore {
 public:
  // `statement_timeout` > 0: each query is cancelled past it (answered 503).
  explicit ReadStore(std::string conninfo,
                     std::chrono::milliseconds statement_timeout = std::chrono::milliseconds{0});
  ~ReadStore();
  ReadStore(const ReadStore&) = delete;
  ReadStore& operator=(const ReadStore&) = delete;

  // {"leases": [...]}: the newest `limit` leases where the account is on `side`.
  // `live(lease, writer)` may add fields to a row (what the read model knows
  // of a running lease that the table does not).
  using RowWriter = rapidjson::Writer<rapidjson::StringBuffer>;
  // With "next_cursor" when more rows follow (null on the last page).
  std::optional<std::string> leases(AccountId account, LeaseSide side, const HistoryPage& page,
                                    const std::function<void(LeaseId, RowWriter&)>& live = {});
  // An order of `buyer` as GET /v1/orders/{id} shows it, from the orders table
  // (for orders the read model no longer keeps); "{}" when there is none.
  std::optional<std::string> order(OrderId order, AccountId buyer);
  // {"trades": [...], "next_cursor"}: leases started in the pool in [from, to),
  // anonymous, newest first, `limit` a page. Pages are keyed by (start, lease)
  // below `before`: stable while trades are added.
  struct TradePage {
    UnixSeconds before_at = 0;  // 0: from the newest
    std::uint64_t before_lease = 0;
    UnixSeconds from = 0;
    UnixSeconds to = std::int64_t{1} << 62;
    int limit = 100;
  };
  std::optional<std::string> trades(PoolIndex pool, const TradePage& page);
  // The buyer's orders in every state, a page at a time (as leases).
  std::optional<std::string> orders(AccountId buyer, const HistoryPage& page);
  // The supplier's latest nodes and listings, newest first.
  // `live(node, writer)` may add fields to a row, as for leases.
  std::optional<std::string> nodes(AccountId supplier, int limit,
                                   const std::function<void(NodeId, RowWriter&)>& live = {});
  std::optional<std::string> listings(AccountId supplier, int limit);
  // The energy and power the agent measured on a lease's cards, if it is
  // `account`'s (as buyer or supplier); "{}" when it is not.
  std::optional<std::string> lease_energy(LeaseId lease, AccountId account);
  // {"actions": [...], "next_cursor"}: the operator's commands (deposits, halts,
  // suspensions, quarantines) committed in [from, to) after command `after`,
  // oldest first, `limit` a page.
  std::optional<std::string> operator_actions(UnixSeconds from, UnixSeconds to, std::uint64_t after,
                                              int limit);
  // {"deliveries": [...], "next_cursor"}: a page of a webhook endpoint's
  // delivery log, newest event first; "{}" when the endpoint is not `account`'s.
  std::optional<std::string> webhook_deliveries(AccountId account, std::int64_t endpoint,
                                                const HistoryPage& page);
  // {"days": [{day, earned_micros}]}: what settlements credited to the
  // supplier's receivable per UTC day since `since`.
  std::optional<std::string> earnings(AccountId supplier, UnixSeconds since);
  // {"candles": [{at, open, high, low, close, samples}]}: the index per
  // `interval` seconds over [from, to), intervals without a price left out.
  // `of_trades`: of the prices leases started at, with "cards" (volume) and
  // "samples" the number of trades; else of the index.
  std::optional<std::string> candles(PoolIndex pool, UnixSeconds from, UnixSeconds to,
                                     UnixSeconds interval, bool of_trades = false);
  // {"history": [...]}: index prices published since `since`, oldest first.
  std::optional<std::string> index_history(PoolIndex pool, UnixSeconds since, int limit);

 private:
  template <typename Fill>
  std::optional<std::string> query(Fill&& fill);

  std::unique_ptr<util::PgSession> database_;
  std::chrono::milliseconds statement_timeout_;
};

}  // namespace spotgrid::gateway
