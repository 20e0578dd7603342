#include "spotgrid/sim/demo.hpp"

#include <iomanip>
#include <ostream>

#include "spotgrid/engine/config.hpp"
#include "spotgrid/engine/engine.hpp"
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

void print_trade(std::ostream& out, const Engine& engine, const LeaseStarted& trade) {
  out << "  t=" << trade.start << "  lease " << trade.lease << "  "
      << engine.catalog().model(trade.pool).model << " x" << trade.cards << "  node " << trade.node
      << "  @ " << usd(trade.price_micros_per_card_hour) << "/card-h  buyer " << trade.buyer
      << "  until " << trade.planned_end << '\n';
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

}  // namespace

int run_demo(const DemoOptions& options, std::ostream& out, std::ostream& err) {
  auto catalog = load_catalog_file(options.config_dir + "/gpus.json");
  if (!catalog) return err << "spotgrid-demo: " << catalog.error().message() << '\n', 1;
  auto tariffs = load_tariffs_file(options.config_dir + "/tariffs.json");
  if (!tariffs) return err << "spotgrid-demo: " << tariffs.error().message() << '\n', 1;

  Engine engine(catalog.value(), tariffs.value(), EngineConfig{});
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
    ++tally.commands;
    tally.rejected += result.rejected.has_value();
    for (const Event& event : events) {
      if (const auto* trade = std::get_if<LeaseStarted>(&event.body)) {
        if (tally.trades++ < options.trades_to_print) print_trade(out, engine, *trade);
        tally.cards_traded += trade->cards;
      }
      tally.leases_ended += std::holds_alternative<LeaseEnded>(event.body);
    }
  }
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

}  // namespace spotgrid::sim
