#include "spotgrid/sim/demo.hpp"

#include <iomanip>
#include <ostream>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <pqxx/pqxx>

#include "spotgrid/engine/config.hpp"
#include "spotgrid/engine/engine.hpp"
#include "spotgrid/ledger/durable_market.hpp"
#include "spotgrid/ledger/trial_balance.hpp"
#include "spotgrid/sim/market_sim.hpp"

namespace spotgrid::sim {

using namespace spotgrid::engine;

namespace {

std::string usd(Micros micros) {
  std::ostringstream out;
  out << (micros < 0 ? "-" : "") << '$' << std::llabs(micros) / 1'000'000 << '.' << std::setw(6)
      << std::setfill('0') << std::llabs(micros) % 1'000'000;
  return out.str();
}

struct Tally {
  std::uint64_t commands = 0;
  std::uint64_t rejected = 0;
  std::uint64_t trades = 0;
  std::uint64_t cards_traded = 0;
  std::uint64_t leases_ended = 0;
};

void print_trade(std::ostream& out, const Catalog& catalog, const LeaseStarted& trade) {
  out << "  t=" << trade.start << "  lease " << trade.lease << "  "
      << catalog.model(trade.pool).model << " x" << trade.cards << "  node " << trade.node << "  @ "
      << usd(trade.price_micros_per_card_hour) << "/card-h  buyer " << trade.buyer << "  until "
      << trade.planned_end << '\n';
}

void print_books(std::ostream& out, const Engine& engine) {
  for (std::size_t i = 0; i < engine.catalog().pool_count(); ++i) {
    const auto pool = static_cast<PoolIndex>(i);
    const BookView book = engine.book(pool, 5);
    out << "\n  " << std::left << std::setw(16) << engine.catalog().model(pool).model << std::right
        << " index " << usd(engine.index_price(pool)) << "/card-h\n";
    out << "    bids (cards @ limit)            asks (cards @ price)\n";
    for (std::size_t row = 0; row < std::max(book.bids.size(), book.asks.size()); ++row) {
      std::ostringstream bid;
      std::ostringstream ask;
      if (row < book.bids.size())
        bid << std::setw(5) << book.bids[row].cards << " @ "
            << usd(book.bids[row].price_micros_per_hour);
      if (row < book.asks.size())
        ask << std::setw(5) << book.asks[row].cards << " @ "
            << usd(book.asks[row].price_micros_per_hour);
      out << "    " << std::left << std::setw(32) << bid.str() << ask.str() << std::right << '\n';
    }
  }
}

// Counts (and prints the first trades of) one command's outcome.
void record(std::ostream& out, const Catalog& catalog, const DemoOptions& options, Tally& tally,
            bool rejected, const std::vector<Event>& events) {
  ++tally.commands;
  tally.rejected += rejected;
  for (const Event& event : events) {
    if (const auto* trade = std::get_if<LeaseStarted>(&event.body)) {
      if (tally.trades++ < options.trades_to_print) print_trade(out, catalog, *trade);
      tally.cards_traded += trade->cards;
    }
    tally.leases_ended += std::holds_alternative<LeaseEnded>(event.body);
  }
}

// Books, summary and invariants; returns the exit code.
int finish(std::ostream& out, std::ostream& err, const DemoOptions& options, const Tally& tally,
           const Engine& engine) {
  if (tally.trades > options.trades_to_print)
    out << "  ... " << tally.trades - options.trades_to_print << " more\n";
  out << "\nbooks at t=" << engine.now() << ':';
  print_books(out, engine);
  out << "\nsummary: " << tally.commands << " commands (" << tally.rejected
      << " rejected as bad input or stale ids), " << tally.trades << " trades, "
      << tally.cards_traded << " cards leased, " << tally.leases_ended
      << " leases ended, platform revenue " << usd(engine.platform_revenue()) << '\n';
  const auto problems = engine.check_invariants();
  for (const std::string& problem : problems)
    err << "invariant broken: " << problem << '\n';
  out << "invariants: " << (problems.empty() ? "all hold" : "BROKEN") << '\n';
  return problems.empty() ? 0 : 1;
}

int run_in_memory(const DemoOptions& options, const ledger::MarketSetup& setup, std::ostream& out,
                  std::ostream& err) {
  Engine engine(setup.catalog, setup.tariffs, setup.config);
  MarketSim sim(engine.catalog(), engine.tariffs(), MarketSimOptions{.seed = options.seed});
  std::vector<Event> events;
  Tally tally;
  out << "spotgrid engine demo: seed " << options.seed << ", " << options.commands << " commands, "
      << engine.catalog().pool_count() << " pools, " << engine.tariffs().region_count()
      << " regions\n\ntrades:\n";
  for (std::uint32_t i = 0; i < options.commands; ++i) {
    events.clear();
    const SubmitResult result = engine.submit(sim.next(), events);
    sim.observe(events);
    record(out, engine.catalog(), options, tally, result.rejected.has_value(), events);
  }
  return finish(out, err, options, tally, engine);
}

// The same market through the durable path: every command is committed to
// PostgreSQL before it counts, and the books printed at the end are those of an
// engine recovered from the database, checked against its ledger.
int run_durable(const DemoOptions& options, const ledger::MarketSetup& setup, std::ostream& out,
                std::ostream& err) {
  std::atomic<UnixSeconds> sim_now{MarketSimOptions{}.start};
  ledger::MarketOptions market_options;
  market_options.conninfo = options.conninfo;
  market_options.setup = setup;
  market_options.clock = [&] { return sim_now.load(); };
  ledger::DurableMarket market(std::move(market_options));
  market.start();
  if (!market.wait_ready(std::chrono::seconds(60))) {
    const auto status = market.status();
    err << "spotgrid-demo: PostgreSQL: "
        << (status.fatal_error.empty() ? status.last_error : status.fatal_error) << '\n';
    return 1;
  }
  const std::uint64_t recovered = market.status().committed_seq;
  UnixSeconds resume_at = 0;
  market.read([&](const Engine& engine) { resume_at = engine.now(); });
  sim_now.store(std::max(sim_now.load(), resume_at + 1));
  MarketSim sim(setup.catalog, setup.tariffs,
                MarketSimOptions{.seed = options.seed + recovered, .start = sim_now.load()});
  out << "spotgrid durable demo: seed " << options.seed << ", " << options.commands
      << " commands, recovered " << recovered << " commands from PostgreSQL\n\ntrades:\n";

  Tally tally;
  std::uint64_t not_committed = 0;
  constexpr std::uint32_t kWindow = 64;
  std::vector<CommandBody> window;
  const auto started = std::chrono::steady_clock::now();
  for (std::uint32_t sent = 0; sent < options.commands; sent += kWindow) {
    window.clear();
    for (std::uint32_t i = 0; i < std::min(kWindow, options.commands - sent); ++i) {
      const Command command = sim.next();
      sim_now.store(command.now);
      window.push_back(command.body);
    }
    for (const ledger::Completion& done : market.submit_all(window)) {
      if (done.outcome != ledger::Outcome::kCommitted) {
        ++not_committed;
        continue;
      }
      sim.observe(done.events);
      record(out, setup.catalog, options, tally, done.rejected.has_value(), done.events);
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  market.stop();

  pqxx::connection connection(options.conninfo);
  const Engine engine = ledger::load_market(connection, setup);
  const int code = finish(out, err, options, tally, engine);
  out << "durable: " << tally.commands << " commands committed in " << std::fixed
      << std::setprecision(2) << seconds << " s (" << not_committed
      << " not committed), log at command " << engine.last_command_seq() << '\n';
  const ledger::TrialBalance balance = ledger::trial_balance(connection);
  out << "\ntrial balance (" << balance.transactions << " ledger transactions):\n";
  for (const ledger::TrialBalanceLine& line : balance.lines) {
    out << "  " << std::left << std::setw(12) << line.account << std::right << std::setw(6)
        << line.accounts << " accounts  " << usd(line.balance) << '\n';
  }
  out << "  total                      " << usd(balance.total) << '\n';
  const auto differences = ledger::compare_balances(connection, engine);
  for (const std::string& difference : differences)
    err << "ledger differs from the engine: " << difference << '\n';
  out << "ledger: "
      << (differences.empty() && balance.total == 0 ? "balances, and matches the engine" : "BROKEN")
      << '\n';
  return code != 0 || !differences.empty() || balance.total != 0 ? 1 : 0;
}

}  // namespace

int run_demo(const DemoOptions& options, std::ostream& out, std::ostream& err) {
  auto catalog = load_catalog_file(options.config_dir + "/gpus.json");
  if (!catalog) return err << "spotgrid-demo: " << catalog.error().message() << '\n', 1;
  auto tariffs = load_tariffs_file(options.config_dir + "/tariffs.json");
  if (!tariffs) return err << "spotgrid-demo: " << tariffs.error().message() << '\n', 1;
  const ledger::MarketSetup setup{std::move(catalog).value(), std::move(tariffs).value(),
                                  EngineConfig{}};
  if (options.conninfo.empty()) return run_in_memory(options, setup, out, err);
  try {
    return run_durable(options, setup, out, err);
  } catch (const std::exception& e) {
    err << "spotgrid-demo: " << e.what() << '\n';
    return 1;
  }
}

}  // namespace spotgrid::sim
