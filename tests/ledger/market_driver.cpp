// Test helper for the crash test: drives a DurableMarket with a seeded market
// simulation and prints "ack <command_seq> <events hash>" for each command only
// after its commit, so whatever the parent read before a SIGKILL was acknowledged.
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <string_view>

#include "pg_harness.hpp"
#include "spotgrid/engine/event_text.hpp"
#include "spotgrid/ledger/durable_market.hpp"
#include "spotgrid/sim/market_sim.hpp"

using namespace spotgrid;

namespace {

struct Args {
  std::string conninfo;
  std::uint64_t seed = 1;
  UnixSeconds start = 1'767'225'600;
  std::uint32_t commands = 1'000'000;
  std::uint32_t window = 64;
  std::uint64_t snapshot_every = 500;
};

Args parse(int argc, char** argv) {
  Args args;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--conninfo")
      args.conninfo = value;
    else if (flag == "--seed")
      args.seed = std::strtoull(value, nullptr, 10);
    else if (flag == "--start")
      args.start = std::strtoll(value, nullptr, 10);
    else if (flag == "--commands")
      args.commands = static_cast<std::uint32_t>(std::strtoul(value, nullptr, 10));
    else if (flag == "--window")
      args.window = static_cast<std::uint32_t>(std::strtoul(value, nullptr, 10));
    else if (flag == "--snapshot-every")
      args.snapshot_every = std::strtoull(value, nullptr, 10);
  }
  return args;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  std::atomic<UnixSeconds> sim_now{args.start};
  ledger::MarketOptions options;
  options.conninfo = args.conninfo;
  options.setup = testing::repository_market();
  options.snapshot_every_commands = args.snapshot_every;
  options.clock = [&] { return sim_now.load(); };
  const auto catalog = options.setup.catalog;
  const auto tariffs = options.setup.tariffs;
  ledger::DurableMarket market(std::move(options));
  market.start();
  if (!market.wait_ready(std::chrono::seconds(60))) {
    const auto status = market.status();
    std::fprintf(stderr, "not ready: %s %s\n", status.fatal_error.c_str(),
                 status.last_error.c_str());
    return 3;
  }
  sim::MarketSim sim(catalog, tariffs, {.seed = args.seed, .start = args.start});
  std::vector<engine::CommandBody> window;
  for (std::uint32_t sent = 0; sent < args.commands; sent += args.window) {
    window.clear();
    for (std::uint32_t i = 0; i < args.window; ++i) {
      const engine::Command command = sim.next();
      sim_now.store(command.now);
      window.push_back(command.body);
    }
    for (ledger::Completion& completion : market.submit_all(window)) {
      if (completion.outcome != ledger::Outcome::kCommitted) {
        std::fprintf(stderr, "driver: %s (%s)\n",
                     std::string(to_string(completion.outcome)).c_str(),
                     market.status().last_error.c_str());
        continue;
      }
      std::printf("ack %llu %zu\n", static_cast<unsigned long long>(completion.command_seq),
                  testing::events_hash(engine::to_text(completion.events)));
      sim.observe(completion.events);
    }
    std::fflush(stdout);
  }
  market.stop();
  return 0;
}
