#pragma once
// Rebuilding the market from PostgreSQL (docs/architecture.md#recovery): the latest snapshot, then
// the command log after it, replayed through the deterministic engine. Every
// replayed command must reproduce the events that were committed for it, and
// the rebuilt balances must equal the ledger's; anything else stops recovery.
#include <stdexcept>
#include <string>
#include <vector>

#include "spotgrid/engine/engine.hpp"

namespace pqxx {
class connection_base;
}

namespace spotgrid::ledger {

// Everything the engine is built from besides the log. The catalog and the
// tariffs must be the same on every start (others would change history on
// replay); the fee is the market's from its first start (market_rules), then
// changed by SetPlatformFee commands, so config.platform_fee_bp only starts a
// new market.
struct MarketSetup {
  engine::Catalog catalog;
  engine::TariffBook tariffs;
  engine::EngineConfig config;
};

enum class ReplayFrom { kLatestSnapshot, kBeginning };

// The log and the engine disagree: a corrupt row, or a binary or configuration
// that is not the one that wrote the log.
class ReplayDiverged : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Writes the market's genesis rules first when it has none (a new market).
engine::Engine load_market(pqxx::connection_base& connection, const MarketSetup& setup,
                           ReplayFrom from = ReplayFrom::kLatestSnapshot);

// Differences between the engine's balances and ledger_accounts; empty when equal.
std::vector<std::string> compare_balances(pqxx::connection_base& connection,
                                          const engine::Engine& engine);

}  // namespace spotgrid::ledger
