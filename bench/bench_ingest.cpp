// spotgrid-bench-ingest: metering samples stored durably per second through
// the server's ingest (signature check, de-duplication, COPY in group commits,
// the meter), against PostgreSQL with fsync on.
//
// Nodes are registered first; then signed batches (one node's cards for one
// second, as an agent sends them) are submitted with up to --inflight batches
// outstanding. A sample counts once its batch is acknowledged, i.e. committed.
// Batches are signed before the clock starts: the agent's cost, not the server's.
//
// Usage: spotgrid-bench-ingest --conninfo "host=... dbname=postgres" [--config DIR]
//          [--seconds S] [--runs R] [--nodes N] [--cards C] [--inflight K]
// Prints one JSON object: the median over R runs.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench_support.hpp"
#include "spotgrid/engine/config.hpp"
#include "spotgrid/ingest/ingest.hpp"
#include "spotgrid/ledger/durable_market.hpp"

namespace {

using namespace spotgrid;
using Clock = std::chrono::steady_clock;
constexpr const char* kSecret = "bench-ingest-secret-0123456789";

struct Args {
  std::string conninfo;
  std::string config = "config";
  double seconds = 10;
  int runs = 3;
  std::uint32_t nodes = 2'000;
  std::uint32_t cards = 8;
  std::uint32_t inflight = 2'048;
};

struct Result {
  double samples_per_s = 0;
  double ack_p50_ms = 0;
  double ack_p99_ms = 0;
  std::uint64_t samples = 0;
  std::uint64_t refused = 0;
};

Args parse(int argc, char** argv) {
  Args args;
  bench::parse_flags(
      argc, argv,
      {
          {"--conninfo", [&](const std::string& v) { args.conninfo = v; }},
          {"--config", [&](const std::string& v) { args.config = v; }},
          {"--seconds", [&](const std::string& v) { args.seconds = std::stod(v); }},
          {"--runs", [&](const std::string& v) { args.runs = std::stoi(v); }},
          {"--nodes",
           [&](const std::string& v) { args.nodes = static_cast<std::uint32_t>(std::stoul(v)); }},
          {"--cards",
           [&](const std::string& v) { args.cards = static_cast<std::uint32_t>(std::stoul(v)); }},
          {"--inflight",
           [&](const std::string& v) {
             args.inflight = static_cast<std::uint32_t>(std::stoul(v));
           }},
      });
  if (!(args.seconds > 0) || args.runs < 1 || args.nodes < 1 || args.cards < 1 || args.cards > 64 ||
      args.inflight < 1 || args.conninfo.empty()) {
    std::fprintf(stderr,
                 "usage: spotgrid-bench-ingest --conninfo CONNINFO [--seconds S>0] [--runs R>0] "
                 "[--nodes N>0] [--cards 1..64] [--inflight K>0]\n");
    std::exit(2);
  }
  return args;
}

UnixSeconds wall_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct SignedBatch {
  NodeId node = 0;
  std::string signature;
  std::string body;
};

// Enough batches for `seconds` at a generous rate: node-seconds, oldest first.
std::vector<SignedBatch> make_batches(const std::vector<NodeId>& nodes, std::uint32_t cards,
                                      std::size_t count) {
  std::vector<SignedBatch> batches;
  batches.reserve(count);
  std::vector<std::string> keys;
  keys.reserve(nodes.size());
  for (const NodeId node : nodes)
    keys.push_back(metering::node_key(kSecret, node));
  const UnixSeconds first_second =
      wall_seconds() - static_cast<UnixSeconds>(count / nodes.size()) - 5;
  std::vector<metering::Sample> samples(cards);
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t n = i % nodes.size();
    const auto second = first_second + static_cast<UnixSeconds>(i / nodes.size());
    for (std::uint32_t card = 0; card < cards; ++card) {
      metering::Sample& s = samples[card];
      s.node = nodes[n];
      s.seq = (i / nodes.size()) * cards + card + 1;
      s.second = second;
      s.card_index = card;
      s.card_uuid = "GPU-bench-" + std::to_string(n) + "-" + std::to_string(card);
      s.healthy = true;
      s.utilization_pct = static_cast<std::uint32_t>((i + card) % 101);
      s.memory_used_bytes = std::uint64_t{40} << 30;
      s.power_mw = 550'000;
      s.energy_mj = 550'000;
      s.temperature_c = 64;
    }
    SignedBatch batch;
    batch.body = metering::batch_json(samples);
    batch.signature = metering::sign(keys[n], batch.body);
    batch.node = nodes[n];
    batches.push_back(std::move(batch));
  }
  return batches;
}

