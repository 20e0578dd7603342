#pragma once
// A load test's scenario, read from a JSON file in loadtest/: who to set up
// (funded buyers, created through the operator key) and the request mix.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace spotgrid::loadtest {

struct RequestTemplate {
  std::uint32_t weight = 1;
  std::string method;  // GET, POST or DELETE
  std::string path;
  std::string body;  // JSON text, sent as is
};

struct Scenario {
  std::string name;
  std::uint32_t buyers = 1;         // accounts whose keys the requests rotate over
  std::int64_t deposit_micros = 0;  // credited to each buyer before the run
  std::vector<RequestTemplate> requests;
  std::uint32_t total_weight() const;
  // The template for the n-th request: the mix, deterministic and interleaved.
  const RequestTemplate& pick(std::uint64_t n) const;
};

// The scenario, or a message naming the file and the field at fault.
std::optional<Scenario> load_scenario(const std::string& path, std::string& problem);

}  // namespace spotgrid::loadtest
