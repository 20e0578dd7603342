#pragma once
// What the durable benchmarks share: a fresh database per run, percentiles and
// the median of runs.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <vector>

#include "spotgrid/engine/config.hpp"
#include "spotgrid/ledger/recovery.hpp"

namespace spotgrid::bench {

// A database of the run's own, so every run starts from an empty ledger.
class RunDatabase {
 public:
  RunDatabase(const std::string& server, int run)
      : server_(server), name_("spotgrid_bench_" + std::to_string(run)) {
    pqxx::connection connection(server_);
    pqxx::nontransaction txn(connection);
    txn.exec("DROP DATABASE IF EXISTS " + txn.quote_name(name_) + " WITH (FORCE)");
    txn.exec("CREATE DATABASE " + txn.quote_name(name_));
  }
  ~RunDatabase() {
    try {
      pqxx::connection connection(server_);
      pqxx::nontransaction txn(connection);
      txn.exec("DROP DATABASE IF EXISTS " + txn.quote_name(name_) + " WITH (FORCE)");
    } catch (const std::exception& e) {
      std::fprintf(stderr, "drop %s: %s\n", name_.c_str(), e.what());
    }
  }
  std::string conninfo() const { return server_ + " dbname=" + name_; }  // the last dbname wins

 private:
  std::string server_;
  std::string name_;
};

inline double percentile_ms(std::vector<std::uint32_t>& micros, double q) {
  if (micros.empty()) return 0;
  const auto at = static_cast<std::size_t>(q * static_cast<double>(micros.size() - 1));
  std::nth_element(micros.begin(), micros.begin() + static_cast<std::ptrdiff_t>(at), micros.end());
  return micros[at] / 1'000.0;
}

inline double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// Applies "--flag value" pairs through their setters; an unknown flag, a
// missing value or one its setter cannot convert (it throws) exits with 2.
using FlagSetter = std::function<void(const std::string& value)>;
inline void parse_flags(int argc, char** argv,
                        const std::map<std::string_view, FlagSetter>& flags) {
  for (int i = 1; i < argc; i += 2) {
    const auto flag = flags.find(argv[i]);
    if (flag == flags.end() || i + 1 >= argc) {
      std::fprintf(stderr, "unknown flag or missing value: %s\n", argv[i]);
      std::exit(2);
    }
    try {
      flag->second(argv[i + 1]);
    } catch (const std::exception&) {
      std::fprintf(stderr, "%s: not a number: %s\n", argv[i], argv[i + 1]);
      std::exit(2);
    }
  }
}

// The market's catalog and tariffs from `config_dir`; prints why not.
inline std::optional<ledger::MarketSetup> load_setup(const std::string& config_dir) {
  auto catalog = engine::load_catalog_file(config_dir + "/gpus.json");
  auto tariffs = engine::load_tariffs_file(config_dir + "/tariffs.json");
  if (!catalog || !tariffs) {
    std::fprintf(stderr, "config: %s\n",
                 (!catalog ? catalog.error() : tariffs.error()).problem.c_str());
    return std::nullopt;
  }
  return ledger::MarketSetup{std::move(catalog).value(), std::move(tariffs).value(), {}};
}

// The median over runs of one field of a result struct.
template <typename Result, typename Member>
double median_of(const std::vector<Result>& results, Member member) {
  std::vector<double> values;
  values.reserve(results.size());
  for (const Result& r : results)
    values.push_back(static_cast<double>(r.*member));
  return median(values);
}

}  // namespace spotgrid::bench
