// SIGKILL at random moments: a driver process runs the durable market and prints
// each acknowledgement; this test kills it again and again, restarts it, and
// checks that everything it acknowledged survived and nothing is half-applied.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <pqxx/pqxx>
#include <random>
#include <sstream>

#include "pg_harness.hpp"
#include "spotgrid/ledger/schema.hpp"

namespace spotgrid::ledger {
namespace {

using Clock = std::chrono::steady_clock;

struct Child {
  pid_t pid = -1;
  int stdout_fd = -1;
};

Child spawn_driver(const std::string& conninfo, std::uint64_t seed, UnixSeconds start,
                   std::uint32_t commands) {
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    ::close(fds[0]);
    ::close(fds[1]);
    const std::string seed_text = std::to_string(seed);
    const std::string start_text = std::to_string(start);
    const std::string commands_text = std::to_string(commands);
    ::execl(SPOTGRID_MARKET_DRIVER, SPOTGRID_MARKET_DRIVER, "--conninfo", conninfo.c_str(),
            "--seed", seed_text.c_str(), "--start", start_text.c_str(), "--commands",
            commands_text.c_str(), "--snapshot-every", "400", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[1]);
  return {pid, fds[0]};
}

// Reads acknowledgements until `deadline` (or EOF); appends them to `acked`.
void read_acks(int fd, Clock::time_point deadline, std::string& buffer,
               std::map<std::uint64_t, std::size_t>& acked) {
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return;
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) return;
    char chunk[8192];
    const ssize_t got = ::read(fd, chunk, sizeof chunk);
    if (got <= 0) return;
    buffer.append(chunk, static_cast<std::size_t>(got));
    std::size_t line_end = 0;
    while ((line_end = buffer.find('\n')) != std::string::npos) {
      std::istringstream line(buffer.substr(0, line_end));
      buffer.erase(0, line_end + 1);
      std::string word;
      std::uint64_t seq = 0;
      std::size_t hash = 0;
      if (line >> word >> seq >> hash && word == "ack") acked[seq] = hash;
    }
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
    const Child child = spawn_driver(db.conninfo(), seed + static_cast<std::uint64_t>(run),
                                     next_start(db.conninfo()), 1'000'000);
    // Any moment: during start-up and recovery as well as under load.
    const auto lifetime = std::chrono::milliseconds(50 + rng() % 1'500);
    std::string buffer;
    read_acks(child.stdout_fd, Clock::now() + lifetime, buffer, acked);
    ASSERT_EQ(::kill(child.pid, SIGKILL), 0);
    int status = 0;
    ::waitpid(child.pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the driver ended by itself: status " << status;
    // What it printed before dying was acknowledged too.
    read_acks(child.stdout_fd, Clock::now() + std::chrono::seconds(5), buffer, acked);
    ::close(child.stdout_fd);
    kills_after_acks += acked.size() > before;
  }
  // A clean run after the last kill must recover and carry on.
  const Child last = spawn_driver(db.conninfo(), seed + 1'000, next_start(db.conninfo()), 256);
  std::string buffer;
  const std::size_t before = acked.size();
  read_acks(last.stdout_fd, Clock::now() + std::chrono::seconds(120), buffer, acked);
  ::close(last.stdout_fd);
  int status = 0;
  ::waitpid(last.pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  EXPECT_EQ(acked.size(), before + 256);

  EXPECT_GE(kills_after_acks, kKills / 2) << "too few kills landed under load";
  EXPECT_GT(acked.size(), 2'000u);
  const auto problems = testing::verify_durable_market(db.conninfo(), acked);
  EXPECT_TRUE(problems.empty()) << problems.front();
}

}  // namespace
}  // namespace spotgrid::ledger
