#pragma once
// Reads the gateway answers from PostgreSQL's current-state tables (what the
// persister committed), on one util::PgSession. Each answer is a JSON
// body, or nothing when PostgreSQL did not answer.
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

class ReadStore {
 public:
  explicit ReadStore(std::string conninfo);
  ~ReadStore();
  ReadStore(const ReadStore&) = delete;
  ReadStore& operator=(const ReadStore&) = delete;

  // {"leases": [...]}: the newest `limit` leases where the account is on `side`.
  std::optional<std::string> leases(AccountId account, LeaseSide side, int limit);
  // An order of `buyer` as GET /v1/orders/{id} shows it, from the orders table
  // (for orders the read model no longer keeps); "{}" when there is none.
  std::optional<std::string> order(OrderId order, AccountId buyer);
  // {"trades": [...]}: the newest `limit` leases started in the pool, anonymous.
  std::optional<std::string> trades(PoolIndex pool, int limit);
  // {"history": [...]}: index prices published since `since`, oldest first.
  std::optional<std::string> index_history(PoolIndex pool, UnixSeconds since, int limit);

 private:
  template <typename Fill>
  std::optional<std::string> query(Fill&& fill);

  std::unique_ptr<util::PgSession> database_;
};

}  // namespace spotgrid::gateway
