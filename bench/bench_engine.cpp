// spotgrid-bench-engine: in-process throughput and per-command latency of the
// matching engine. Streams are generated (and, for `mixed`, recorded against a
// scratch engine so cancels and amends name live orders) before timing. Each run
// replays a stream twice, each time into a fresh engine: a throughput pass timed
// as a whole (ops_per_s), and a latency pass that reads the TSC around every
// command, calibrated against steady_clock over the pass (percentiles, and its
// own rate as ops_per_s_clocked): no system call per command.
//
// Usage: spotgrid-bench-engine [--config DIR] [--ops N] [--runs R] [--tail 1]
//                              [--snapshot-orders N] [--stream add_only|mixed]
// Prints one JSON object per stream: the median over R runs; then one for the
// snapshot of a book of N (100 000; 0: none) resting orders: the copy of the state
// (the engine thread's pause), its serialization (on another thread) and its restore. With --tail
// 1, a second object per stream counts, by command kind, the commands of the last run slower than
// its p99 and p99.9, and by the leases a command started, how many did and how many of those were
// over each: where the tail comes from.

#include <sys/resource.h>
#include <x86intrin.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "spotgrid/engine/codec.hpp"
#include "spotgrid/engine/config.hpp"
#include "spotgrid/engine/engine.hpp"
#include "spotgrid/util/huge_pages.hpp"

