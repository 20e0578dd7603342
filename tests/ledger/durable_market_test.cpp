#include "spotgrid/ledger/durable_market.hpp"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <future>
#include <mutex>
#include <pqxx/pqxx>
#include <span>
#include <thread>

#include "pg_harness.hpp"
#include "spotgrid/engine/event_text.hpp"
#include "spotgrid/finance/payouts.hpp"
#include "spotgrid/ledger/schema.hpp"
#include "spotgrid/sim/market_sim.hpp"
#include "spotgrid/util/log.hpp"

namespace spotgrid::ledger {
namespace {

using namespace std::chrono_literals;
using engine::CommandBody;

constexpr UnixSeconds kStart = 1'767'571'200;  // a Monday, 00:00 UTC
constexpr Micros kUsd = 1'000'000;

// How the persister commits, where a test decides.
struct Commits {
  std::uint32_t max_batch = 0;  // commands per commit (0: the default)
  std::uint32_t lanes = 0;      // batches in flight (0: the default)
  // Held before each COMMIT, so the next batch writes while this one is in flight.
  std::chrono::milliseconds pause{0};
};

// A market on a test clock (no wall-clock ticks), so each test decides time.
class Market {
 public:
  // `fee`, `tariffs`: the configuration's (the repository's otherwise).
  explicit Market(const std::string& conninfo, std::optional<BasisPoints> fee = std::nullopt,
                  std::optional<engine::TariffBook> tariffs = std::nullopt, Commits commits = {}) {
    MarketOptions options;
    if (commits.max_batch != 0) options.max_batch_commands = commits.max_batch;
    if (commits.lanes != 0) options.commit_lanes = commits.lanes;
    if (commits.pause.count() > 0) {
      options.test_hooks.before_commit = [pause = commits.pause] {
        std::this_thread::sleep_for(pause);
      };
    }
    // Committed events arrive in sequence order, whichever lane committed them.
    options.on_committed = [this](std::span<const engine::Event> events) {
      for (const engine::Event& event : events) {
        if (event.event_seq <= last_committed_event.exchange(event.event_seq))
          committed_out_of_order.store(true);
      }
    };
    options.conninfo = conninfo;
    options.setup = testing::repository_market();
    if (fee) options.setup.config.platform_fee_bp = *fee;
    if (tariffs) options.setup.tariffs = std::move(*tariffs);
    options.tick_every_second = false;
    options.snapshot_every_commands = 200;
    options.retry_max = 200ms;
    options.clock = [this] { return now.load(); };
    market = std::make_unique<DurableMarket>(std::move(options));
    market->start();
  }
  // A node of `cards` in `pool`, every card listed at `price` for a week from `from`.
  void list_cards(AccountId supplier, PoolIndex pool, std::uint16_t cards, Micros price,
                  UnixSeconds from) {
    const Completion node = run(engine::RegisterNode{supplier, pool, 0, 0, cards, 0, 10'000});
    ASSERT_FALSE(node.rejected);
    const NodeId id = std::get<engine::NodeRegistered>(node.events.at(0).body).node;
    ASSERT_FALSE(run(engine::AddListing{supplier, id, cards, price, false, from, from + 7 * 86'400})
                     .rejected);
  }
  // An order for one card of `pool` for an hour, at up to `limit` a card-hour.
  Completion buy_an_hour(AccountId buyer, PoolIndex pool, Micros limit) {
    engine::OrderSpec spec;
    spec.buyer = buyer;
    spec.target.pool = pool;
    spec.cards = 1;
    spec.duration = 3'600;
    spec.limit_micros_per_hour = limit;
    return run(engine::PlaceOrder{spec});
  }
  // Ready, its first tick run and `buyer` funded with 1 000 USD: the H100 pool to lease in.
  PoolIndex ready_with_a_funded_buyer(AccountId buyer) {
    EXPECT_TRUE(market->wait_ready(30s));
    EXPECT_FALSE(run(engine::Deposit{buyer, 1'000 * kUsd}).rejected);
    EXPECT_FALSE(run(engine::Tick{}).rejected);
    return *testing::repository_market().catalog.find_pool("H100-SXM-80G");
  }
  // The lease a completed order started (0 when none).
  static LeaseId lease_started(const Completion& placed) {
    for (const engine::Event& event : placed.events) {
      if (const auto* started = std::get_if<engine::LeaseStarted>(&event.body))
        return started->lease;
    }
    return 0;
  }
  Completion run(CommandBody command) {
    std::promise<Completion> promise;
    auto future = promise.get_future();
    market->submit(std::move(command),
                   [&](Completion&& completion) { promise.set_value(std::move(completion)); });
    return future.get();
  }

  std::atomic<UnixSeconds> now{kStart};
  std::atomic<std::uint64_t> last_committed_event{0};
  std::atomic<bool> committed_out_of_order{false};
  std::unique_ptr<DurableMarket> market;
};

long long query(const std::string& conninfo, const std::string& sql) {
  pqxx::connection connection(conninfo);
  pqxx::read_transaction txn(connection);
  return txn.exec1(sql)[0].as<long long>(0);
}

// An order PostgreSQL refuses for its content (a NUL in its client order id:
// the gateway refuses it first), from `buyer`, who must afford an hour at 1 USD.
CommandBody poisoned_order(AccountId buyer) {
  engine::OrderSpec spec;
  spec.buyer = buyer;
  spec.cards = 1;
  spec.duration = 3'600;
  spec.limit_micros_per_hour = kUsd;
  spec.client_order_id.bytes[0] = 'a';
  spec.client_order_id.bytes[1] = '\0';
  spec.client_order_id.length = 2;
  return engine::PlaceOrder{spec};
}

// Drives `commands` simulated commands through the market, waiting for each
// window; returns the acknowledged ones with the hash of their events.
std::map<std::uint64_t, std::size_t> drive(Market& market, std::uint64_t seed,
                                           std::uint32_t commands, UnixSeconds start) {
  const auto setup = testing::repository_market();
  sim::MarketSim sim(setup.catalog, setup.tariffs, {.seed = seed, .start = start});
  std::map<std::uint64_t, std::size_t> acked;
  constexpr std::uint32_t kWindow = 32;
  std::vector<engine::CommandBody> window;
  for (std::uint32_t sent = 0; sent < commands; sent += kWindow) {
    window.clear();
    for (std::uint32_t i = 0; i < kWindow; ++i) {
      const engine::Command command = sim.next();
      market.now.store(command.now);
      window.push_back(command.body);
    }
    for (Completion& completion : market.market->submit_all(window)) {
      if (completion.outcome != Outcome::kCommitted) continue;
      acked[completion.command_seq] = testing::events_hash(engine::to_text(completion.events));
      sim.observe(completion.events);
    }
  }
  return acked;
}

// Where the orders table differs from the engine's open orders (an order the
// batch that placed it also rested, filled or cancelled is inserted as the
// batch left it); run when every applied command has committed.
std::vector<std::string> orders_table_problems(const std::string& conninfo, DurableMarket& market) {
  std::vector<engine::OrderView> open;
  EXPECT_TRUE(market.read([&](const engine::Engine& engine) {
    open = engine.open_orders(engine::Engine::ReasonNow::kSkip);
  }));
  pqxx::connection connection(conninfo);
  pqxx::read_transaction txn(connection);
  std::vector<std::string> problems;
  std::size_t with_open_cards = 0;
  for (const engine::OrderView& want : open) {
    const pqxx::row row = txn.exec_params1(
        "SELECT status::text, cards_open, hold, limit_price FROM orders WHERE order_id = $1",
        static_cast<long long>(want.id));
    const std::string status = row[0].as<std::string>();
    // Open (its leases may still run) until nothing is left of it to fill.
    const bool status_agrees = want.cards_open == 0 ? status == "filled" || status == "cancelled"
                               : want.state == engine::OrderState::kDeferred ? status == "deferred"
                                                                             : status == "resting";
    with_open_cards += want.cards_open > 0;
    if (!status_agrees || row[1].as<long long>() != want.cards_open ||
        row[2].as<long long>() != want.hold ||
        row[3].as<long long>() != want.limit_micros_per_hour) {
      problems.push_back("order " + std::to_string(want.id) + ": stored " + status + ", " +
                         row[1].as<std::string>() + " open, hold " + row[2].as<std::string>() +
                         ", limit " + row[3].as<std::string>() + "; engine state " +
                         std::to_string(static_cast<int>(want.state)) + ", " +
                         std::to_string(want.cards_open) + " open, hold " +
                         std::to_string(want.hold) + ", limit " +
                         std::to_string(want.limit_micros_per_hour));
    }
  }
  const auto stored_open = txn.exec1("SELECT count(*) FROM orders WHERE cards_open > 0")[0];
  if (stored_open.as<std::size_t>() != with_open_cards)
    problems.push_back("orders with open cards: " + stored_open.as<std::string>());
  return problems;
}

// Where the committed read model differs from the engine; run when every
// applied command has committed (then both are the committed state).
std::vector<std::string> read_model_problems(DurableMarket& market) {
  std::vector<std::string> problems;
  const ReadModel& model = market.committed();
  const auto differ = [&](const std::string& what) { problems.push_back(what); };
  const bool read = market.read([&](const engine::Engine& engine) {
    if (model.committed_seq() != engine.last_command_seq()) differ("committed_seq");
    for (AccountId id = 1; id < engine.account_count(); ++id) {
      const engine::AccountView want = engine.account(id);
      const engine::AccountView have = model.account(id);
      if (want.cash != have.cash || want.hold != have.hold || want.receivable != have.receivable)
        differ("account " + std::to_string(id));
    }
    for (const engine::OrderView& want : engine.open_orders(engine::Engine::ReasonNow::kSkip)) {
      const auto have = model.order(want.id);
      if (!have || have->end != OrderEnd::kOpen || have->view.state != want.state ||
          have->view.cards_open != want.cards_open || have->view.leases_open != want.leases_open ||
          have->view.hold != want.hold ||
          have->view.limit_micros_per_hour != want.limit_micros_per_hour ||
          have->view.start_at != want.start_at || have->view.spec.buyer != want.spec.buyer)
        differ("order " + std::to_string(want.id));
    }
    const auto want_leases = engine.billable_leases();
    const auto have_leases = model.billable_leases();
    for (const engine::LeaseView& have : have_leases) {
      if (!engine.lease(have.id)) differ("lease " + std::to_string(have.id) + " is not live");
    }
    for (const engine::LeaseView& want : want_leases) {
      const auto have = model.lease(want.id);
      if (!have || have->status != want.status || have->charged != want.charged ||
          have->billable_end != want.billable_end || have->settled_up_to != want.settled_up_to ||
          have->reclaim_pending != want.reclaim_pending)
        differ("lease " + std::to_string(want.id));
    }
    for (const engine::NodeView& want : engine.nodes()) {
      const auto have = model.node(want.id);
      if (!have || have->reliability != want.reliability || have->measured_cu != want.measured_cu)
        differ("node " + std::to_string(want.id));
    }
    for (std::size_t pool = 0; pool < engine.catalog().pool_count(); ++pool) {
      const auto index = static_cast<PoolIndex>(pool);
      const engine::BookView want = engine.book(index, kBookLevelsKept);
      const auto have = model.pool(index);
      const auto same = [](const std::vector<engine::BookLevel>& a,
                           const std::vector<engine::BookLevel>& b) {
        return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
          return x.price_micros_per_hour == y.price_micros_per_hour && x.cards == y.cards &&
                 x.entries == y.entries;
        });
      };
      if (!have || have->index != engine.index_price(index) || !same(have->book.asks, want.asks) ||
          !same(have->book.bids, want.bids))
        differ("pool " + std::to_string(pool));
    }
  });
  if (!read) differ("the market is not ready");
  return problems;
}

TEST(DurableMarket, TheReadModelIsTheCommittedStateAndAnAnswerIsAlreadyInIt) {
  testing::TestDatabase db;
  Market market(db.conninfo());
  ASSERT_TRUE(market.market->wait_ready(30s));
  // Read-your-writes: inside the completion, the model already shows the deposit.
  std::promise<Micros> seen;
  market.market->submit(engine::Deposit{7, 25 * kUsd}, [&](Completion&&) {
    seen.set_value(market.market->committed().account(7).cash);
  });
  EXPECT_EQ(seen.get_future().get(), 25 * kUsd);

  const auto acked = drive(market, 31, 1'500, kStart);
  ASSERT_GT(acked.size(), 1'000u);
  auto problems = read_model_problems(*market.market);
  EXPECT_TRUE(problems.empty()) << problems.size() << " differ, first: " << problems.front();
  problems = orders_table_problems(db.conninfo(), *market.market);
  EXPECT_TRUE(problems.empty()) << problems.size() << " differ, first: " << problems.front();

  // Finished orders stay readable, and say how they ended.
  engine::OrderSpec spec;
  spec.buyer = 7;
  spec.cards = 1;
  spec.duration = 3'600;
  spec.limit_micros_per_hour = 1;  // below every ask: it rests
  const Completion placed = market.run(engine::PlaceOrder{spec});
  ASSERT_FALSE(placed.rejected);
  OrderId order = 0;
  for (const engine::Event& event : placed.events) {
    if (const auto* accepted = std::get_if<engine::OrderAccepted>(&event.body))
      order = accepted->order;
  }
  ASSERT_NE(order, 0u);
  ASSERT_TRUE(market.market->committed().order(order).has_value());
  EXPECT_EQ(market.market->committed().order(order)->end, OrderEnd::kOpen);
  ASSERT_FALSE(market.run(engine::CancelOrder{7, order}).rejected);
  const auto cancelled = market.market->committed().order(order);
  ASSERT_TRUE(cancelled.has_value());
  EXPECT_EQ(cancelled->end, OrderEnd::kCancelled);
  EXPECT_EQ(cancelled->view.spec.buyer, 7u);
  EXPECT_EQ(cancelled->view.hold, 0);
}

TEST(DurableMarket, AcknowledgesOnlyWhatIsAlreadyCommitted) {
  testing::TestDatabase db;
  Market market(db.conninfo());
  ASSERT_TRUE(market.market->wait_ready(30s));
  // Looked up from another connection inside the completion: the commit is visible.
  std::promise<std::pair<Completion, long long>> seen;
  market.market->submit(engine::Deposit{7, 25 * kUsd}, [&](Completion&& completion) {
    const long long cash = query(db.conninfo(),
                                 "SELECT balance FROM ledger_accounts"
                                 " WHERE owner_id = 7 AND account = 'cash'");
    seen.set_value({std::move(completion), cash});
  });
  auto [completion, cash] = seen.get_future().get();
  EXPECT_EQ(completion.outcome, Outcome::kCommitted);
  EXPECT_FALSE(completion.rejected);
  EXPECT_EQ(cash, 25 * kUsd);
  EXPECT_EQ(query(db.conninfo(), "SELECT count(*) FROM command_log WHERE command_seq = " +
                                     std::to_string(completion.command_seq)),
            1);
}

TEST(DurableMarket, ARejectedCommandIsLoggedAndMovesNoMoney) {
  testing::TestDatabase db;
  Market market(db.conninfo());
  ASSERT_TRUE(market.market->wait_ready(30s));
  ASSERT_EQ(market.run(engine::Deposit{7, 10 * kUsd}).outcome, Outcome::kCommitted);
  const Completion overdraft = market.run(engine::Withdraw{7, 11 * kUsd});
  EXPECT_EQ(overdraft.outcome, Outcome::kCommitted);
  EXPECT_EQ(overdraft.rejected, engine::Reject::kInsufficientFunds);
  EXPECT_EQ(query(db.conninfo(),
                  "SELECT (rejected = 'insufficient_funds')::int FROM command_log"
                  " WHERE command_seq = " +
                      std::to_string(overdraft.command_seq)),
            1);
  EXPECT_EQ(query(db.conninfo(), "SELECT count(*) FROM ledger_transactions"), 1);
  EXPECT_TRUE(testing::verify_durable_market(db.conninfo(), {}).empty());
}

TEST(DurableMarket, AnOrderBeyondTheAvailableBalanceIsRejectedAndAHoldIsPosted) {
  testing::TestDatabase db;
  Market market(db.conninfo());
  ASSERT_TRUE(market.market->wait_ready(30s));
  ASSERT_EQ(market.run(engine::Deposit{7, 30 * kUsd}).outcome, Outcome::kCommitted);
  engine::OrderSpec spec;
  spec.buyer = 7;
  spec.target.pool = 0;
  spec.cards = 2;
  spec.duration = 3'600;
  spec.limit_micros_per_hour = 4 * kUsd;  // worst case 8 USD x peak multiplier
  const Completion placed = market.run(engine::PlaceOrder{spec});
  ASSERT_EQ(placed.outcome, Outcome::kCommitted);
  ASSERT_FALSE(placed.rejected) << engine::to_string(*placed.rejected);
  const long long hold = query(db.conninfo(),
                               "SELECT balance FROM ledger_accounts"
                               " WHERE owner_id = 7 AND account = 'hold'");
  EXPECT_GE(hold, 8 * kUsd);
  EXPECT_EQ(query(db.conninfo(), "SELECT hold FROM orders"), hold);
  spec.cards = 8;  // at least 32 USD
  const Completion second = market.run(engine::PlaceOrder{spec});
  EXPECT_EQ(second.rejected, engine::Reject::kInsufficientFunds);
  EXPECT_EQ(query(db.conninfo(), "SELECT count(*) FROM orders"), 1);
  EXPECT_TRUE(testing::verify_durable_market(db.conninfo(), {}).empty());
}

// A lease's remainder re-queued in the batch that also amended its order takes
// the amended limit, in the orders table as in the engine.
TEST(DurableMarket, ARemainderRequeuedAfterAnAmendInItsBatchKeepsTheAmendedLimit) {
  testing::TestDatabase db;
  constexpr AccountId kBuyer = 7;
  constexpr AccountId kSupplier = 8;
  const PoolIndex pool = *testing::repository_market().catalog.find_pool("H100-SXM-80G");
  Market market(db.conninfo());
  ASSERT_TRUE(market.market->wait_ready(30s));
  ASSERT_FALSE(market.run(engine::Deposit{kBuyer, 1'000 * kUsd}).rejected);
  market.list_cards(kSupplier, pool, 1, 2 * kUsd, kStart);
  engine::OrderSpec spec;
  spec.buyer = kBuyer;
  spec.target.pool = pool;
  spec.cards = 2;  // one fills now, one rests
  spec.duration = 3'600;
  spec.limit_micros_per_hour = 3 * kUsd;
  const Completion placed = market.run(engine::PlaceOrder{spec});
  OrderId order = 0;
  LeaseId lease = 0;
  for (const engine::Event& event : placed.events) {
    if (const auto* accepted = std::get_if<engine::OrderAccepted>(&event.body))
      order = accepted->order;
    if (const auto* started = std::get_if<engine::LeaseStarted>(&event.body))
      lease = started->lease;
  }
  ASSERT_NE(lease, 0u);
  market.now.store(kStart + 60);
  const std::vector<engine::CommandBody> batch = {engine::AmendOrder{kBuyer, order, 0, 4 * kUsd},
                                                  engine::InterruptLease{lease, kStart + 30}};
  for (const Completion& done : market.market->submit_all(batch)) {
    ASSERT_EQ(done.outcome, Outcome::kCommitted);
    ASSERT_FALSE(done.rejected) << engine::to_string(*done.rejected);
  }
  EXPECT_EQ(query(db.conninfo(), "SELECT count(*) FROM orders WHERE parent_order_id <> 0"), 1);
  EXPECT_EQ(query(db.conninfo(), "SELECT limit_price FROM orders WHERE parent_order_id <> 0"),
            4 * kUsd);
  const auto problems = orders_table_problems(db.conninfo(), *market.market);
  EXPECT_TRUE(problems.empty()) << problems.size() << " differ, first: " << problems.front();
}

// A supplier on a daily plan is paid at midnight once: the payout is a ledger
// transaction finance lists as scheduled, and a restart does not pay it again.
TEST(DurableMarket, ADailyPayoutIsPaidOnceAndFinanceSeesItAsScheduled) {
  testing::TestDatabase db;
  constexpr AccountId kBuyer = 7;
  constexpr AccountId kSupplier = 8;
  const PoolIndex pool = *testing::repository_market().catalog.find_pool("H100-SXM-80G");
  Micros earned = 0;
  {
    Market market(db.conninfo());
    ASSERT_TRUE(market.market->wait_ready(30s));
    ASSERT_FALSE(market.run(engine::Deposit{kBuyer, 1'000 * kUsd}).rejected);
    ASSERT_FALSE(market.run(engine::SetPayoutSchedule{kSupplier, true, 0}).rejected);
    ASSERT_FALSE(market.run(engine::Tick{}).rejected);  // the market's first tick
    market.list_cards(kSupplier, pool, 1, 100 * kUsd, kStart);
    const LeaseId lease = Market::lease_started(market.buy_an_hour(kBuyer, pool, 100 * kUsd));
    ASSERT_NE(lease, 0u);
    market.now.store(kStart + 600);
    ASSERT_FALSE(market.run(engine::StopLease{kBuyer, lease}).rejected);
    ASSERT_FALSE(market.run(engine::SettleLease{lease, 600, 600 * 10'000, kStart + 600}).rejected);
    earned = market.market->committed().account(kSupplier).payable;
    ASSERT_GT(earned, 0);
    // Paid on request: whole cents; not scheduled.
    ASSERT_FALSE(market.run(engine::Payout{kSupplier, 10'000}).rejected);
    market.now.store(kStart + 86'400 + 5);
    const Completion midnight = market.run(engine::Tick{});
    std::vector<engine::PayoutSent> paid;
    for (const engine::Event& event : midnight.events) {
      if (const auto* sent = std::get_if<engine::PayoutSent>(&event.body)) paid.push_back(*sent);
    }
    ASSERT_EQ(paid.size(), 1u) << engine::to_text(midnight.events);
    EXPECT_TRUE(paid[0].scheduled);
    EXPECT_EQ(paid[0].amount, (earned - 10'000) / 10'000 * 10'000);
  }
  {
    Market market(db.conninfo());  // recovers from the log
    ASSERT_TRUE(market.market->wait_ready(30s));
    market.now.store(kStart + 86'400 + 6);
    const Completion again = market.run(engine::Tick{});
    EXPECT_TRUE(std::none_of(again.events.begin(), again.events.end(),
                             [](const engine::Event& event) {
                               return std::holds_alternative<engine::PayoutSent>(event.body);
                             }))
        << "the day is paid once";
    EXPECT_TRUE(market.market->committed().account(kSupplier).pays_out_daily);
  }
  pqxx::connection connection(db.conninfo());
  const auto payouts =
      finance::payouts_between(connection, kStart, kStart + 2 * 86'400, kSupplier, 100);
  ASSERT_EQ(payouts.size(), 2u);
  EXPECT_FALSE(payouts[0].scheduled);
  EXPECT_EQ(payouts[0].amount, 10'000);
  EXPECT_TRUE(payouts[1].scheduled);
  EXPECT_EQ(payouts[0].amount + payouts[1].amount, earned - earned % 10'000);
  EXPECT_EQ(query(db.conninfo(),
                  "SELECT balance FROM ledger_accounts WHERE owner_id = 8"
                  " AND account = 'receivable'"),
            earned % 10'000)
      << "what is left is the fraction of a cent";
  EXPECT_EQ(query(db.conninfo(), "SELECT sum(balance) FROM ledger_accounts"), 0);
}

// A lease its last settlement closes leaves the engine in that command: the
// read model still shows the seconds that settlement billed, not the one before.
TEST(DurableMarket, ALeaseClosedByItsLastSettlementShowsItsSeconds) {
  testing::TestDatabase db;
  constexpr AccountId kBuyer = 7;
  constexpr AccountId kSupplier = 8;
  Market market(db.conninfo());
  const PoolIndex pool = market.ready_with_a_funded_buyer(kBuyer);
  market.list_cards(kSupplier, pool, 1, 100 * kUsd, kStart);
  const LeaseId lease = Market::lease_started(market.buy_an_hour(kBuyer, pool, 100 * kUsd));
  ASSERT_NE(lease, 0u);
  const auto closes = [](const Completion& done) {
    return !done.rejected &&
           std::any_of(done.events.begin(), done.events.end(), [](const engine::Event& e) {
             return std::holds_alternative<engine::LeaseClosed>(e.body);
           });
  };
  market.now.store(kStart + 600);
  ASSERT_FALSE(market.run(engine::SettleLease{lease, 596, 596 * 10'000, kStart + 596}).rejected);
  ASSERT_FALSE(market.run(engine::StopLease{kBuyer, lease}).rejected);
  const Completion last = market.run(engine::SettleLease{lease, 600, 600 * 10'000, kStart + 600});
  ASSERT_TRUE(closes(last)) << engine::to_text(last.events);
  const auto view = market.market->committed().lease(lease);
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(view->healthy_settled, 600);
  EXPECT_EQ(view->weighted_settled, 600 * 10'000);
  EXPECT_EQ(view->settled_up_to, kStart + 600);
  EXPECT_EQ(view->status, engine::LeaseStatus::kEnded);

  // Interrupted back to a second it has been billed past: it ends and closes in
  // that command, and shows how, and until when.
  market.list_cards(kSupplier, pool, 1, 100 * kUsd, kStart + 600);
  const LeaseId second = Market::lease_started(market.buy_an_hour(kBuyer, pool, 100 * kUsd));
  ASSERT_NE(second, 0u);
  market.now.store(kStart + 900);
  ASSERT_FALSE(market.run(engine::SettleLease{second, 300, 300 * 10'000, kStart + 900}).rejected);
  const Completion cut = market.run(engine::InterruptLease{second, kStart + 700});
  ASSERT_TRUE(closes(cut)) << engine::to_text(cut.events);
  const auto interrupted = market.market->committed().lease(second);
  ASSERT_TRUE(interrupted.has_value());
  EXPECT_EQ(interrupted->status, engine::LeaseStatus::kInterrupted);
  EXPECT_EQ(interrupted->billable_end, kStart + 701);
  const bool read = market.market->read([&](const engine::Engine& engine) {
    EXPECT_FALSE(engine.lease(lease).has_value()) << "closed: gone from the engine";
  });
  EXPECT_TRUE(read);
}

TEST(DurableMarket, RestartsFromPostgresAndCarriesOn) {
  testing::TestDatabase db;
  std::map<std::uint64_t, std::size_t> acked;
  std::uint64_t last_seq = 0;
  {
    Market market(db.conninfo());
    ASSERT_TRUE(market.market->wait_ready(30s));
    acked = drive(market, 11, 1'500, kStart);
    last_seq = market.market->status().committed_seq;
  }
  ASSERT_GT(acked.size(), 1'000u);
  EXPECT_GE(query(db.conninfo(), "SELECT count(*) FROM engine_snapshots"), 5);
  {
    Market market(db.conninfo());
    ASSERT_TRUE(market.market->wait_ready(30s));
    EXPECT_EQ(market.market->status().committed_seq, last_seq);
    market.now.store(kStart + 200'000);
    const Completion next = market.run(engine::Deposit{1, kUsd});
    EXPECT_EQ(next.command_seq, last_seq + 1);
    acked.merge(drive(market, 12, 500, kStart + 200'000));
  }
  const auto problems = testing::verify_durable_market(db.conninfo(), acked);
  EXPECT_TRUE(problems.empty()) << problems.front();
}

// Starts the market again under the configuration's `fee` and `tariffs`,
// trades on, and checks that every acknowledged command is in the ledger.
void trade_on_and_verify(const std::string& conninfo, std::map<std::uint64_t, std::size_t>& acked,
                         std::uint64_t seed, std::optional<BasisPoints> fee = std::nullopt,
                         std::optional<engine::TariffBook> tariffs = std::nullopt) {
  {
    Market market(conninfo, fee, std::move(tariffs));
    ASSERT_TRUE(market.market->wait_ready(30s)) << market.market->status().last_error;
    acked.merge(drive(market, seed, 200, kStart + 200'000));
  }
  const auto problems = testing::verify_durable_market(conninfo, acked);
  EXPECT_TRUE(problems.empty()) << problems.front();
}

// The fee is the market's: a log written under one fee, then changed by a
// command, recovers (from its snapshot or from the beginning) under a
// configuration that says otherwise, and the market carries on.
TEST(DurableMarket, ALogWrittenBeforeAFeeChangeRecoversAfterIt) {
  testing::TestDatabase db;
  std::map<std::uint64_t, std::size_t> acked;
  BasisPoints fee = 0;
  {
    Market market(db.conninfo());
    ASSERT_TRUE(market.market->wait_ready(30s));
    acked = drive(market, 21, 400, kStart);
    market.now.store(kStart + 100'000);
    const Completion set = market.run(engine::SetPlatformFee{800});
    ASSERT_EQ(set.outcome, Outcome::kCommitted);
    ASSERT_FALSE(set.rejected);
    acked.merge(drive(market, 22, 400, kStart + 100'000));
    ASSERT_TRUE(market.market->read([&](const engine::Engine& e) { fee = e.platform_fee_bp(); }));
  }
  EXPECT_EQ(query(db.conninfo(), "SELECT value FROM market_rules"), 500) << "the genesis fee";
  {
    // A market from before market_rules, restarted under a changed fee: its
    // log does not replay, and nothing is pinned, so the old fee mends it.
    pqxx::connection connection(db.conninfo());
    {
      pqxx::work txn(connection);
      txn.exec("DELETE FROM market_rules");
      txn.commit();
    }
    MarketSetup changed = testing::repository_market();
    changed.config.platform_fee_bp = 300;
    EXPECT_THROW(load_market(connection, changed, ReplayFrom::kBeginning), ReplayDiverged);
    EXPECT_EQ(query(db.conninfo(), "SELECT count(*) FROM market_rules"), 0);
    EXPECT_NO_THROW(load_market(connection, testing::repository_market(), ReplayFrom::kBeginning));
    EXPECT_EQ(query(db.conninfo(), "SELECT value FROM market_rules"), 500);
  }
  for (const ReplayFrom from : {ReplayFrom::kLatestSnapshot, ReplayFrom::kBeginning}) {
    MarketSetup changed = testing::repository_market();
    changed.config.platform_fee_bp = 300;
    pqxx::connection connection(db.conninfo());
    const engine::Engine recovered = load_market(connection, changed, from);
    EXPECT_EQ(recovered.platform_fee_bp(), fee);
    EXPECT_TRUE(compare_balances(connection, recovered).empty());
  }
  trade_on_and_verify(db.conninfo(), acked, 23, 300);
}

// The repository's tariffs with every multiplier one and a half times as high.
engine::TariffBook dearer_tariffs() {
  std::vector<engine::TariffRegion> regions =
      testing::repository_market().tariffs.schedules().front().regions;
  for (engine::TariffRegion& region : regions) {
    for (BasisPoints& bp : region.week_bp)
      bp = static_cast<BasisPoints>(bp * 3 / 2);
  }
  return engine::TariffBook(std::move(regions));
}

// The tariffs are the market's too: a log written under the genesis book and
// a schedule published by a command recovers (from its snapshot or from the
// beginning) under a configuration whose tariffs.json says otherwise.
TEST(DurableMarket, ALogWrittenBeforeATariffChangeRecoversAfterIt) {
  testing::TestDatabase db;
  std::map<std::uint64_t, std::size_t> acked;
  {
    Market market(db.conninfo());
    ASSERT_TRUE(market.market->wait_ready(30s));
    acked = drive(market, 31, 400, kStart);
    market.now.store(kStart + 100'000);
    engine::TariffSchedule next = dearer_tariffs().schedules().front();
    next.effective_from = kStart + 100'800;  // the next hour
    const Completion published = market.run(engine::PublishTariffSchedule{next});
    ASSERT_EQ(published.outcome, Outcome::kCommitted);
    ASSERT_FALSE(published.rejected);
    acked.merge(drive(market, 32, 400, kStart + 100'000));
  }
  EXPECT_EQ(query(db.conninfo(), "SELECT count(*) FROM market_genesis WHERE rule = 'tariffs'"), 1);
  {
    // A market from before the pin, restarted under changed tariffs: its log
    // does not replay, nothing is pinned, and the old file mends it.
    pqxx::connection connection(db.conninfo());
    {
      pqxx::work txn(connection);
      txn.exec("DELETE FROM market_genesis");
      txn.commit();
    }
    MarketSetup changed = testing::repository_market();
    changed.tariffs = dearer_tariffs();
    EXPECT_THROW(load_market(connection, changed, ReplayFrom::kBeginning), ReplayDiverged);
    EXPECT_EQ(query(db.conninfo(), "SELECT count(*) FROM market_genesis WHERE rule = 'tariffs'"),
              0);
    // From a snapshot that carries the book, the changed file is not the
    // genesis one, so nothing is pinned from it.
    EXPECT_NO_THROW(load_market(connection, changed, ReplayFrom::kLatestSnapshot));
    EXPECT_EQ(query(db.conninfo(), "SELECT count(*) FROM market_genesis WHERE rule = 'tariffs'"),
              0);
    EXPECT_NO_THROW(load_market(connection, testing::repository_market(), ReplayFrom::kBeginning));
    EXPECT_EQ(query(db.conninfo(), "SELECT count(*) FROM market_genesis WHERE rule = 'tariffs'"),
              1);
  }
  for (const ReplayFrom from : {ReplayFrom::kLatestSnapshot, ReplayFrom::kBeginning}) {
    MarketSetup changed = testing::repository_market();
    changed.tariffs = dearer_tariffs();
    pqxx::connection connection(db.conninfo());
    const engine::Engine recovered = load_market(connection, changed, from);
    EXPECT_GE(recovered.tariffs().published(), 2u);
    EXPECT_EQ(recovered.tariffs().schedules().front().regions[0].week_bp,
              testing::repository_market().tariffs.schedules().front().regions[0].week_bp)
        << "the genesis book, not the configuration's";
    EXPECT_TRUE(compare_balances(connection, recovered).empty());
  }
  trade_on_and_verify(db.conninfo(), acked, 33, std::nullopt, dearer_tariffs());
}

// The catalog is the market's too: a log in which a model was added (and
// traded) recovers, from its snapshot or from the beginning, under the
// configuration's catalog, which no longer names every pool.
TEST(DurableMarket, ALogWithAnAddedModelRecoversUnderTheConfiguredCatalog) {
  testing::TestDatabase db;
  std::map<std::uint64_t, std::size_t> acked;
  constexpr AccountId kBuyer = 900;
  constexpr AccountId kSupplier = 901;
  const std::size_t configured = testing::repository_market().catalog.pool_count();
  {
    Market market(db.conninfo());
    ASSERT_TRUE(market.market->wait_ready(30s));
    acked = drive(market, 41, 300, kStart);
    market.now.store(kStart + 100'000);
    const Completion added = market.run(
        engine::AddGpuModel{engine::GpuModel{"B200", "nvidia", 192, 2250, 8000, 5'000, 6 * kUsd}});
    ASSERT_EQ(added.outcome, Outcome::kCommitted);
    ASSERT_FALSE(added.rejected);
    const PoolIndex pool = std::get<engine::GpuModelAdded>(added.events.at(0).body).pool;
    EXPECT_EQ(pool, configured);
    ASSERT_FALSE(market.run(engine::Deposit{kBuyer, 1'000 * kUsd}).rejected);
    market.list_cards(kSupplier, pool, 2, 5 * kUsd, kStart + 100'000);
    ASSERT_FALSE(market.buy_an_hour(kBuyer, pool, 6 * kUsd).rejected);
    acked.merge(drive(market, 42, 300, kStart + 100'000));
  }
  EXPECT_EQ(query(db.conninfo(), "SELECT count(*) FROM market_genesis WHERE rule = 'catalog'"), 1);
  for (const ReplayFrom from : {ReplayFrom::kLatestSnapshot, ReplayFrom::kBeginning}) {
    pqxx::connection connection(db.conninfo());
    const engine::Engine recovered = load_market(connection, testing::repository_market(), from);
    EXPECT_EQ(recovered.catalog().pool_count(), configured + 1);
    EXPECT_EQ(recovered.catalog().model(static_cast<PoolIndex>(configured)).model, "B200");
    EXPECT_TRUE(compare_balances(connection, recovered).empty());
  }
  trade_on_and_verify(db.conninfo(), acked, 43);
}

TEST(DurableMarket, RefusesToStartOnANewerSchema) {
  testing::TestDatabase db;
  {
    pqxx::connection connection(db.conninfo());
    migrate(connection);
    pqxx::work txn(connection);
    txn.exec_params("INSERT INTO schema_migrations (version, name) VALUES ($1, 'future')",
                    latest_schema_version() + 1);
    txn.commit();
  }
  Market market(db.conninfo());
  EXPECT_FALSE(market.market->wait_ready(10s));
  EXPECT_NE(market.market->status().fatal_error.find("newer than this binary"), std::string::npos);
  EXPECT_EQ(market.run(engine::Deposit{1, kUsd}).outcome, Outcome::kStopping);
}

TEST(DurableMarket, OneMarketPerDatabase) {
  testing::TestDatabase db;
  Market first(db.conninfo());
  ASSERT_TRUE(first.market->wait_ready(30s));
  Market second(db.conninfo());
  EXPECT_FALSE(second.market->wait_ready(1500ms));
  EXPECT_NE(second.market->status().last_error.find("market lock"), std::string::npos);
  EXPECT_EQ(second.run(engine::Deposit{1, kUsd}).outcome, Outcome::kNotApplied);
  EXPECT_EQ(first.run(engine::Deposit{1, kUsd}).outcome, Outcome::kCommitted);
}

// PostgreSQL stops hard under load and comes back: commands fail fast while it
// is away, nothing acknowledged is lost, and the market recovers by itself.
TEST(DurableMarket, SurvivesPostgresStoppingUnderLoad) {
  testing::PrivateCluster cluster;
  Market market(cluster.conninfo());
  ASSERT_TRUE(market.market->wait_ready(30s));
  std::map<std::uint64_t, std::size_t> acked = drive(market, 21, 600, kStart);

  std::atomic<bool> driving{true};
  std::map<std::uint64_t, std::size_t> during;
  std::thread load([&] {
    std::uint64_t seed = 100;
    while (driving.load())
      during.merge(drive(market, seed++, 64, kStart + 100'000));
  });
  std::this_thread::sleep_for(300ms);
  cluster.stop("immediate");

  // Down: refused at once, not queued.
  std::this_thread::sleep_for(500ms);
  const auto asked = std::chrono::steady_clock::now();
  const Completion refused = market.run(engine::Deposit{1, kUsd});
  const auto waited = std::chrono::steady_clock::now() - asked;
  EXPECT_EQ(refused.outcome, Outcome::kNotApplied);
  EXPECT_LT(waited, 1s);
  EXPECT_FALSE(market.market->status().ready);

  cluster.start();
  EXPECT_TRUE(market.market->wait_ready(30s));
  std::this_thread::sleep_for(500ms);
  driving.store(false);
  load.join();
  acked.merge(during);
  EXPECT_EQ(market.run(engine::Deposit{1, kUsd}).outcome, Outcome::kCommitted);
  EXPECT_GE(market.market->status().storage_failures, 1u);
  EXPECT_GE(market.market->status().recoveries, 2u);
  // The model was rebuilt at the recovery: it holds nothing the failed commits undid.
  const auto model_problems = read_model_problems(*market.market);
  EXPECT_TRUE(model_problems.empty()) << model_problems.front();
  market.market->stop();
  const auto problems = testing::verify_durable_market(cluster.conninfo(), acked);
  EXPECT_TRUE(problems.empty()) << problems.front();
}

// An operator reads what happened in the log: the failure with its cause, and
// the recovery. Every line is one JSON object.
TEST(DurableMarket, APostgresOutageIsLoggedWithItsCauseAndTheRecovery) {
  const std::string log_file = ::testing::TempDir() + "spotgrid-outage.log";
  std::remove(log_file.c_str());
  util::log::init({util::log::Level::kInfo, log_file});
  {
    testing::PrivateCluster cluster;
    Market market(cluster.conninfo());
    ASSERT_TRUE(market.market->wait_ready(30s));
    ASSERT_EQ(market.run(engine::Deposit{1, kUsd}).outcome, Outcome::kCommitted);
    cluster.stop("immediate");
    EXPECT_NE(market.run(engine::Deposit{1, kUsd}).outcome, Outcome::kCommitted);
    std::this_thread::sleep_for(300ms);
    cluster.start();
    ASSERT_TRUE(market.market->wait_ready(30s));
    EXPECT_EQ(market.run(engine::Deposit{1, kUsd}).outcome, Outcome::kCommitted);
  }
  util::log::flush();
  util::log::init({});  // back to standard error for the other tests
  std::ifstream file(log_file);
  std::string line;
  std::vector<std::string> events;
  std::string failure_cause;
  while (std::getline(file, line)) {
    rapidjson::Document entry;
    entry.Parse(line.c_str());
    ASSERT_FALSE(entry.HasParseError()) << line;
    ASSERT_TRUE(entry.HasMember("ts") && entry.HasMember("level") && entry.HasMember("event"))
        << line;
    events.emplace_back(entry["event"].GetString());
    if (events.back() == "storage_failure" && failure_cause.empty())
      failure_cause = entry["cause"].GetString();
  }
  const auto first = [&](const std::string& event) {
    return std::find(events.begin(), events.end(), event) - events.begin();
  };
  const auto last = [&](const std::string& event) {
    return events.rend() - std::find(events.rbegin(), events.rend(), event) - 1;
  };
  ASSERT_LT(first("storage_failure"), static_cast<long>(events.size())) << "no storage_failure";
  EXPECT_FALSE(failure_cause.empty());
  EXPECT_LT(first("recovered"), first("storage_failure"));  // at start
  EXPECT_GT(last("recovered"), first("storage_failure"));   // after the outage
}

// Three commands in one batch: only the middle one is refused.
void expect_only_the_middle_refused(Market& market, const std::vector<CommandBody>& batch) {
  const std::vector<Completion> done = market.market->submit_all(batch);
  ASSERT_EQ(done.size(), 3u);
  EXPECT_EQ(done[0].outcome, Outcome::kCommitted);
  EXPECT_EQ(done[1].outcome, Outcome::kRefused);
  EXPECT_EQ(done[2].outcome, Outcome::kCommitted);
}

// The committed cash of the owners listed (SQL: "7, 8").
long long cash_of(const testing::TestDatabase& db, const std::string& owners) {
  return query(db.conninfo(),
               "SELECT coalesce(sum(balance), 0) FROM ledger_accounts WHERE account = 'cash'"
               " AND owner_id IN (" +
                   owners + ")");
}

// The second line of defence: a command whose content PostgreSQL cannot store
// (a NUL in a client order id, which the gateway refuses first) is refused on
// its own; the commands that shared its batch commit, and the market stays up.
TEST(DurableMarket, ACommandPostgresRefusesIsRefusedAloneAndItsBatchCommits) {
  testing::TestDatabase db;
  Market market(db.conninfo());
  ASSERT_TRUE(market.market->wait_ready(30s));
  ASSERT_EQ(market.run(engine::Deposit{7, 100 * kUsd}).outcome, Outcome::kCommitted);
  const std::vector<CommandBody> batch = {engine::Deposit{8, 3 * kUsd}, poisoned_order(7),
                                          engine::Deposit{9, 4 * kUsd}};
  expect_only_the_middle_refused(market, batch);
  EXPECT_EQ(query(db.conninfo(), "SELECT count(*) FROM orders"), 0);
  EXPECT_EQ(cash_of(db, "8, 9"), 7 * kUsd);
  ASSERT_TRUE(market.market->wait_ready(30s));
  EXPECT_EQ(market.run(engine::Deposit{8, kUsd}).outcome, Outcome::kCommitted);
  EXPECT_EQ(market.market->status().commands_refused, 1u);
  // The refused order never shows; the deposits of its batch do.
  const ReadModel& model = market.market->committed();
  EXPECT_EQ(model.account(7).hold, 0);
  EXPECT_EQ(model.account(9).cash, 4 * kUsd);
  const auto problems = read_model_problems(*market.market);
  EXPECT_TRUE(problems.empty()) << problems.front();
}

// The same when the refusal comes in the batch's last round trip, which also
// carries its COMMIT (here the ledger entries, refused by a constraint the
// test adds): the batch rolls back, the session serves the search for the
// culprit and the next batches.
TEST(DurableMarket, ARefusalInTheRoundTripWithTheCommitIsFoundAlone) {
  testing::TestDatabase db;
  Market market(db.conninfo());
  ASSERT_TRUE(market.market->wait_ready(30s));
  {
    pqxx::connection connection(db.conninfo());
    pqxx::work txn(connection);
    txn.exec(
        "ALTER TABLE ledger_entries ADD CONSTRAINT test_refused_amount"
        " CHECK (abs(amount) <> 1234567)");
    txn.commit();
  }
  const std::vector<CommandBody> batch = {
      engine::Deposit{8, 3 * kUsd}, engine::Deposit{7, 1'234'567}, engine::Deposit{9, 4 * kUsd}};
  expect_only_the_middle_refused(market, batch);
  EXPECT_EQ(cash_of(db, "7, 8, 9"), 7 * kUsd);
  ASSERT_TRUE(market.market->wait_ready(30s));
  EXPECT_EQ(market.run(engine::Deposit{7, kUsd}).outcome, Outcome::kCommitted);
  EXPECT_EQ(market.market->status().commands_refused, 1u);
  EXPECT_EQ(market.market->committed().account(7).cash, kUsd);
  const auto problems = read_model_problems(*market.market);
  EXPECT_TRUE(problems.empty()) << problems.front();
}

// An order that rests in one batch and fills from a listing in the next,
// written while the first is still in flight (each COMMIT held back 50 ms):
// the fill's update runs only at its batch's turn, and finds the order's row.
TEST(DurableMarket, AnOrderFilledInTheBatchAfterItsOwnIsStoredFilled) {
  testing::TestDatabase db;
  Market market(db.conninfo(), std::nullopt, std::nullopt, {.max_batch = 1, .pause = 50ms});
  ASSERT_TRUE(market.market->wait_ready(30s));
  ASSERT_EQ(market.run(engine::Deposit{7, 1'000 * kUsd}).outcome, Outcome::kCommitted);
  const Completion node = market.run(engine::RegisterNode{2, 0, 0, 0, 1, 0, 10'000});
  ASSERT_FALSE(node.rejected);
  const NodeId node_id = std::get<engine::NodeRegistered>(node.events.at(0).body).node;
  engine::OrderSpec spec;
  spec.buyer = 7;
  spec.cards = 1;
  spec.duration = 3'600;
  spec.limit_micros_per_hour = 10 * kUsd;
  const std::vector<CommandBody> rest_then_fill = {
      engine::PlaceOrder{spec},
      engine::AddListing{2, node_id, 1, kUsd, false, kStart, kStart + 86'400}};
  const std::uint64_t overlapped_before = market.market->status().batches_overlapped;
  for (const Completion& done : market.market->submit_all(rest_then_fill))
    ASSERT_FALSE(done.rejected);
  // The listing's batch at least (the order's may count too: it can be taken
  // in the moment between the batch before answering and passing its turn).
  EXPECT_GE(market.market->status().batches_overlapped, overlapped_before + 1);
  EXPECT_EQ(query(db.conninfo(), "SELECT count(*) FROM orders WHERE status = 'filled'"), 1);
  const auto problems = orders_table_problems(db.conninfo(), *market.market);
  EXPECT_TRUE(problems.empty()) << problems.size() << " differ, first: " << problems.front();
}

// Batches in flight (MarketOptions::commit_lanes): with batches of four, each
// writes its new rows while the one before commits. Every table, the read
// model and the log end as the engine has them, and what was acknowledged is
// in the ledger, with one lane, two (the default) or four.
class CommitLanes : public ::testing::TestWithParam<std::uint32_t> {};

TEST_P(CommitLanes, CommitInCommandOrderAndLeaveTheTablesAsTheEngine) {
  const std::uint32_t lanes = GetParam();
  testing::TestDatabase db;
  std::map<std::uint64_t, std::size_t> acked;
  {
    Market market(db.conninfo(), std::nullopt, std::nullopt,
                  {.max_batch = 4, .lanes = lanes, .pause = 1ms});
    ASSERT_TRUE(market.market->wait_ready(30s));
    acked = drive(market, 41, 1'000, kStart);
    ASSERT_GT(acked.size(), 600u);
    const MarketStatus status = market.market->status();
    if (lanes == 1) {
      EXPECT_EQ(status.batches_overlapped, 0u);
    } else {
      EXPECT_GE(status.batches_overlapped, status.batches_committed / 4);
    }
    EXPECT_FALSE(market.committed_out_of_order.load());
    auto problems = read_model_problems(*market.market);
    EXPECT_TRUE(problems.empty()) << problems.size() << " differ, first: " << problems.front();
    problems = orders_table_problems(db.conninfo(), *market.market);
    EXPECT_TRUE(problems.empty()) << problems.size() << " differ, first: " << problems.front();
  }
  const auto problems = testing::verify_durable_market(db.conninfo(), acked);
  EXPECT_TRUE(problems.empty()) << problems.front();
}

INSTANTIATE_TEST_SUITE_P(DurableMarket, CommitLanes, ::testing::Values(1u, 2u, 4u));

// A command refused while some lanes have taken nothing since the recovery
// (four lanes, two commands): the connections handed to them are let go, so
// the next recovery can take their locks.
TEST(DurableMarket, ARefusedCommandLeavesNoLockBehind) {
  testing::TestDatabase db;
  Market market(db.conninfo(), std::nullopt, std::nullopt, {.lanes = 4});
  ASSERT_TRUE(market.market->wait_ready(30s));
  ASSERT_EQ(market.run(engine::Deposit{7, 100 * kUsd}).outcome, Outcome::kCommitted);
  EXPECT_EQ(market.run(poisoned_order(7)).outcome, Outcome::kRefused);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (market.market->status().recoveries < 2 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  ASSERT_EQ(market.market->status().recoveries, 2u) << market.market->status().last_error;
  ASSERT_TRUE(market.market->wait_ready(10s));
  EXPECT_EQ(market.run(engine::Deposit{8, kUsd}).outcome, Outcome::kCommitted);
}

// A batch PostgreSQL refuses while the next is already written: the refused
// command alone is refused, the later batches' commands (rolled back with
// their epoch) are applied again after the recovery, and the answers keep
// their order.
TEST(DurableMarket, ARefusedBatchWithTheNextInFlightLosesOnlyItsCommand) {
  testing::TestDatabase db;
  Market market(db.conninfo(), std::nullopt, std::nullopt, {.max_batch = 1, .pause = 5ms});
  ASSERT_TRUE(market.market->wait_ready(30s));
  std::vector<CommandBody> commands;
  commands.emplace_back(engine::Deposit{7, 100 * kUsd});
  for (AccountId owner = 8; owner < 14; ++owner)
    commands.emplace_back(engine::Deposit{owner, owner * kUsd});
  commands.insert(commands.begin() + 3, poisoned_order(7));
  const std::vector<Completion> done = market.market->submit_all(commands);
  std::uint64_t last_seq = 0;
  for (std::size_t i = 0; i < done.size(); ++i) {
    if (i == 3) {
      EXPECT_EQ(done[i].outcome, Outcome::kRefused);
      continue;
    }
    EXPECT_EQ(done[i].outcome, Outcome::kCommitted) << i;
    EXPECT_GT(done[i].command_seq, last_seq) << i;  // in the order they were sent
    last_seq = done[i].command_seq;
  }
  EXPECT_EQ(query(db.conninfo(), "SELECT count(*) FROM orders"), 0);
  EXPECT_EQ(query(db.conninfo(),
                  "SELECT coalesce(sum(balance), 0) FROM ledger_accounts"
                  " WHERE account = 'cash' AND owner_id BETWEEN 8 AND 13"),
            (8 + 9 + 10 + 11 + 12 + 13) * kUsd);
  ASSERT_TRUE(market.market->wait_ready(30s));
  const auto problems = read_model_problems(*market.market);
  EXPECT_TRUE(problems.empty()) << problems.front();
}

// Another writer put a row in the log at the sequence the market was about to
// commit: the unique violation is a storage failure (the market is not ours),
// never the command's content, so the command is answered not_applied, not
// refused, and the market does not carry on over a log it no longer owns.
TEST(DurableMarket, AnotherWritersLogRowIsAStorageFailureNotAContentRefusal) {
  testing::TestDatabase db;
  Market market(db.conninfo());
  ASSERT_TRUE(market.market->wait_ready(30s));
  ASSERT_EQ(market.run(engine::Deposit{7, kUsd}).outcome, Outcome::kCommitted);
  const std::uint64_t next = market.market->status().committed_seq + 1;
  {
    pqxx::connection other(db.conninfo());
    pqxx::work txn(other);
    txn.exec_params(
        "INSERT INTO command_log (command_seq, at, kind, rejected, first_event_seq, event_count,"
        " command, events, event_format) VALUES ($1, 0, 'deposit', '', 0, 0, '\\x00', '', 4)",
        static_cast<long long>(next));
    txn.commit();
  }
  const Completion clashed = market.run(engine::Deposit{8, kUsd});
  EXPECT_EQ(clashed.outcome, Outcome::kNotApplied);
  EXPECT_EQ(market.market->status().commands_refused, 0u);
  EXPECT_GE(market.market->status().storage_failures, 1u);
  EXPECT_EQ(query(db.conninfo(),
                  "SELECT count(*) FROM ledger_accounts WHERE owner_id = 8 AND balance <> 0"),
            0);
}

}  // namespace
}  // namespace spotgrid::ledger