// Registers --nodes nodes of --cards cards each; exits when the market does not take them all.
std::vector<NodeId> register_nodes(ledger::DurableMarket& market, const Args& args) {
  std::vector<engine::CommandBody> registrations;
  registrations.reserve(1 + args.nodes);
  for (std::uint32_t i = 0; i < args.nodes; ++i) {
    registrations.emplace_back(
        engine::RegisterNode{1, 0, 0, 0, static_cast<std::uint16_t>(args.cards), 0, 10'000});
  }
  std::vector<NodeId> nodes;
  nodes.reserve(args.nodes);
  for (const ledger::Completion& done : market.submit_all(registrations)) {
    for (const engine::Event& event : done.events)
      if (const auto* node = std::get_if<engine::NodeRegistered>(&event.body))
        nodes.push_back(node->node);
  }
  if (nodes.size() != args.nodes) {
    std::fprintf(stderr, "registered %zu of %u nodes\n", nodes.size(), args.nodes);
    std::exit(1);
  }
  return nodes;
}

// What the sending loop and the ingest's acknowledgements share, under `mutex`.
struct Acks {
  std::mutex mutex;
  std::condition_variable room;
  std::uint32_t inflight = 0;
  std::vector<std::uint32_t> latencies;  // of stored batches, in µs
  std::uint64_t stored = 0;              // samples
  std::uint64_t refused = 0;             // batches
};

// Submits one batch once fewer than `max_inflight` are outstanding; its
// latency counts from the submission.
void submit_timed(ingest::Ingest& ingest, const SignedBatch& batch, std::uint32_t max_inflight,
                  Acks& acks) {
  {
    std::unique_lock lock(acks.mutex);
    acks.room.wait(lock, [&] { return acks.inflight < max_inflight; });
    ++acks.inflight;
  }
  const Clock::time_point sent = Clock::now();
  ingest.submit(
      batch.node, batch.signature, batch.body, [&acks, sent](ingest::IngestReply&& reply) {
        const auto micros =
            std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - sent).count();
        const std::lock_guard lock(acks.mutex);
        if (reply.status == 200) {
          acks.stored += reply.samples_stored;
          acks.latencies.push_back(static_cast<std::uint32_t>(micros));
        } else {
          ++acks.refused;
        }
        --acks.inflight;
        acks.room.notify_one();
      });
}

// Submits batches, oldest first, until --seconds have passed, then waits for
// every answer. Returns the seconds from the first submission to the last answer.
double submit_for_duration(ingest::Ingest& ingest, const std::vector<SignedBatch>& batches,
                           const Args& args, Acks& acks) {
  const Clock::time_point begin = Clock::now();
  const auto end = begin + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(args.seconds));
  for (const SignedBatch& batch : batches) {
    if (Clock::now() >= end) break;
    submit_timed(ingest, batch, args.inflight, acks);
  }
  {
    std::unique_lock lock(acks.mutex);
    acks.room.wait(lock, [&] { return acks.inflight == 0; });
  }
  return std::chrono::duration<double>(Clock::now() - begin).count();
}

Result summarize(Acks& acks, double elapsed) {
  Result result;
  result.samples = acks.stored;
  result.refused = acks.refused;
  result.samples_per_s = static_cast<double>(acks.stored) / elapsed;
  result.ack_p50_ms = bench::percentile_ms(acks.latencies, 0.50);
  result.ack_p99_ms = bench::percentile_ms(acks.latencies, 0.99);
  return result;
}

Result run_once(const Args& args, const ledger::MarketSetup& setup, int run) {
  bench::RunDatabase db(args.conninfo, run);
  ledger::MarketOptions options;
  options.conninfo = db.conninfo();
  options.setup = setup;
  ledger::DurableMarket market(std::move(options));
  market.start();
  if (!market.wait_ready(std::chrono::seconds(60))) {
    std::fprintf(stderr, "market not ready: %s\n", market.status().last_error.c_str());
    std::exit(1);
  }
  const std::vector<NodeId> nodes = register_nodes(market, args);

  ingest::IngestOptions ingest_options;
  ingest_options.conninfo = db.conninfo();
  ingest_options.server_secret = kSecret;
  ingest_options.queue_batches = args.inflight;
  ingest::Ingest ingest(ingest_options, market);
  ingest.start();
  while (!ingest.ready())
    std::this_thread::sleep_for(std::chrono::milliseconds(10));

  // Up to 250 000 samples/s of batches: more than this machine stores.
  const auto count = static_cast<std::size_t>(250'000.0 * args.seconds / args.cards);
  const std::vector<SignedBatch> batches = make_batches(nodes, args.cards, count);

  Acks acks;
  acks.latencies.reserve(batches.size());
  const double elapsed = submit_for_duration(ingest, batches, args, acks);
  ingest.stop();
  market.stop();
  return summarize(acks, elapsed);
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  const auto loaded = bench::load_setup(args.config);
  if (!loaded) return 1;
  const ledger::MarketSetup& setup = *loaded;
  std::vector<Result> results;
  for (int run = 0; run < args.runs; ++run) {
    results.push_back(run_once(args, setup, run));
    std::fprintf(stderr, "run %d: %.0f samples/s\n", run, results.back().samples_per_s);
  }
  const auto field = [&](auto member) { return bench::median_of(results, member); };
  std::printf(
      "{\"bench\":\"ingest\",\"runs\":%zu,\"seconds\":%.0f,\"nodes\":%u,\"cards_per_batch\":%u,"
      "\"inflight_batches\":%u,\"samples_per_s\":%.0f,\"ack_p50_ms\":%.3f,\"ack_p99_ms\":%.3f,"
      "\"samples\":%.0f,\"refused\":%.0f}\n",
      results.size(), args.seconds, args.nodes, args.cards, args.inflight,
      field(&Result::samples_per_s), field(&Result::ack_p50_ms), field(&Result::ack_p99_ms),
      field(&Result::samples), field(&Result::refused));
  return 0;
}
