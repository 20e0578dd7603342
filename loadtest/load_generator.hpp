#pragma once
// An open-loop HTTP load generator (Beast): requests are due at a fixed rate
// whatever the server does, and each one's latency runs from when it was due,
// not from when a connection was free to send it, so a slow server cannot
// hide its queueing (no coordinated omission). Many keep-alive connections,
// one request in flight on each; the backlog of due requests is bounded.
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "scenario.hpp"

namespace spotgrid::loadtest {

struct LoadOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  double rate = 1'000;  // requests per second, over all threads
  std::chrono::seconds duration{10};
  std::uint32_t connections = 64;
  std::uint32_t threads = 1;
  std::size_t max_backlog = 1'000'000;  // due but unsent; beyond, counted as dropped
};

struct LoadResult {
  std::uint64_t due = 0;        // requests the schedule called for
  std::uint64_t completed = 0;  // answered (any status)
  std::uint64_t errors = 0;     // connection failures and answers >= 400
  std::uint64_t dropped = 0;    // never sent: the backlog was full
  std::map<unsigned, std::uint64_t> statuses;
  std::string first_error;                      // the body of the first answer >= 400, to say why
  double seconds = 0;                           // from the first due time to the last answer
  std::vector<std::uint32_t> latencies_micros;  // of completed requests, from their due time
};

// How many of a run's requests are due `elapsed` into it (negative: before
// it starts): request k falls due at k / rate, the first at the start itself,
// and none at or after the end.
std::uint64_t requests_due(std::chrono::duration<double> elapsed, double rate,
                           std::chrono::duration<double> run);

// Runs `scenario` with `keys` (API keys the requests rotate over).
LoadResult run_load(const LoadOptions& options, const Scenario& scenario,
                    const std::vector<std::string>& keys);

// The result as JSON: throughput, errors, latency p50/p99/p99.9/max (ms).
std::string to_json(const LoadResult& result, const LoadOptions& options, const Scenario& scenario);

// One blocking request (for setting a run up); throws on a connection failure.
struct SimpleReply {
  unsigned status = 0;
  std::string body;
};
SimpleReply request_once(const LoadOptions& options, const std::string& method,
                         const std::string& target, const std::string& key,
                         const std::string& body);

}  // namespace spotgrid::loadtest
