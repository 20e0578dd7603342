// spotgrid-agent: samples every card of this node once a second, spools signed
// batches and sends them to the server (--server) as it can. At the end
// (--seconds) it prints JSON: samples, batches, and the CPU it used, as a
// share of one core.
//
//   spotgrid-agent --node N --spool DIR [--server HOST:PORT] [--source nvml|simulated]
//                  [--cards 8] [--seed S] [--seconds T] [--max-spool-bytes B]
//                  [--tls on|off] [--ca-file PEM]
//   --tls on: HTTPS/WSS to a spotgridd with tls.*, its certificate verified
//   against --ca-file (default: the system's trust store) and the host's name.
//   The node's signing key (POST /v1/nodes answers it) comes from SPOTGRID_AGENT_KEY.
#include <sys/resource.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include "spotgrid/metering/agent.hpp"

namespace {

volatile std::sig_atomic_t stop_requested = 0;
void on_signal(int) {
  stop_requested = 1;
}

int usage(const char* problem) {
  std::fprintf(
      stderr,
      "spotgrid-agent: %s\nusage: spotgrid-agent --node N --spool DIR "
      "[--server HOST:PORT] [--source nvml|simulated] [--cards N] [--seed S] [--seconds T] "
      "[--max-spool-bytes B] [--tls on|off] [--ca-file PEM]   (key in SPOTGRID_AGENT_KEY)\n",
      problem);
  return 2;
}

bool number(const char* text, unsigned long long min, unsigned long long max,
            unsigned long long& out) {
  char* end = nullptr;
  const unsigned long long value = std::strtoull(text, &end, 10);
  if (end == text || *end != '\0' || value < min || value > max) return false;
  out = value;
  return true;
}

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

struct Options {
  unsigned long long node = 0;
  unsigned long long cards = 8;
  unsigned long long seed = 1;
  unsigned long long seconds = 0;
  unsigned long long max_spool = 256ULL << 20;
  std::string spool_dir;
  std::string source_name = "nvml";
  std::string server_host;
  unsigned long long server_port = 0;
  bool tls = false;
  std::string ca_file;
};

enum class FlagResult { kOk, kBadValue, kUnknown };

// HOST:PORT, split at the last colon so that the host part may hold colons.
bool parse_server(const std::string& address, Options& options) {
  const std::size_t colon = address.rfind(':');
  const bool ok = colon != std::string::npos && colon > 0 &&
                  number(address.c_str() + colon + 1, 1, 65'535, options.server_port);
  options.server_host = address.substr(0, colon == std::string::npos ? 0 : colon);
  return ok;
}

// Stores one flag's value in `options`, saying whether the flag and its value are usable.
FlagResult apply_flag(const std::string& flag, const char* value, Options& options) {
  bool ok = true;
  if (flag == "--node") {
    ok = number(value, 1, ~0ULL, options.node);
  } else if (flag == "--cards") {
    ok = number(value, 1, 64, options.cards);
  } else if (flag == "--seed") {
    ok = number(value, 0, ~0ULL, options.seed);
  } else if (flag == "--seconds") {
    ok = number(value, 0, 1ULL << 32, options.seconds);
  } else if (flag == "--max-spool-bytes") {
    ok = number(value, 4'096, 1ULL << 40, options.max_spool);
  } else if (flag == "--server") {
    ok = parse_server(value, options);
  } else if (flag == "--tls") {
    ok = std::strcmp(value, "on") == 0 || std::strcmp(value, "off") == 0;
    options.tls = std::strcmp(value, "on") == 0;
  } else if (flag == "--ca-file") {
    options.ca_file = value;
  } else if (flag == "--spool") {
    options.spool_dir = value;
  } else if (flag == "--source") {
    options.source_name = value;
    ok = options.source_name == "nvml" || options.source_name == "simulated";
  } else {
    return FlagResult::kUnknown;
  }
  return ok ? FlagResult::kOk : FlagResult::kBadValue;
}

// The problem with the command line, or an empty string when it is usable.
std::string parse_options(int argc, char** argv, Options& options) {
  for (int i = 1; i < argc; i += 2) {
    if (i + 1 >= argc) return "every flag needs a value";
    const std::string flag = argv[i];
    const char* value = argv[i + 1];
    switch (apply_flag(flag, value, options)) {
      case FlagResult::kOk:
        break;
      case FlagResult::kUnknown:
        return "unknown flag " + flag;
      case FlagResult::kBadValue:
        return flag + ": bad value " + value;
    }
  }
  if (options.node == 0) return "--node is required";
  if (options.spool_dir.empty()) return "--spool is required";
  return {};
}

// The cards to sample; null (after saying why) when NVML cannot be opened.
std::unique_ptr<spotgrid::metering::CardSource> open_source(const Options& options) {
  if (options.source_name != "nvml") {
    return std::make_unique<spotgrid::metering::SimulatedSource>(
        options.seed, static_cast<std::uint32_t>(options.cards),
        "node" + std::to_string(options.node));
  }
  std::string problem;
  auto source = spotgrid::metering::open_nvml(problem);
  if (!source) {
    std::fprintf(stderr, "spotgrid-agent: NVML unavailable: %s (use --source simulated)\n",
                 problem.c_str());
  }
  return source;
}

// Once a second until --seconds ticks have passed (0: forever) or a signal arrives.
void sample_until_stopped(spotgrid::metering::Agent& agent, spotgrid::metering::Uplink* uplink,
                          unsigned long long seconds, std::chrono::steady_clock::time_point start) {
  auto next = start;
  for (unsigned long long tick = 0; stop_requested == 0 && (seconds == 0 || tick < seconds);
       ++tick) {
    const auto now = std::chrono::system_clock::now();
    agent.sample_once(
        std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count());
    // Catching up after an outage: a bounded number of batches per second.
    if (uplink != nullptr) agent.flush(*uplink, 256);
    next += std::chrono::seconds(1);
    std::this_thread::sleep_until(next);
  }
}

void print_report(const Options& options, const spotgrid::metering::AgentStats& stats,
                  std::uint64_t spool_bytes, double wall, double cpu) {
  std::printf(
      "{\"source\":\"%s\",\"cards\":%llu,\"seconds\":%.1f,\"samples\":%llu,\"unhealthy\":%llu,"
      "\"batches\":%llu,\"refused\":%llu,\"sent\":%llu,\"rejected\":%llu,"
      "\"send_failures\":%llu,\"spool_bytes\":%llu,\"cpu_seconds\":%.4f,"
      "\"cpu_pct_of_one_core\":%.3f}\n",
      options.source_name.c_str(), options.cards, wall,
      static_cast<unsigned long long>(stats.samples),
      static_cast<unsigned long long>(stats.unhealthy_samples),
      static_cast<unsigned long long>(stats.batches),
      static_cast<unsigned long long>(stats.batches_refused),
      static_cast<unsigned long long>(stats.batches_sent),
      static_cast<unsigned long long>(stats.batches_rejected),
      static_cast<unsigned long long>(stats.send_failures),
      static_cast<unsigned long long>(spool_bytes), cpu, wall > 0 ? 100.0 * cpu / wall : 0.0);
}

// Samples, spools and sends until stopped, then prints the JSON summary.
int run_agent(const Options& options, const char* key,
              std::unique_ptr<spotgrid::metering::CardSource> source) {
  try {
    spotgrid::metering::Spool spool(options.spool_dir, options.max_spool);
    spotgrid::metering::Agent agent(options.node, key, std::move(source), spool);
    std::unique_ptr<spotgrid::metering::Uplink> uplink;
    if (!options.server_host.empty()) {
      uplink = spotgrid::metering::agent_uplink(
          {options.server_host, static_cast<std::uint16_t>(options.server_port),
           std::chrono::milliseconds(2'000), options.node, key, options.tls, options.ca_file});
    }
    const double cpu_start = cpu_seconds();
    const auto start = std::chrono::steady_clock::now();
    sample_until_stopped(agent, uplink.get(), options.seconds, start);
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    print_report(options, agent.stats(), spool.bytes(), wall, cpu_seconds() - cpu_start);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "spotgrid-agent: %s\n", e.what());
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  const std::string problem = parse_options(argc, argv, options);
  if (!problem.empty()) return usage(problem.c_str());
  const char* key = std::getenv("SPOTGRID_AGENT_KEY");
  if (key == nullptr || std::strlen(key) < 16)
    return usage("SPOTGRID_AGENT_KEY must hold the node's key (16 characters or more)");
  auto source = open_source(options);
  if (!source) return 3;
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  return run_agent(options, key, std::move(source));
}
