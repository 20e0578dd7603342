// spotgrid-bench-durable: durable commands per second and acknowledgement
// latency through engine + persister + PostgreSQL (group commit, fsync on).
//
// Commands come from the seeded market simulation (deposits, nodes, listings,
// orders of both strategies, cancels, amends, stops, settlements, some bad
// input). Two modes per run, each on a fresh database:
//   saturation: up to --inflight commands outstanding; throughput is the figure.
//   paced:      open loop at --rate commands/s; latency is measured from each
//               command's intended send time, so a stall cannot hide
//               (no coordinated omission).
//
// Usage: spotgrid-bench-durable --conninfo "host=... dbname=postgres" [--config DIR]
//          [--seconds S] [--runs R] [--inflight K] [--rate R] [--commit-lanes L]
//          [--mode saturation|paced|both]
// Prints one JSON object per mode: the median over R runs.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench_support.hpp"
#include "spotgrid/engine/config.hpp"
#include "spotgrid/ledger/durable_market.hpp"
#include "spotgrid/sim/market_sim.hpp"

namespace {

using namespace spotgrid;
using bench::percentile_ms;
using bench::RunDatabase;
using Clock = std::chrono::steady_clock;
constexpr auto kPacingSlack = std::chrono::microseconds(200);

struct Args {
  std::string conninfo;
  std::string config = "config";
  double seconds = 10;
  int runs = 3;
  std::uint32_t inflight = 8'192;
  std::uint32_t commit_lanes = ledger::MarketOptions{}.commit_lanes;
  double rate = 50'000;
  bool saturation = true;  // --mode saturation|paced|both (both: the default)
  bool paced = true;
};

struct Result {
  double commands_per_s = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double p999_ms = 0;
  double max_ms = 0;
  std::uint64_t committed = 0;
  std::uint64_t failed = 0;
  double mean_batch = 0;
};

Args parse(int argc, char** argv) {
  Args args;
  bench::parse_flags(argc, argv,
                     {
                         {"--conninfo", [&](const std::string& v) { args.conninfo = v; }},
                         {"--config", [&](const std::string& v) { args.config = v; }},
                         {"--seconds", [&](const std::string& v) { args.seconds = std::stod(v); }},
                         {"--runs", [&](const std::string& v) { args.runs = std::stoi(v); }},
                         {"--inflight",
                          [&](const std::string& v) {
                            args.inflight = static_cast<std::uint32_t>(std::stoul(v));
                          }},
                         {"--rate", [&](const std::string& v) { args.rate = std::stod(v); }},
                         {"--mode",
                          [&](const std::string& v) {
                            args.saturation = v == "saturation" || v == "both";
                            args.paced = v == "paced" || v == "both";
                          }},
                         {"--commit-lanes",
                          [&](const std::string& v) {
                            args.commit_lanes = static_cast<std::uint32_t>(std::stoul(v));
                          }},
                     });
  if (!(args.seconds > 0) || args.runs < 1 || args.inflight < 1 || !(args.rate > 0) ||
      args.commit_lanes < 1 || args.commit_lanes > ledger::kMaxCommitLanes ||
      !(args.saturation || args.paced)) {
    std::fprintf(stderr,
                 "--seconds, --runs, --inflight and --rate must be positive, --commit-lanes 1 "
                 "to %u, --mode saturation, paced or both\n",
                 ledger::kMaxCommitLanes);
    std::exit(2);
  }
  if (args.conninfo.empty()) {
    std::fprintf(stderr, "usage: spotgrid-bench-durable --conninfo CONNINFO [...]\n");
    std::exit(2);
  }
  return args;
}

// What the sending loop and the market's completion callbacks share.
struct Acks {
  std::mutex mutex;
  std::vector<std::uint32_t> latencies;                // of committed commands, in µs
  std::vector<std::vector<engine::Event>> to_observe;  // committed events not yet fed back
  std::atomic<std::uint32_t> inflight{0};
  std::condition_variable room;
  std::atomic<std::uint64_t> failed{0};
};

// When commands are meant to go out, and until when.
struct Schedule {
  bool paced = false;
  std::uint32_t max_inflight = 0;
  Clock::time_point begin;
  Clock::time_point end;
  std::chrono::duration<double> interval{};
};

// Starts the clock: --seconds from now, at one command per 1/--rate seconds when paced.
Schedule schedule_from_now(const Args& args, bool paced) {
  Schedule schedule;
  schedule.paced = paced;
  schedule.max_inflight = args.inflight;
  schedule.begin = Clock::now();
  schedule.end = schedule.begin + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(args.seconds));
  schedule.interval = std::chrono::duration<double>(1.0 / args.rate);
  return schedule;
}

// The moment the next command is meant to go: on the --rate schedule when
// paced, else as soon as fewer than --inflight are outstanding.
Clock::time_point next_send_time(const Schedule& schedule, std::uint64_t sent, Acks& acks) {
  // Sleep, never spin: on two cores a spinning client steals the persister's CPU.
  Clock::time_point intended = Clock::now();
  if (schedule.paced) {
    // Wake at most every 200 µs and send everything due: a wake-up per command
    // would cost the two cores more than the market does. Latency still
    // counts from each command's own intended time.
    intended =
        schedule.begin + std::chrono::duration_cast<Clock::duration>(schedule.interval * sent);
    if (intended > Clock::now()) std::this_thread::sleep_until(intended + kPacingSlack);
  } else if (acks.inflight.load() >= schedule.max_inflight) {
    std::unique_lock lock(acks.mutex);
    acks.room.wait(lock, [&] { return acks.inflight.load() < schedule.max_inflight; });
    intended = Clock::now();
  }
  return intended;
}

