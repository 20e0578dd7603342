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

// The tariff book the market was created with (market_genesis_tariffs), if it is known.
std::optional<engine::TariffBook> pinned_tariffs(pqxx::transaction_base& txn) {
  const pqxx::result row = txn.exec("SELECT book FROM market_genesis_tariffs");
  if (row.empty()) return std::nullopt;
  const pqxx::binarystring bytes(row[0][0]);
  auto book = engine::decode_tariff_book(view(bytes));
  if (!book) throw ReplayDiverged("the market's genesis tariff book does not decode");
  return book;
}

// Pins the fee and the tariffs a market started from, once; a racing start pins the same.
void pin_genesis(pqxx::connection_base& connection, const MarketSetup& setup) {
  pqxx::work txn(connection, "pin_genesis");
  txn.exec_params(
      "INSERT INTO market_rules (name, value) VALUES ('genesis_platform_fee_bp', $1)"
      " ON CONFLICT (name) DO NOTHING",
      static_cast<long long>(setup.config.platform_fee_bp));
  txn.exec_params(
      "INSERT INTO market_genesis_tariffs (book) VALUES ($1) ON CONFLICT (singleton) DO NOTHING",
      pqxx::binarystring(engine::encode_tariff_book(setup.tariffs)));
  txn.commit();
}

}  // namespace

Engine load_market(pqxx::connection_base& connection, const MarketSetup& given, ReplayFrom from) {
  MarketSetup setup = given;
  // One snapshot of the database for the whole load.
  pqxx::transaction<pqxx::isolation_level::repeatable_read, pqxx::readwrite_policy::read_only> txn(
      connection, "recover");
  // A market replays from the fee and the tariffs it started with. One from
  // before they were pinned replays from the configuration's, which are pinned
  // only once the whole log has replayed to the events it committed (a
  // configuration changed on the upgrade then stops recovery, and putting it
  // back mends it).
  const std::optional<BasisPoints> pinned = pinned_fee(txn);
  if (pinned) setup.config.platform_fee_bp = *pinned;
  std::optional<engine::TariffBook> tariffs = pinned_tariffs(txn);
  const bool tariffs_pinned = tariffs.has_value();
  if (tariffs) {
    if (engine::encode_tariff_book(*tariffs) != engine::encode_tariff_book(given.tariffs)) {
      util::log::warn("configured_tariffs_not_the_markets",
                      {{"change_them_with", std::string_view("POST /v1/operator/tariffs")}});
    }
    setup.tariffs = std::move(*tariffs);
  }
  Engine engine = starting_engine(txn, setup, from);
  // The configuration's book is the genesis one only if the engine began from
  // it: from nothing, or from a snapshot still holding it unchanged.
  const std::vector<engine::TariffSchedule> started = engine.tariffs().schedules();
  const bool genesis_known =
      engine.tariffs().dropped() == 0 &&
      engine::encode_tariff_book(engine::TariffBook(started.front().regions)) ==
          engine::encode_tariff_book(setup.tariffs);
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
  if (!pinned || (!tariffs_pinned && genesis_known)) pin_genesis(connection, setup);
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
