// spotgrid-loadtest: sets up the scenario's buyers through the operator key,
// runs the open-loop load `--runs` times and prints one JSON line per run, then
// the medians.
//
//   spotgrid-loadtest --scenario loadtest/orders.json --port 8080 --operator-key sg_...
//                     [--rate 20000] [--seconds 10] [--connections 64] [--threads 1] [--runs 3]
#include <rapidjson/document.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "load_generator.hpp"
#include "scenario.hpp"
#include "spotgrid/util/json.hpp"

namespace {

using spotgrid::loadtest::LoadOptions;
using spotgrid::loadtest::LoadResult;
using spotgrid::loadtest::Scenario;

int usage(const std::string& problem) {
  std::fprintf(stderr,
               "spotgrid-loadtest: %s\nusage: spotgrid-loadtest --scenario FILE --port N "
               "--operator-key KEY [--host 127.0.0.1] [--rate R] [--seconds S] "
               "[--connections C] [--threads T] [--runs K]\n",
               problem.c_str());
  return 2;
}

template <typename T>
bool parse_number(std::string_view text, T& out, T min, T max) {
  T value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size() || value < min || value > max)
    return false;
  out = value;
  return true;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values.empty() ? 0 : values[values.size() / 2];
}

struct CommandLine {
  LoadOptions options;
  std::string scenario_path;
  std::string operator_key;
  unsigned runs = 1;
};

enum class FlagResult { kOk, kOutOfRange, kUnknown };