namespace {

using namespace spotgrid;
using namespace spotgrid::engine;

constexpr UnixSeconds kStart = 1'767'571'200;
constexpr AccountId kFirstBuyer = 1;
constexpr AccountId kBuyers = 64;
constexpr AccountId kSupplier = 1'000;
constexpr Seconds kLeaseSeconds = Seconds{24} * 3'600;  // no lease ends inside a run
constexpr Micros kTick = 1'000;  // prices on a 0.1-cent grid, as on any exchange

// A price on the tick grid within [reference - spread/2, reference + spread/2).
Micros grid_price(std::mt19937_64& rng, Micros reference, Micros spread) {
  const auto ticks = static_cast<std::uint64_t>(spread / kTick);
  return (reference - spread / 2) / kTick * kTick + static_cast<Micros>(rng() % ticks) * kTick;
}

struct Stream {
  std::string name;
  Catalog catalog;
  std::vector<Command> setup;  // untimed: deposits and nodes
  // Timed. On huge pages (util/huge_pages.hpp): a server's engine reads each
  // command from a small buffer in cache, while this is ~128 bytes a command,
  // ~128 MB in all; on 4 KiB pages the first command of each page (one in 32)
  // paid a TLB miss that the measuring machine's hypervisor made a few µs.
  util::HugeVector<Command> commands;
};

struct Result {
  double seconds = 0;            // the throughput pass
  double ops_per_s = 0;          // the throughput pass: no clock read per command
  double ops_per_s_clocked = 0;  // the latency pass, with its two TSC reads per command
  double p50_ns = 0;
  double p99_ns = 0;
  double p999_ns = 0;
  std::uint64_t trades = 0;
  std::uint64_t rejected = 0;
  std::uint64_t events = 0;
  double page_faults = 0;  // minor faults during the latency pass: each a few µs on one command
  // Commands slower than the p99 and the p99.9, by kind, and by the leases
  // they started; and how many commands of the pass started that many.
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> tail;
  std::map<std::uint32_t, std::array<std::uint64_t, 3>> tail_by_leases;
};

EngineConfig capacity_for(std::size_t ops) {
  EngineConfig config;
  const auto slots =
      static_cast<std::uint32_t>(std::min<std::size_t>(ops + 1'024, limits::kMaxLeases));
  config.max_nodes = config.max_listings = config.max_orders = config.max_leases = slots;
  return config;
}

// Eight pools: the shipped models, then copies under new names if there are fewer.
Catalog eight_pools(const Catalog& shipped) {
  std::vector<GpuModel> models;
  for (std::size_t i = 0; models.size() < 8; ++i) {
    GpuModel model = shipped.model(static_cast<PoolIndex>(i % shipped.pool_count()));
    if (i >= shipped.pool_count()) model.model += "-b";
    models.push_back(model);
  }
  return Catalog(models);
}

void add_setup(Stream& stream, std::size_t nodes, std::size_t pools, std::size_t regions) {
  for (AccountId buyer = kFirstBuyer; buyer < kFirstBuyer + kBuyers; ++buyer) {
    stream.setup.push_back({kStart, Deposit{buyer, limits::kMaxAccountBalance / 2}});
  }
  for (std::size_t i = 0; i < nodes; ++i) {
    stream.setup.push_back({kStart, RegisterNode{kSupplier, static_cast<PoolIndex>(i % pools),
                                                 static_cast<RegionIndex>(i % regions), 0, 8, 0,
                                                 static_cast<BasisPoints>(9'000 + i % 1'001)}});
  }
}

// Node ids are deterministic: the i-th registered node has slot i, generation 1.
NodeId node_id(std::size_t index) {
  return (NodeId{1} << 32) | index;
}

OrderSpec order(AccountId buyer, PoolIndex pool, std::uint32_t cards, Micros limit) {
  OrderSpec spec;
  spec.buyer = buyer;
  spec.target.pool = pool;
  spec.cards = cards;
  spec.duration = kLeaseSeconds;
  spec.limit_micros_per_hour = limit;
  return spec;
}

// One pool, alternating asks and bids with overlapping prices: about half fill.
Stream add_only(const Catalog& catalog, std::size_t ops) {
  Stream stream{"add_only", catalog, {}, {}};
  add_setup(stream, ops / 2 + 1, 1, 1);
  std::mt19937_64 rng(1);
  const Micros reference = catalog.model(0).reference_price_micros_per_card_hour;
  for (std::size_t i = 0; i < ops; ++i) {
    const auto cards = static_cast<std::uint16_t>(1 + rng() % 4);
    const Micros price = grid_price(rng, reference, reference / 10);
    if (i % 2 == 0) {
      stream.commands.push_back({kStart, AddListing{kSupplier, node_id(i / 2), cards, price, false,
                                                    kStart, kStart + Seconds{30} * 86'400}});
    } else {
      stream.commands.push_back(
          {kStart, PlaceOrder{order(kFirstBuyer + static_cast<AccountId>(rng() % kBuyers), 0, cards,
                                    price)}});
    }
  }
  return stream;
}

// The orders resting in the scratch engine, for cancels and amends to name.
struct Resting {
  OrderId id;
  AccountId owner;
  PoolIndex pool;
};

class RestingOrders {
 public:
  bool empty() const { return orders_.empty(); }
  const Resting& pick(std::mt19937_64& rng) const { return orders_[rng() % orders_.size()]; }

  // Follows one command's events: an order it placed that rests, and orders
  // that filled or were cancelled. `placed` is null unless it placed one.
  void follow(const std::vector<Event>& events, const OrderSpec* placed) {
    for (const Event& event : events) {
      if (const auto* rest = std::get_if<OrderResting>(&event.body)) {
        if (placed != nullptr) add({rest->order, placed->buyer, placed->target.pool});
      } else if (const auto* filled = std::get_if<OrderFilled>(&event.body)) {
        forget(filled->order);
      } else if (const auto* cancelled = std::get_if<OrderCancelled>(&event.body)) {
        forget(cancelled->order);
      }
    }
  }

 private:
  void add(const Resting& order) {
    if (position_.contains(order.id)) return;  // an amended order re-rests: already known
    position_[order.id] = orders_.size();
    orders_.push_back(order);
  }
  // Moves the last order into the gap, so forgetting costs O(1).
  void forget(OrderId id) {
    const auto it = position_.find(id);
    if (it == position_.end()) return;
    position_[orders_.back().id] = it->second;
    orders_[it->second] = orders_.back();
    orders_.pop_back();
    position_.erase(id);
  }

  std::vector<Resting> orders_;
  std::unordered_map<OrderId, std::size_t> position_;
};

// What every mixed command draws first, whichever kind it turns out to be.
// The helpers below draw the rest in a fixed order: the stream must not change.
struct Draw {
  std::uint64_t roll = 0;
  PoolIndex pool = 0;
  Micros reference = 0;
  Micros price = 0;
  AccountId buyer = 0;
};

Draw draw(std::mt19937_64& rng, const Catalog& catalog) {
  Draw d;
  d.roll = rng() % 100;
  d.pool = static_cast<PoolIndex>(rng() % catalog.pool_count());
  d.reference = catalog.model(d.pool).reference_price_micros_per_card_hour;
  d.price = grid_price(rng, d.reference - d.reference / 20, d.reference / 10);
  d.buyer = static_cast<AccountId>(kFirstBuyer + rng() % kBuyers);
  return d;
}

// Asks sit above the bids' range so new bids mostly rest; marketable orders cross.
CommandBody new_ask(std::mt19937_64& rng, const Draw& d, std::size_t node) {
  return AddListing{kSupplier,
                    node_id(node),
                    static_cast<std::uint16_t>(1 + rng() % 8),
                    d.price + d.reference / 10,
                    false,
                    kStart,
                    kStart + Seconds{30} * 86'400};
}

// A bid of 2 or 4 cards, some with region, reliability or gang constraints.
CommandBody new_bid(std::mt19937_64& rng, const Draw& d, const TariffBook& tariffs) {
  OrderSpec spec = order(d.buyer, d.pool, static_cast<std::uint32_t>(2 + 2 * (rng() % 2)), d.price);
  if (rng() % 4 == 0) spec.regions = RegionMask{1} << (rng() % tariffs.region_count());
  if (rng() % 4 == 0) spec.min_reliability = 9'500;
  if (rng() % 8 == 0) spec.cards_per_node = 2;
  return PlaceOrder{spec};
}

// Reduce to one card, or move the price within the order's own market.
CommandBody amend(std::mt19937_64& rng, const Catalog& catalog, const Resting& target) {
  const Micros own_reference = catalog.model(target.pool).reference_price_micros_per_card_hour;
  return rng() % 2
             ? AmendOrder{target.owner, target.id, 1, 0}
             : AmendOrder{target.owner, target.id, 0,
                          grid_price(rng, own_reference - own_reference / 20, own_reference / 10)};
}

// Immediate-or-cancel at twice the reference price, so it crosses the resting asks.
CommandBody marketable(std::mt19937_64& rng, const Draw& d) {
  OrderSpec spec =
      order(d.buyer, d.pool, static_cast<std::uint32_t>(1 + rng() % 4), d.reference * 2);
  spec.immediate_or_cancel = true;
  return PlaceOrder{spec};
}

// The next mixed command. New orders stand in for cancels and amends while
// nothing rests. `next_node` rotates listings over the `nodes` registered.
CommandBody mixed_command(std::mt19937_64& rng, const Catalog& catalog, const TariffBook& tariffs,
                          const RestingOrders& resting, std::size_t& next_node, std::size_t nodes) {
  const Draw d = draw(rng, catalog);
  if ((d.roll < 50 || resting.empty()) && d.roll % 2 == 0)
    return new_ask(rng, d, next_node++ % nodes);
  if (d.roll < 50 || resting.empty()) return new_bid(rng, d, tariffs);
  if (d.roll < 75) {
    const Resting& target = resting.pick(rng);
    return CancelOrder{target.owner, target.id};
  }
  if (d.roll < 90) return amend(rng, catalog, resting.pick(rng));
  return marketable(rng, d);
}

// New 50 % (bids and asks), cancel 25 %, amend 15 %, marketable 10 %, over 8
// pools with region, reliability and gang constraints. Recorded against a
// scratch engine so that cancels and amends name orders that are resting.
Stream mixed(const Catalog& shipped, const TariffBook& tariffs, std::size_t ops) {
  Stream stream{"mixed", eight_pools(shipped), {}, {}};
  const std::size_t nodes = ops / 4 + 1;
  add_setup(stream, nodes, stream.catalog.pool_count(), tariffs.region_count());
  Engine scratch(stream.catalog, tariffs, capacity_for(ops));
  std::vector<Event> events;
  for (const Command& command : stream.setup) {
    events.clear();  // the setup's events are not kept
    scratch.submit(command, events);
  }

  RestingOrders resting;
  std::mt19937_64 rng(2);
  std::size_t next_node = 0;
  for (std::size_t i = 0; i < ops; ++i) {
    const CommandBody body = mixed_command(rng, stream.catalog, tariffs, resting, next_node, nodes);
    stream.commands.push_back({kStart, body});
    events.clear();
    scratch.submit(stream.commands.back(), events);
    const OrderSpec* placed =
        std::holds_alternative<PlaceOrder>(body) ? &std::get<PlaceOrder>(body).spec : nullptr;
    resting.follow(events, placed);
  }
  return stream;
}

double percentile_ns(util::HugeVector<std::uint32_t>& ticks, double fraction, double ns_per_tick) {
  const auto index = static_cast<std::size_t>(fraction * static_cast<double>(ticks.size() - 1));
  std::nth_element(ticks.begin(), ticks.begin() + static_cast<std::ptrdiff_t>(index), ticks.end());
  return ticks[index] * ns_per_tick;
}

// A command's kind; an order's also names its constraints ("place_order+region+ioc").
std::string tail_kind(const CommandBody& body) {
  std::string kind(command_name(body));
  if (const auto* place = std::get_if<PlaceOrder>(&body)) {
    const OrderSpec& spec = place->spec;
    if (spec.regions != 0) kind += "+region";
    if (spec.min_reliability != 0) kind += "+reliability";
    if (spec.cards_per_node != 0) kind += "+gang";
    if (spec.immediate_or_cancel) kind += "+ioc";
  }
  return kind;
}

// Before the percentiles reorder `ticks`: which kinds of command are slow.
void count_tail(const Stream& stream, const util::HugeVector<std::uint32_t>& ticks,
                const util::HugeVector<std::uint8_t>& leases, Result& result) {
  std::vector<std::uint32_t> sorted(ticks.begin(), ticks.end());
  std::sort(sorted.begin(), sorted.end());
  const auto at = [&](double fraction) {
    return sorted[static_cast<std::size_t>(fraction * static_cast<double>(sorted.size() - 1))];
  };
  const std::uint32_t p99 = at(0.99);
  const std::uint32_t p999 = at(0.999);
  for (std::size_t i = 0; i < ticks.size(); ++i) {
    auto& [started_as_many, leases_over_p99, leases_over_p999] = result.tail_by_leases[leases[i]];
    ++started_as_many;
    if (ticks[i] <= p99) continue;
    ++leases_over_p99;
    leases_over_p999 += ticks[i] > p999;
    auto& [over_p99, over_p999] = result.tail[tail_kind(stream.commands[i].body)];
    ++over_p99;
    over_p999 += ticks[i] > p999;
  }
}

long minor_faults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

// A fresh engine with the stream's set-up applied (its events are not kept).
Engine prepared_engine(const Stream& stream, const TariffBook& tariffs,
                       std::vector<Event>& events) {
  Engine engine(stream.catalog, tariffs, capacity_for(stream.commands.size()));
  for (const Command& command : stream.setup) {
    events.clear();
    engine.submit(command, events);
  }
  return engine;
}

struct Throughput {
  double seconds = 0;
  std::uint64_t rejected = 0;
  std::uint64_t events = 0;
};

// Throughput: the stream replayed with no clock read per command (as an order
// book's own insert benchmark runs), timed as a whole.
Throughput throughput_pass(const Stream& stream, const TariffBook& tariffs) {
  std::vector<Event> events;
  events.reserve(1'024);
  Engine engine = prepared_engine(stream, tariffs, events);
  Throughput result;
  const auto start = std::chrono::steady_clock::now();
  for (const Command& command : stream.commands) {
    events.clear();
    result.rejected += engine.submit(command, events).rejected.has_value();
    result.events += events.size();
  }
  const auto end = std::chrono::steady_clock::now();
  result.seconds = std::chrono::duration<double>(end - start).count();
  return result;
}

// Latency: the stream replayed into another fresh engine, each command timed by
// two TSC reads (which slow the pass by ~8 % on the development VM).
Result latency_pass(const Stream& stream, const TariffBook& tariffs) {
  std::vector<Event> events;
  events.reserve(1'024);
  Engine engine = prepared_engine(stream, tariffs, events);
  util::HugeVector<std::uint32_t> ticks(stream.commands.size());
  util::HugeVector<std::uint8_t> leases(stream.commands.size());
  Result result;

  const long faults_start = minor_faults();
  const auto wall_start = std::chrono::steady_clock::now();
  const std::uint64_t tsc_start = __rdtsc();
  for (std::size_t i = 0; i < stream.commands.size(); ++i) {
    events.clear();
    const std::uint64_t before = __rdtsc();
    const SubmitResult submitted = engine.submit(stream.commands[i], events);
    ticks[i] = static_cast<std::uint32_t>(std::min<std::uint64_t>(__rdtsc() - before, UINT32_MAX));
    result.rejected += submitted.rejected.has_value();
    result.events += events.size();
    std::uint32_t started = 0;
    for (const Event& event : events)
      started += std::holds_alternative<LeaseStarted>(event.body);
    result.trades += started;
    // A command of these streams starts a few leases; a count of 255 reads "255 or more".
    leases[i] = static_cast<std::uint8_t>(std::min<std::uint32_t>(started, UINT8_MAX));
  }
  const std::uint64_t tsc_end = __rdtsc();
  const auto wall_end = std::chrono::steady_clock::now();
  result.page_faults = static_cast<double>(minor_faults() - faults_start);

  const double seconds = std::chrono::duration<double>(wall_end - wall_start).count();
  const double ns_per_tick = seconds * 1e9 / static_cast<double>(tsc_end - tsc_start);
  result.ops_per_s_clocked = static_cast<double>(stream.commands.size()) / seconds;
  count_tail(stream, ticks, leases, result);
  result.p50_ns = percentile_ns(ticks, 0.50, ns_per_tick);
  result.p99_ns = percentile_ns(ticks, 0.99, ns_per_tick);
  result.p999_ns = percentile_ns(ticks, 0.999, ns_per_tick);
  return result;
}

// The two passes take turns going first, so neither is always the warmer one.
Result run_once(const Stream& stream, const TariffBook& tariffs, bool throughput_first) {
  Throughput throughput;
  if (throughput_first) throughput = throughput_pass(stream, tariffs);
  Result result = latency_pass(stream, tariffs);
  if (!throughput_first) throughput = throughput_pass(stream, tariffs);
  if (throughput.rejected != result.rejected || throughput.events != result.events) {
    std::fprintf(stderr,  // the engine is deterministic: the passes must agree
                 "spotgrid-bench-engine: the passes rejected %llu and %llu commands and emitted "
                 "%llu and %llu events\n",
                 static_cast<unsigned long long>(result.rejected),
                 static_cast<unsigned long long>(throughput.rejected),
                 static_cast<unsigned long long>(result.events),
                 static_cast<unsigned long long>(throughput.events));
    std::exit(1);
  }
  result.seconds = throughput.seconds;
  result.ops_per_s = static_cast<double>(stream.commands.size()) / result.seconds;
  return result;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// The core's clock, from chains of dependent register additions (one a cycle:
// an add of a register, unlike one of a constant, is not folded away by the
// renamer of recent Intel cores), the median of five ~55 ms samples: it turns a
// rate into cycles a command, which this VM cannot count (it has no hardware
// counters), and so into instructions a cycle beside callgrind's count (README,
// "the instruction budget").
double core_ghz() {
  constexpr std::uint64_t kRounds = 50'000'000;
  constexpr double kAddsPerRound = 4;
  std::vector<double> samples;
  for (int sample = 0; sample < 5; ++sample) {
    std::uint64_t sum = 0;
    const std::uint64_t one = 1;
    const auto start = std::chrono::steady_clock::now();
    for (std::uint64_t round = 0; round < kRounds; ++round)
      asm volatile("add %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\tadd %1, %0" : "+r"(sum) : "r"(one));
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    samples.push_back(kAddsPerRound * static_cast<double>(kRounds) / took.count() / 1e9);
  }
  return median(samples);
}

void report(const Stream& stream, const std::vector<Result>& runs, double ghz) {
  const auto field = [&](double Result::*member) {
    std::vector<double> values;
    values.reserve(runs.size());
    for (const Result& run : runs)
      values.push_back(run.*member);
    return median(values);
  };
  std::printf(
      "{\"stream\": \"%s\", \"ops\": %zu, \"runs\": %zu, \"seconds\": %.4f, \"ops_per_s\": %.0f, "
      "\"ops_per_s_clocked\": %.0f, \"p50_ns\": %.0f, "
      "\"p99_ns\": %.0f, \"p999_ns\": %.0f, \"page_faults\": %.0f, \"trades\": %llu, "
      "\"rejected\": %llu, \"core_ghz\": %.2f, \"cycles_per_op\": %.0f}\n",
      stream.name.c_str(), stream.commands.size(), runs.size(), field(&Result::seconds),
      field(&Result::ops_per_s), field(&Result::ops_per_s_clocked), field(&Result::p50_ns),
      field(&Result::p99_ns), field(&Result::p999_ns), field(&Result::page_faults),
      static_cast<unsigned long long>(runs.front().trades),
      static_cast<unsigned long long>(runs.front().rejected), ghz,
      ghz * 1e9 / field(&Result::ops_per_s));
  std::fflush(stdout);
}

void report_tail(const Stream& stream, const Result& last) {
  std::printf("{\"stream\": \"%s\", \"over_p99_by_kind\": {", stream.name.c_str());
  const char* separator = "";
  for (const auto& [kind, counts] : last.tail) {
    std::printf("%s\"%s\": %llu", separator, kind.c_str(),
                static_cast<unsigned long long>(counts.first));
    separator = ", ";
  }
  std::printf("}, \"over_p999_by_kind\": {");
  separator = "";
  for (const auto& [kind, counts] : last.tail) {
    if (counts.second == 0) continue;
    std::printf("%s\"%s\": %llu", separator, kind.c_str(),
                static_cast<unsigned long long>(counts.second));
    separator = ", ";
  }
  // "N": [commands that started N leases, of them over the p99, over the p99.9]
  std::printf("}, \"by_leases_started\": {");
  separator = "";
  for (const auto& [started, counts] : last.tail_by_leases) {
    std::printf("%s\"%u\": [%llu, %llu, %llu]", separator, static_cast<unsigned>(started),
                static_cast<unsigned long long>(counts[0]),
                static_cast<unsigned long long>(counts[1]),
                static_cast<unsigned long long>(counts[2]));
    separator = ", ";
  }
  std::printf("}}\n");
  std::fflush(stdout);
}

// The snapshot pause: an engine with `resting` orders resting against `resting / 4` asks
// (8 pools, every region), snapshot and restore timed, medians of `runs`.
void snapshot_pause(const Catalog& shipped, const TariffBook& tariffs, std::size_t resting,
                    std::size_t runs) {
  Stream stream{"snapshot", eight_pools(shipped), {}, {}};
  const std::size_t nodes = resting / 4 + 1;
  add_setup(stream, nodes, stream.catalog.pool_count(), tariffs.region_count());
  const EngineConfig capacity = capacity_for(2 * resting + nodes);  // filled orders keep slots
  Engine engine(stream.catalog, tariffs, capacity);
  std::vector<Event> events;
  for (const Command& command : stream.setup) {
    events.clear();  // the setup's events are not kept
    engine.submit(command, events);
  }
  std::mt19937_64 rng(3);
  std::size_t orders = 0;
  for (std::size_t node = 0; orders < resting && node < 10 * resting; ++node) {
    const Draw d = draw(rng, stream.catalog);
    const bool ask = node < nodes;
    const CommandBody body = ask ? new_ask(rng, d, node) : new_bid(rng, d, tariffs);
    events.clear();
    engine.submit({kStart, body}, events);
    for (const Event& event : events)
      orders += std::holds_alternative<OrderResting>(event.body);
  }
  std::vector<double> copy_ms;
  std::vector<double> take_ms;
  std::vector<double> restore_ms;
  std::size_t bytes = 0;
  for (std::size_t run = 0; run < runs; ++run) {
    const auto copy_start = std::chrono::steady_clock::now();
    const Engine frozen = engine.copy();
    const auto start = std::chrono::steady_clock::now();
    const std::string snapshot = frozen.snapshot();
    const auto taken = std::chrono::steady_clock::now();
    const auto restored = Engine::restore(stream.catalog, tariffs, capacity, snapshot);
    const auto done = std::chrono::steady_clock::now();
    if (!restored || restored->snapshot() != snapshot || engine.snapshot() != snapshot) {
      std::fprintf(stderr, "spotgrid-bench-engine: the snapshot did not restore to itself\n");
      std::exit(1);
    }
    bytes = snapshot.size();
    copy_ms.push_back(std::chrono::duration<double, std::milli>(start - copy_start).count());
    take_ms.push_back(std::chrono::duration<double, std::milli>(taken - start).count());
    restore_ms.push_back(std::chrono::duration<double, std::milli>(done - taken).count());
  }
  std::printf(
      "{\"stream\": \"snapshot\", \"resting_orders\": %zu, \"runs\": %zu, \"bytes\": %zu, "
      "\"copy_ms\": %.2f, \"serialize_ms\": %.2f, \"restore_ms\": %.2f}\n",
      orders, runs, bytes, median(copy_ms), median(take_ms), median(restore_ms));
  std::fflush(stdout);
}

bool parse(std::string_view text, std::size_t& value) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc{} && end == text.data() + text.size() && value > 0;
}

}  // namespace

// NOLINTNEXTLINE(bugprone-exception-escape): a bench that runs out of memory should die loudly
int main(int argc, char** argv) {
  std::string config_dir = "config";
  std::size_t ops = 1'000'000;
  std::size_t runs = 5;
  std::size_t tail = 0;
  std::size_t snapshot_orders = 100'000;
  std::string_view only_stream;  // empty: both
  for (int i = 1; i < argc; i += 2) {
    const std::string_view flag = argv[i];
    const std::string_view value = i + 1 < argc ? argv[i + 1] : "";
    const bool ok =
        i + 1 < argc &&
        (flag == "--config" ? (config_dir = std::string(value), true)
         : flag == "--ops"  ? parse(value, ops)
         : flag == "--runs" ? parse(value, runs)
         : flag == "--tail" ? parse(value, tail)
         : flag == "--snapshot-orders"
             ? (value == "0" ? (snapshot_orders = 0, true) : parse(value, snapshot_orders))
         : flag == "--stream" ? (only_stream = value, value == "add_only" || value == "mixed")
                              : false);
    if (!ok) {
      std::fprintf(stderr,
                   "usage: spotgrid-bench-engine [--config DIR] [--ops N] [--runs R] [--tail 1] "
                   "[--snapshot-orders N] [--stream add_only|mixed]\n");
      return 2;
    }
  }
  const auto catalog = load_catalog_file(config_dir + "/gpus.json");
  const auto tariffs = load_tariffs_file(config_dir + "/tariffs.json");
  if (!catalog || !tariffs) {
    std::fprintf(stderr, "spotgrid-bench-engine: %s\n",
                 (!catalog ? catalog.error() : tariffs.error()).message().c_str());
    return 1;
  }
  const double ghz = core_ghz();
  std::vector<Stream> streams;
  if (only_stream != "mixed") streams.push_back(add_only(catalog.value(), ops));
  if (only_stream != "add_only") streams.push_back(mixed(catalog.value(), tariffs.value(), ops));
  for (const Stream& stream : streams) {
    std::vector<Result> results;
    results.reserve(runs);
    for (std::size_t run = 0; run < runs; ++run)
      results.push_back(run_once(stream, tariffs.value(), run % 2 == 1));
    report(stream, results, ghz);
    if (tail != 0) report_tail(stream, results.back());
  }
  if (snapshot_orders > 0) snapshot_pause(catalog.value(), tariffs.value(), snapshot_orders, runs);
  return 0;
}
