// SIGKILL at random moments: a driver process runs the durable market and prints
// each acknowledgement; this test kills it again and again, restarts it, and
// checks that everything it acknowledged survived and nothing is half-applied.
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <limits>
#include <memory>
#include <pqxx/pqxx>
#include <random>
#include <sstream>

#include "child_process.hpp"
#include "pg_harness.hpp"
#include "spotgrid/ledger/schema.hpp"

namespace spotgrid::ledger {
namespace {

using Clock = std::chrono::steady_clock;

std::unique_ptr<testing::ChildProcess> spawn_driver(const std::string& conninfo, std::uint64_t seed,
                                                    UnixSeconds start, std::uint32_t commands) {
  return std::make_unique<testing::ChildProcess>(
      std::vector<std::string>{SPOTGRID_MARKET_DRIVER, "--conninfo", conninfo, "--seed",
                               std::to_string(seed), "--start", std::to_string(start), "--commands",
                               std::to_string(commands), "--snapshot-every", "400"},
      std::map<std::string, std::string>{});
}

// Reads acknowledgements into `acked` until `deadline`, the end of output, or
// (with `until_count`) until `acked` holds that many.
void read_acks(testing::ChildProcess& child, Clock::time_point deadline,
               std::map<std::uint64_t, std::size_t>& acked,
               std::size_t until_count = std::numeric_limits<std::size_t>::max()) {
  while (acked.size() < until_count) {
    const auto line = child.read_line(deadline);
    if (!line) return;
    std::istringstream fields(*line);
    std::string word;
    std::uint64_t seq = 0;
    std::size_t hash = 0;
    if (fields >> word >> seq >> hash && word == "ack") acked[seq] = hash;
  }
}

UnixSeconds next_start(const std::string& conninfo) {
  pqxx::connection connection(conninfo);
  pqxx::read_transaction txn(connection);
  const auto result = txn.exec("SELECT coalesce(max(at), 0) FROM command_log");
  const auto at = result.empty() ? 0 : result[0][0].as<long long>(0);
  return std::max<UnixSeconds>(1'767'571'200, at + 1);
}

TEST(CrashRecovery, EverythingAcknowledgedSurvivesRepeatedSigkill) {
  testing::TestDatabase db;
  {
    pqxx::connection connection(db.conninfo());
    migrate(connection);
  }
  const std::uint64_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  std::map<std::uint64_t, std::size_t> acked;
  constexpr int kKills = 24;
  int kills_after_acks = 0;
  for (int run = 0; run < kKills; ++run) {
    const std::size_t before = acked.size();
    const auto child = spawn_driver(db.conninfo(), seed + static_cast<std::uint64_t>(run),
                                    next_start(db.conninfo()), 1'000'000);
    // Even runs: any moment, during start-up and recovery as well as under
    // load. Odd runs: under load, once this run's first command is acknowledged
    // (a slow machine can take longer than any fixed lifetime to recover).
    if (run % 2 == 1) read_acks(*child, Clock::now() + std::chrono::seconds(20), acked, before + 1);
    const auto lifetime =
        std::chrono::milliseconds(run % 2 == 1 ? rng() % 500 : 50 + rng() % 1'500);
    read_acks(*child, Clock::now() + lifetime, acked);
    child->signal(SIGKILL);
    const int status = child->wait();
    ASSERT_TRUE(WIFSIGNALED(status)) << "the driver ended by itself: status " << status;
    // What it printed before dying was acknowledged too.
    read_acks(*child, Clock::now() + std::chrono::seconds(5), acked);
    kills_after_acks += acked.size() > before;
  }
  // A clean run after the last kill must recover and carry on.
  const auto last = spawn_driver(db.conninfo(), seed + 1'000, next_start(db.conninfo()), 256);
  const std::size_t before = acked.size();
  read_acks(*last, Clock::now() + std::chrono::seconds(120), acked);
  const int status = last->wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  EXPECT_EQ(acked.size(), before + 256);

  EXPECT_GE(kills_after_acks, kKills / 2) << "too few kills landed under load";
  EXPECT_GT(acked.size(), 2'000u);
  const auto problems = testing::verify_durable_market(db.conninfo(), acked);
  EXPECT_TRUE(problems.empty()) << problems.front();
}

}  // namespace
}  // namespace spotgrid::ledger
