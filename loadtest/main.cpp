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
#include <string>
#include <string_view>

#include "load_generator.hpp"
#include "scenario.hpp"
#include "spotgrid/util/json.hpp"

namespace {

using spotgrid::loadtest::LoadOptions;

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

}  // namespace

int main(int argc, char** argv) {
  LoadOptions options;
  std::string scenario_path;
  std::string operator_key = std::getenv("SPOTGRID_AUTH_OPERATOR_KEY") != nullptr
                                 ? std::getenv("SPOTGRID_AUTH_OPERATOR_KEY")
                                 : "";
  unsigned runs = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (i + 1 >= argc) return usage(std::string(flag) + " needs a value");
    const std::string_view value = argv[++i];
    long long seconds = 0;
    bool ok = true;
    if (flag == "--scenario") {
      scenario_path = value;
    } else if (flag == "--host") {
      options.host = value;
    } else if (flag == "--operator-key") {
      operator_key = value;
    } else if (flag == "--port") {
      ok = parse_number<std::uint16_t>(value, options.port, 1, 65'535);
    } else if (flag == "--rate") {
      std::uint32_t rate = 0;
      ok = parse_number<std::uint32_t>(value, rate, 1, 10'000'000);
      options.rate = rate;
    } else if (flag == "--seconds") {
      ok = parse_number<long long>(value, seconds, 1, 3'600);
      options.duration = std::chrono::seconds(seconds);
    } else if (flag == "--connections") {
      ok = parse_number<std::uint32_t>(value, options.connections, 1, 10'000);
    } else if (flag == "--threads") {
      ok = parse_number<std::uint32_t>(value, options.threads, 1, 64);
    } else if (flag == "--runs") {
      ok = parse_number<unsigned>(value, runs, 1, 100);
    } else {
      return usage("unknown flag " + std::string(flag));
    }
    if (!ok) return usage(std::string(flag) + ": out of range: " + std::string(value));
  }
  if (scenario_path.empty()) return usage("--scenario is required");
  if (operator_key.empty())
    return usage("--operator-key (or SPOTGRID_AUTH_OPERATOR_KEY) is required");
  std::string problem;
  const auto scenario = spotgrid::loadtest::load_scenario(scenario_path, problem);
  if (!scenario) return usage(problem);

  std::vector<std::string> keys;
  try {
    for (std::uint32_t i = 0; i < scenario->buyers; ++i) {
      const auto created = spotgrid::loadtest::request_once(
          options, "POST", "/v1/accounts", operator_key,
          R"({"name": "loadtest buyer )" + std::to_string(i) + R"(", "role": "buyer"})");
      rapidjson::Document json;
      spotgrid::util::parse_json(json, created.body, spotgrid::limits::kMaxJsonBytes);
      if (created.status != 201 || !json.IsObject()) {
        std::fprintf(stderr, "spotgrid-loadtest: creating a buyer: %u %s\n", created.status,
                     created.body.c_str());
        return 1;
      }
      keys.emplace_back(json["api_key"].GetString());
      if (scenario->deposit_micros == 0) continue;
      const auto funded = spotgrid::loadtest::request_once(
          options, "POST",
          "/v1/accounts/" + std::to_string(json["account_id"].GetUint64()) + "/deposits",
          operator_key, R"({"amount_micros": )" + std::to_string(scenario->deposit_micros) + "}");
      if (funded.status != 201) {
        std::fprintf(stderr, "spotgrid-loadtest: funding a buyer: %u %s\n", funded.status,
                     funded.body.c_str());
        return 1;
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "spotgrid-loadtest: cannot reach %s:%u: %s\n", options.host.c_str(),
                 options.port, e.what());
    return 1;
  }

  std::vector<double> throughputs;
  std::vector<double> p99s;
  for (unsigned run = 0; run < runs; ++run) {
    const auto result = spotgrid::loadtest::run_load(options, *scenario, keys);
    std::printf("%s\n", spotgrid::loadtest::to_json(result, options, *scenario).c_str());
    std::fflush(stdout);
    throughputs.push_back(
        result.seconds > 0 ? static_cast<double>(result.completed) / result.seconds : 0);
    const auto& l = result.latencies_micros;
    p99s.push_back(
        l.empty() ? 0
                  : l[static_cast<std::size_t>(0.99 * static_cast<double>(l.size() - 1))] / 1000.0);
  }
  std::printf(R"({"scenario":"%s","runs":%u,"median_throughput_per_s":%.0f,"median_p99_ms":%.3f})"
              "\n",
              scenario->name.c_str(), runs, median(throughputs), median(p99s));
  return 0;
}
