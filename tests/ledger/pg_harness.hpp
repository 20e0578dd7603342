#pragma once
// Real PostgreSQL for the ledger tests. The suite's cluster is started by the
// ctest fixture (scripts/pg.sh, state in $SPOTGRID_PG_STATE); each test gets a
// database of its own in it. Tests that stop PostgreSQL start a private cluster.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "spotgrid/ledger/recovery.hpp"

namespace spotgrid::testing {

// A fresh, empty database in the suite's cluster, dropped at the end.
class TestDatabase {
 public:
  TestDatabase();
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;
  const std::string& conninfo() const { return conninfo_; }

 private:
  std::string server_conninfo_;
  std::string name_;
  std::string conninfo_;
};

// A cluster of the test's own, which it may stop and start.
class PrivateCluster {
 public:
  PrivateCluster();
  ~PrivateCluster();  // destroys the cluster
  PrivateCluster(const PrivateCluster&) = delete;
  PrivateCluster& operator=(const PrivateCluster&) = delete;
  void start();
  void stop(const std::string& mode);  // fast | immediate
  const std::string& conninfo() const { return conninfo_; }

 private:
  std::string state_dir_;
  std::string conninfo_;
};

// The market every ledger test runs: the repository's config/ catalog and tariffs.
ledger::MarketSetup repository_market();

// Runs a shell command; fails the test (throws) when it does not exit 0.
std::string run_command(const std::string& command);

// The durability and ledger checks shared by the crash and restart tests:
// every acknowledged command is in the log with the events it was acknowledged
// with (by hash), the log has no gaps, every ledger transaction sums to zero
// and matches a fresh replay of the log, the trial balance is zero, and the
// engine recovered from snapshot + tail equals a replay from the beginning.
// Returns what is wrong; empty when everything holds.
std::vector<std::string> verify_durable_market(
    const std::string& conninfo, const std::map<std::uint64_t, std::size_t>& acked_event_hashes);

std::size_t events_hash(const std::string& events_text);

}  // namespace spotgrid::testing