// Feeds the events of committed commands back to the simulation, which bases
// its next commands on them. `observing` is scratch space, kept for reuse.
void observe_committed(sim::MarketSim& sim, Acks& acks,
                       std::vector<std::vector<engine::Event>>& observing) {
  {
    std::lock_guard lock(acks.mutex);
    observing.swap(acks.to_observe);
  }
  for (const auto& events : observing)
    sim.observe(events);
  observing.clear();
}

// Submits one command; its latency counts from `intended`.
void submit_timed(ledger::DurableMarket& market, const engine::Command& command, Acks& acks,
                  Clock::time_point intended) {
  ++acks.inflight;
  market.submit(command.body, [&acks, intended](ledger::Completion&& completion) {
    const auto micros =
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - intended);
    std::lock_guard lock(acks.mutex);
    if (completion.outcome == ledger::Outcome::kCommitted) {
      acks.latencies.push_back(static_cast<std::uint32_t>(micros.count()));
      acks.to_observe.push_back(std::move(completion.events));
    } else {
      ++acks.failed;
    }
    --acks.inflight;
    acks.room.notify_one();
  });
}

// Sends the simulation's commands until the schedule ends, then waits for
// every one of them to be answered.
void send_until_end(const Schedule& schedule, ledger::DurableMarket& market, sim::MarketSim& sim,
                    std::atomic<UnixSeconds>& sim_now, Acks& acks) {
  std::uint64_t sent = 0;
  std::vector<std::vector<engine::Event>> observing;
  for (;;) {
    const Clock::time_point intended = next_send_time(schedule, sent, acks);
    if (intended >= schedule.end) break;
    observe_committed(sim, acks, observing);
    engine::Command command = sim.next();
    sim_now.store(command.now);
    ++sent;
    submit_timed(market, command, acks, intended);
  }
  while (acks.inflight.load() > 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

// The figures of one run, read under the lock the callbacks write under.
Result summarize(Acks& acks, const ledger::MarketStatus& status, double elapsed) {
  Result result;
  std::lock_guard lock(acks.mutex);
  std::vector<std::uint32_t>& latencies = acks.latencies;
  result.committed = latencies.size();
  result.failed = acks.failed.load();
  result.commands_per_s = static_cast<double>(latencies.size()) / elapsed;
  result.mean_batch = status.batches_committed == 0
                          ? 0
                          : static_cast<double>(status.commands_committed) /
                                static_cast<double>(status.batches_committed);
  result.p50_ms = percentile_ms(latencies, 0.50);
  result.p99_ms = percentile_ms(latencies, 0.99);
  result.p999_ms = percentile_ms(latencies, 0.999);
  result.max_ms = percentile_ms(latencies, 1.0);
  return result;
}

Result run_once(const Args& args, const ledger::MarketSetup& setup, int run, bool paced) {
  RunDatabase db(args.conninfo, run);
  std::atomic<UnixSeconds> sim_now{1'767'571'200};
  ledger::MarketOptions options;
  options.conninfo = db.conninfo();
  options.setup = setup;
  options.clock = [&] { return sim_now.load(); };
  options.inbound_capacity = std::max<std::uint32_t>(args.inflight, 65'536);
  options.commit_lanes = args.commit_lanes;
  ledger::DurableMarket market(std::move(options));
  market.start();
  if (!market.wait_ready(std::chrono::seconds(60))) {
    std::fprintf(stderr, "market not ready: %s\n", market.status().last_error.c_str());
    std::exit(1);
  }
  sim::MarketSim sim(setup.catalog, setup.tariffs, {.seed = 42 + static_cast<std::uint64_t>(run)});

  Acks acks;
  acks.latencies.reserve(static_cast<std::size_t>(args.rate * args.seconds * 2) + 1'000);
  const Schedule schedule = schedule_from_now(args, paced);
  send_until_end(schedule, market, sim, sim_now, acks);
  const double elapsed = std::chrono::duration<double>(Clock::now() - schedule.begin).count();
  const auto status = market.status();
  market.stop();
  return summarize(acks, status, elapsed);
}

void report(const char* mode, const Args& args, const std::vector<Result>& results) {
  const auto field = [&](auto member) { return bench::median_of(results, member); };
  std::printf(
      "{\"bench\":\"durable\",\"mode\":\"%s\",\"runs\":%zu,\"seconds\":%.0f,\"inflight\":%u,"
      "\"commit_lanes\":%u,"
      "\"target_rate\":%.0f,\"commands_per_s\":%.0f,\"ack_p50_ms\":%.3f,\"ack_p99_ms\":%.3f,"
      "\"ack_p999_ms\":%.3f,\"ack_max_ms\":%.3f,\"mean_batch\":%.1f,\"committed\":%.0f,"
      "\"failed\":%.0f}\n",
      mode, results.size(), args.seconds, args.inflight, args.commit_lanes,
      std::string_view(mode) == "paced" ? args.rate : 0.0, field(&Result::commands_per_s),
      field(&Result::p50_ms), field(&Result::p99_ms), field(&Result::p999_ms),
      field(&Result::max_ms), field(&Result::mean_batch), field(&Result::committed),
      field(&Result::failed));
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  const auto loaded = bench::load_setup(args.config);
  if (!loaded) return 1;
  const ledger::MarketSetup& setup = *loaded;
  for (const bool paced : {false, true}) {
    if (!(paced ? args.paced : args.saturation)) continue;
    std::vector<Result> results;
    results.reserve(static_cast<std::size_t>(args.runs));
    for (int run = 0; run < args.runs; ++run)
      results.push_back(run_once(args, setup, run, paced));
    report(paced ? "paced" : "saturation", args, results);
  }
  return 0;
}
