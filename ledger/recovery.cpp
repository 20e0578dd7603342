#include "spotgrid/ledger/recovery.hpp"

#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <set>

#include "batch_writer.hpp"
#include "spotgrid/engine/codec.hpp"
#include "spotgrid/engine/event_text.hpp"
#include "spotgrid/ledger/postings.hpp"
#include "spotgrid/util/log.hpp"

namespace spotgrid::ledger {

using engine::Engine;

namespace {

constexpr long long kReplayPage = 20'000;

std::string_view view(const pqxx::binarystring& bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

Engine starting_engine(pqxx::transaction_base& txn, const MarketSetup& setup, ReplayFrom from) {
  if (from == ReplayFrom::kLatestSnapshot) {
    const pqxx::result latest = txn.exec(
        "SELECT command_seq, state FROM engine_snapshots ORDER BY command_seq DESC LIMIT 1");
    if (!latest.empty()) {
      const pqxx::binarystring state(latest[0][1]);
      auto restored = Engine::restore(setup.catalog, setup.tariffs, setup.config, view(state));
      if (!restored) {
        throw ReplayDiverged("snapshot at command " + latest[0][0].as<std::string>() +
                             " does not restore with this binary and configuration");
      }
      return std::move(*restored);
    }
  }
  return Engine(setup.catalog, setup.tariffs, setup.config);
}

void replay_row(Engine& engine, const pqxx::row& row, std::vector<engine::Event>& events) {
  const auto seq = row[0].as<std::uint64_t>();
  const pqxx::binarystring bytes(row[1]);
  const auto command = engine::decode_command(view(bytes));
  if (!command) throw ReplayDiverged("command " + std::to_string(seq) + " does not decode");
  events.clear();
  engine.set_event_format(row[3].as<int>());
  const auto result = engine.submit(*command, events);
  engine.set_event_format(engine::kEventFormat);
  if (result.command_seq != seq) {
    throw ReplayDiverged("command " + std::to_string(seq) + " replayed as sequence " +
                         std::to_string(result.command_seq) + ": the log has a gap");
  }
  const std::string replayed = engine::to_text(events);
  if (replayed != row[2].c_str()) {
    throw ReplayDiverged("command " + std::to_string(seq) +
                         " replays to different events. committed:\n" + row[2].c_str() +
                         "\nreplayed:\n" + replayed);
  }
}

// The fee the market was created with (market_rules), if it is known.
std::optional<BasisPoints> pinned_fee(pqxx::transaction_base& txn) {
  const pqxx::result row =
      txn.exec("SELECT value FROM market_rules WHERE name = 'genesis_platform_fee_bp'");
  if (row.empty()) return std::nullopt;
  return static_cast<BasisPoints>(row[0][0].as<long long>());
}

// A genesis rule's encoding (market_genesis), if the market has it pinned.
std::optional<std::string> pinned_rule(pqxx::transaction_base& txn, const char* rule) {
  const pqxx::result row =
      txn.exec_params("SELECT encoded FROM market_genesis WHERE rule = $1", std::string(rule));
  if (row.empty()) return std::nullopt;
  const pqxx::binarystring bytes(row[0][0]);
  return std::string(view(bytes));
}

// What a market began with, and which of it was pinned before this start.
struct Genesis {
  MarketSetup setup;
  bool fee_pinned = false;
  bool tariffs_pinned = false;
  bool catalog_pinned = false;
};

Genesis read_genesis(pqxx::transaction_base& txn, const MarketSetup& given) {
  Genesis genesis{given};
  if (const auto fee = pinned_fee(txn)) {
    genesis.setup.config.platform_fee_bp = *fee;
    genesis.fee_pinned = true;
  }
  if (const auto encoded = pinned_rule(txn, "tariffs")) {
    auto book = engine::decode_tariff_book(*encoded);
    if (!book) throw ReplayDiverged("the market's genesis tariff book does not decode");
    if (*encoded != engine::encode_tariff_book(given.tariffs)) {
      util::log::warn("configured_tariffs_not_the_markets",
                      {{"change_them_with", std::string_view("POST /v1/operator/tariffs")}});
    }
    genesis.setup.tariffs = std::move(*book);
    genesis.tariffs_pinned = true;
  }
  if (const auto encoded = pinned_rule(txn, "catalog")) {
    auto catalog = engine::decode_catalog(*encoded);
    if (!catalog) throw ReplayDiverged("the market's genesis catalog does not decode");
    genesis.setup.catalog = *catalog;
    genesis.catalog_pinned = true;
  }
  return genesis;
}

// Which of the configuration's rules are the genesis ones: those the engine
// began from, from nothing or from a snapshot that still holds them unchanged.
struct Known {
  bool tariffs = false;
  bool catalog = false;
};
Known known_genesis(pqxx::transaction_base& txn, const Genesis& genesis, const Engine& started) {
  const MarketSetup& setup = genesis.setup;
  const engine::TariffBook first(started.tariffs().schedules().front().regions);
  // A snapshot's catalog is the genesis one only if no model was added before it.
  const bool added_before =
      !genesis.catalog_pinned && started.last_command_seq() > 0 &&
      txn.exec_params1(
             "SELECT EXISTS (SELECT 1 FROM command_log WHERE kind = 'add_gpu_model'"
             " AND command_seq <= $1)",
             static_cast<long long>(started.last_command_seq()))[0]
          .as<bool>();
  return {started.tariffs().versions().front() == 0 &&
              engine::encode_tariff_book(first) == engine::encode_tariff_book(setup.tariffs),
          !added_before && started.catalog().models() == setup.catalog.models()};
}

// Pins what a market started from, once each; a racing start pins the same.
void pin_genesis(pqxx::connection_base& connection, const Genesis& genesis, Known known) {
  const MarketSetup& setup = genesis.setup;
  pqxx::work txn(connection, "pin_genesis");
  txn.exec_params(
      "INSERT INTO market_rules (name, value) VALUES ('genesis_platform_fee_bp', $1)"
      " ON CONFLICT (name) DO NOTHING",
      static_cast<long long>(setup.config.platform_fee_bp));
  const auto pin = [&](const char* rule, const std::string& encoded) {
    txn.exec_params(
        "INSERT INTO market_genesis (rule, encoded) VALUES ($1, $2) ON CONFLICT (rule) DO NOTHING",
        std::string(rule), pqxx::binarystring(encoded));
  };
  if (!genesis.tariffs_pinned && known.tariffs)
    pin("tariffs", engine::encode_tariff_book(setup.tariffs));
  if (!genesis.catalog_pinned && known.catalog)
    pin("catalog", engine::encode_catalog(setup.catalog));
  txn.commit();
}

}  // namespace

Engine load_market(pqxx::connection_base& connection, const MarketSetup& given, ReplayFrom from) {
  // One snapshot of the database for the whole load.
  pqxx::transaction<pqxx::isolation_level::repeatable_read, pqxx::readwrite_policy::read_only> txn(
      connection, "recover");
  // A market replays from the fee, the tariffs and the catalog it started
  // with. One from before they were pinned replays from the configuration's,
  // which are pinned only once the whole log has replayed to the events it
  // committed (a configuration changed on the upgrade then stops recovery, and
  // putting it back mends it).
  const Genesis genesis = read_genesis(txn, given);
  Engine engine = starting_engine(txn, genesis.setup, from);
  const Known known = known_genesis(txn, genesis, engine);
  std::vector<engine::Event> events;
  for (;;) {
    const pqxx::result page = txn.exec_params(
        "SELECT command_seq, command, events, event_format FROM command_log"
        " WHERE command_seq > $1"
        " ORDER BY command_seq LIMIT $2",
        static_cast<long long>(engine.last_command_seq()), kReplayPage);
    for (const pqxx::row& row : page)
      replay_row(engine, row, events);
    if (page.size() < static_cast<std::size_t>(kReplayPage)) break;
  }
  txn.commit();
  if (!genesis.fee_pinned || !genesis.tariffs_pinned || !genesis.catalog_pinned)
    pin_genesis(connection, genesis, known);
  return engine;
}

std::vector<std::string> compare_balances(pqxx::connection_base& connection, const Engine& engine) {
  pqxx::read_transaction txn(connection, "compare_balances");
  std::map<std::pair<long long, std::string>, long long> ledger;
  for (const pqxx::row& row : txn.exec("SELECT owner_id, account, balance FROM ledger_accounts"))
    ledger[{row[0].as<long long>(), row[1].as<std::string>()}] = row[2].as<long long>();
  std::vector<std::string> problems;
  const auto expect = [&](long long owner, LedgerAccount account, long long want) {
    const auto it = ledger.find({owner, std::string(to_string(account))});
    const long long have = it == ledger.end() ? 0 : it->second;
    if (have != want) {
      problems.push_back("owner " + std::to_string(owner) + " " + std::string(to_string(account)) +
                         ": ledger " + std::to_string(have) + ", engine " + std::to_string(want));
    }
    if (it != ledger.end()) ledger.erase(it);
  };
  expect(kPlatformOwner, LedgerAccount::kRevenue, engine.platform_revenue());
  std::set<long long> owners;
  for (const auto& entry : ledger)
    owners.insert(entry.first.first);
  for (const long long owner_id : owners) {
    const auto owner = static_cast<AccountId>(owner_id);
    if (owner == kPlatformOwner) continue;
    const engine::AccountView view = engine.account(owner);
    expect(owner, LedgerAccount::kCash, view.cash);
    expect(owner, LedgerAccount::kHold, view.hold);
    expect(owner, LedgerAccount::kReceivable, view.receivable);
  }
  return problems;
}

}  // namespace spotgrid::ledger
