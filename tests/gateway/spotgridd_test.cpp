// spotgridd as a process against the suite's PostgreSQL: it becomes ready,
// serves the operational routes, refuses a bad configuration naming the
// setting, and drains and exits 0 on SIGTERM.
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <csignal>
#include <thread>

#include "child_process.hpp"
#include "pg_harness.hpp"

namespace spotgrid::gateway {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

const std::string kConfig = std::string(SPOTGRID_SOURCE_DIR) + "/config/spotgridd.json";

http::response<http::string_body> get(std::uint16_t port, const std::string& target) {
  net::io_context io;
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  http::request<http::string_body> request{http::verb::get, target, 11};
  request.set(http::field::host, "127.0.0.1");
  http::write(socket, request);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(socket, buffer, response);
  return response;
}

std::map<std::string, std::string> environment(const std::string& conninfo) {
  return {{"SPOTGRID_POSTGRES_CONNINFO", conninfo},
          {"SPOTGRID_LISTEN_PORT", "0"},
          {"SPOTGRID_MARKET_CONFIG_DIR", std::string(SPOTGRID_SOURCE_DIR) + "/config"}};
}

TEST(Spotgridd, BecomesReadyServesOperationsAndDrainsOnSigterm) {
  testing::TestDatabase db;
  testing::ChildProcess server({SPOTGRIDD, "--config", kConfig}, environment(db.conninfo()));
  const auto line = server.read_line(Clock::now() + 30s);
  ASSERT_TRUE(line) << "spotgridd printed nothing";
  const auto colon = line->rfind(':');
  ASSERT_NE(colon, std::string::npos) << *line;
  const auto port = static_cast<std::uint16_t>(std::stoi(line->substr(colon + 1)));

  EXPECT_EQ(get(port, "/healthz").result_int(), 200u);
  unsigned ready = 0;
  for (int i = 0; i < 300 && ready != 200; ++i) {
    ready = get(port, "/readyz").result_int();
    if (ready != 200) std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(ready, 200u);
  const auto metrics = get(port, "/metrics");
  EXPECT_EQ(metrics.result_int(), 200u);
  EXPECT_NE(metrics.body().find("\nspotgrid_market_ready 1\n"), std::string::npos)
      << metrics.body();
  // Latency per route: the /readyz polls above were counted, the API routes are listed.
  EXPECT_EQ(
      metrics.body().find("spotgrid_http_request_duration_seconds_count{route=\"GET /readyz\"} 0"),
      std::string::npos);
  EXPECT_NE(
      metrics.body().find("spotgrid_http_request_duration_seconds_count{route=\"GET /readyz\"}"),
      std::string::npos);
  EXPECT_NE(metrics.body().find("route=\"POST /v1/orders\",le=\"0.001\""), std::string::npos);
  const auto missing = get(port, "/nowhere");
  EXPECT_EQ(missing.result_int(), 404u);
  EXPECT_NE(missing.body().find(R"("code":"not_found")"), std::string::npos);
  EXPECT_EQ(get(port, "/v1/account").result_int(), 401u);  // the API wants a key

  server.signal(SIGTERM);
  const auto asked = Clock::now();
  const int status = server.wait();
  EXPECT_LT(Clock::now() - asked, 15s);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
}

TEST(Spotgridd, RefusesABadConfigurationNamingTheSetting) {
  auto env = environment("host=127.0.0.1");
  env["SPOTGRID_LISTEN_THREADS"] = "0";
  testing::ChildProcess server({SPOTGRIDD, "--config", kConfig}, env);
  const int status = server.wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2) << "status " << status;
}

}  // namespace
}  // namespace spotgrid::gateway