// Stores one flag's value in `line`, saying whether the flag and its value are usable.
FlagResult apply_flag(std::string_view flag, std::string_view value, CommandLine& line) {
  LoadOptions& options = line.options;
  bool ok = true;
  if (flag == "--scenario") {
    line.scenario_path = value;
  } else if (flag == "--host") {
    options.host = value;
  } else if (flag == "--operator-key") {
    line.operator_key = value;
  } else if (flag == "--port") {
    ok = parse_number<std::uint16_t>(value, options.port, 1, 65'535);
  } else if (flag == "--rate") {
    std::uint32_t rate = 0;
    ok = parse_number<std::uint32_t>(value, rate, 1, 10'000'000);
    options.rate = rate;
  } else if (flag == "--seconds") {
    long long seconds = 0;
    ok = parse_number<long long>(value, seconds, 1, 3'600);
    options.duration = std::chrono::seconds(seconds);
  } else if (flag == "--connections") {
    ok = parse_number<std::uint32_t>(value, options.connections, 1, 10'000);
  } else if (flag == "--threads") {
    ok = parse_number<std::uint32_t>(value, options.threads, 1, 64);
  } else if (flag == "--runs") {
    ok = parse_number<unsigned>(value, line.runs, 1, 100);
  } else {
    return FlagResult::kUnknown;
  }
  return ok ? FlagResult::kOk : FlagResult::kOutOfRange;
}

// The problem with the command line, or an empty string when it is usable.
std::string parse_command_line(int argc, char** argv, CommandLine& line) {
  const char* key_from_env = std::getenv("SPOTGRID_AUTH_OPERATOR_KEY");
  line.operator_key = key_from_env != nullptr ? key_from_env : "";
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (i + 1 >= argc) return std::string(flag) + " needs a value";
    const std::string_view value = argv[++i];
    switch (apply_flag(flag, value, line)) {
      case FlagResult::kOk:
        break;
      case FlagResult::kUnknown:
        return "unknown flag " + std::string(flag);
      case FlagResult::kOutOfRange:
        return std::string(flag) + ": out of range: " + std::string(value);
    }
  }
  if (line.scenario_path.empty()) return "--scenario is required";
  if (line.operator_key.empty())
    return "--operator-key (or SPOTGRID_AUTH_OPERATOR_KEY) is required";
  return {};
}

// Credits a buyer's deposit; false after saying why the server refused.
bool fund_buyer(const LoadOptions& options, const std::string& operator_key,
                std::uint64_t account_id, std::int64_t deposit_micros) {
  const auto funded = spotgrid::loadtest::request_once(
      options, "POST", "/v1/accounts/" + std::to_string(account_id) + "/deposits", operator_key,
      R"({"amount_micros": )" + std::to_string(deposit_micros) + "}");
  if (funded.status != 201) {
    std::fprintf(stderr, "spotgrid-loadtest: funding a buyer: %u %s\n", funded.status,
                 funded.body.c_str());
    return false;
  }
  return true;
}

// Creates the index-th buyer and funds it; its API key, or nullopt after
// saying why the server refused. Throws when the server cannot be reached.
std::optional<std::string> create_buyer(const LoadOptions& options, const Scenario& scenario,
                                        const std::string& operator_key, std::uint32_t index) {
  const auto created = spotgrid::loadtest::request_once(
      options, "POST", "/v1/accounts", operator_key,
      R"({"name": "loadtest buyer )" + std::to_string(index) + R"(", "role": "buyer"})");
  rapidjson::Document json;
  spotgrid::util::parse_json(json, created.body, spotgrid::limits::kMaxJsonBytes);
  if (created.status != 201 || !json.IsObject()) {
    std::fprintf(stderr, "spotgrid-loadtest: creating a buyer: %u %s\n", created.status,
                 created.body.c_str());
    return std::nullopt;
  }
  std::string key = json["api_key"].GetString();
  if (scenario.deposit_micros != 0 &&
      !fund_buyer(options, operator_key, json["account_id"].GetUint64(), scenario.deposit_micros))
    return std::nullopt;
  return key;
}

// The API keys of the scenario's buyers, or nullopt after saying what failed.
std::optional<std::vector<std::string>> create_buyers(const LoadOptions& options,
                                                      const Scenario& scenario,
                                                      const std::string& operator_key) {
  std::vector<std::string> keys;
  try {
    for (std::uint32_t i = 0; i < scenario.buyers; ++i) {
      auto key = create_buyer(options, scenario, operator_key, i);
      if (!key) return std::nullopt;
      keys.push_back(std::move(*key));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "spotgrid-loadtest: cannot reach %s:%u: %s\n", options.host.c_str(),
                 options.port, e.what());
    return std::nullopt;
  }
  return keys;
}

double throughput_per_s(const LoadResult& result) {
  return result.seconds > 0 ? static_cast<double>(result.completed) / result.seconds : 0;
}

double p99_ms(const LoadResult& result) {
  const auto& l = result.latencies_micros;
  return l.empty() ? 0
                   : l[static_cast<std::size_t>(0.99 * static_cast<double>(l.size() - 1))] / 1000.0;
}

// One JSON line per run as it ends, then one with the medians over the runs.
void run_and_report(const LoadOptions& options, const Scenario& scenario,
                    const std::vector<std::string>& keys, unsigned runs) {
  std::vector<double> throughputs;
  std::vector<double> p99s;
  for (unsigned run = 0; run < runs; ++run) {
    const auto result = spotgrid::loadtest::run_load(options, scenario, keys);
    std::printf("%s\n", spotgrid::loadtest::to_json(result, options, scenario).c_str());
    std::fflush(stdout);
    throughputs.push_back(throughput_per_s(result));
    p99s.push_back(p99_ms(result));
  }
  std::printf(R"({"scenario":"%s","runs":%u,"median_throughput_per_s":%.0f,"median_p99_ms":%.3f})"
              "\n",
              scenario.name.c_str(), runs, median(throughputs), median(p99s));
}

}  // namespace

int main(int argc, char** argv) {
  CommandLine line;
  std::string problem = parse_command_line(argc, argv, line);
  if (!problem.empty()) return usage(problem);
  const auto scenario = spotgrid::loadtest::load_scenario(line.scenario_path, problem);
  if (!scenario) return usage(problem);
  const auto keys = create_buyers(line.options, *scenario, line.operator_key);
  if (!keys) return 1;
  run_and_report(line.options, *scenario, *keys, line.runs);
  return 0;
}
