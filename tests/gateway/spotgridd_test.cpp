// spotgridd as a process against the suite's PostgreSQL: it becomes ready,
// serves the operational routes, refuses a bad configuration naming the
// setting, and drains and exits 0 on SIGTERM.
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <thread>

#include "child_process.hpp"
#include "http_client.hpp"
#include "pg_harness.hpp"

namespace spotgrid::gateway {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

const std::string kConfig = SPOTGRID_SOURCE_DIR "/config/spotgridd.json";

testing::HttpReply get(std::uint16_t port, const std::string& target) {
  return testing::http_call(port, "GET", target);
}

std::map<std::string, std::string> environment(const std::string& conninfo) {
  return {{"SPOTGRID_POSTGRES_CONNINFO", conninfo},
          {"SPOTGRID_LISTEN_PORT", "0"},
          {"SPOTGRID_MARKET_CONFIG_DIR", SPOTGRID_SOURCE_DIR "/config"}};
}

TEST(Spotgridd, BecomesReadyServesOperationsAndDrainsOnSigterm) {
  testing::TestDatabase db;
  testing::ChildProcess server({SPOTGRIDD, "--config", kConfig}, environment(db.conninfo()));
  const auto line = server.read_line(Clock::now() + 30s);
  ASSERT_TRUE(line) << "spotgridd printed nothing";
  const auto colon = line->rfind(':');
  ASSERT_NE(colon, std::string::npos) << *line;
  const auto port = static_cast<std::uint16_t>(std::stoi(line->substr(colon + 1)));

  EXPECT_EQ(get(port, "/healthz").status, 200u);
  unsigned ready = 0;
  for (int i = 0; i < 300 && ready != 200; ++i) {
    ready = get(port, "/readyz").status;
    if (ready != 200) std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(ready, 200u);
  const auto metrics = get(port, "/metrics");
  EXPECT_EQ(metrics.status, 200u);
  EXPECT_NE(metrics.body.find("\nspotgrid_market_ready 1\n"), std::string::npos) << metrics.body;
  // Latency per route: the /readyz polls above were counted, the API routes are listed.
  EXPECT_EQ(
      metrics.body.find("spotgrid_http_request_duration_seconds_count{route=\"GET /readyz\"} 0"),
      std::string::npos);
  EXPECT_NE(
      metrics.body.find("spotgrid_http_request_duration_seconds_count{route=\"GET /readyz\"}"),
      std::string::npos);
  EXPECT_NE(metrics.body.find("route=\"POST /v1/orders\",le=\"0.001\""), std::string::npos);
  const auto missing = get(port, "/nowhere");
  EXPECT_EQ(missing.status, 404u);
  EXPECT_NE(missing.body.find(R"("code":"not_found")"), std::string::npos);
  EXPECT_EQ(get(port, "/v1/account").status, 401u);  // the API wants a key

  server.signal(SIGTERM);
  const auto asked = Clock::now();
  const int status = server.wait();
  EXPECT_LT(Clock::now() - asked, 15s);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
}

TEST(Spotgridd, RefusesABadConfigurationNamingTheSetting) {
  auto env = environment("host=127.0.0.1");
  env.emplace("SPOTGRID_LISTEN_THREADS", "0");
  testing::ChildProcess server({SPOTGRIDD, "--config", kConfig}, env);
  const int status = server.wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2) << "status " << status;
}

}  // namespace
}  // namespace spotgrid::gateway
