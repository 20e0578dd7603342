// spotgridd as a process against the suite's PostgreSQL: it becomes ready,
// serves the operational routes, refuses a bad configuration naming the
// setting, drains and exits 0 on SIGTERM, and loses no acknowledged metering
// sample to SIGKILL.
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <thread>

#include <rapidjson/document.h>

#include <atomic>
#include <iostream>
#include <map>
#include <mutex>
#include <pqxx/pqxx>
#include <set>

#include "child_process.hpp"
#include "http_client.hpp"
#include "pg_harness.hpp"
#include "spotgrid/gateway/auth.hpp"
#include "spotgrid/metering/sample.hpp"
#include "spotgrid/util/hmac.hpp"
#include "webhook_receiver.hpp"

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

std::uint16_t port_of(testing::ChildProcess& server) {
  const auto line = server.read_line(Clock::now() + 30s);
  if (!line || line->rfind(':') == std::string::npos) return 0;
  return static_cast<std::uint16_t>(std::stoi(line->substr(line->rfind(':') + 1)));
}

bool wait_ready(std::uint16_t port) {
  for (int i = 0; i < 300; ++i) {
    if (get(port, "/readyz").status == 200) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

// Starts spotgridd with `env` into `server` and waits until it is ready: its
// port, or 0 when it printed none or never became ready.
std::uint16_t start_ready(const std::map<std::string, std::string>& env,
                          std::unique_ptr<testing::ChildProcess>& server) {
  server = std::make_unique<testing::ChildProcess>(
      std::vector<std::string>{SPOTGRIDD, "--config", kConfig}, env);
  const std::uint16_t port = port_of(*server);
  return port != 0 && wait_ready(port) ? port : 0;
}

// One sample per batch: sequence `seq` of `node`, signed with its key.
std::pair<std::string, std::string> signed_batch(NodeId node, const std::string& key,
                                                 std::uint64_t seq) {
  metering::Sample s;
  s.node = node;
  s.seq = seq;
  s.second = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count() -
             60;
  s.card_index = static_cast<std::uint32_t>(seq % 4);
  s.card_uuid = "GPU-kill-" + std::to_string(seq % 4);
  s.healthy = true;
  std::string body = metering::batch_json({s});
  std::string signature = metering::sign(key, body);
  return {std::move(body), std::move(signature)};
}

testing::HttpReply post_batch(std::uint16_t port, NodeId node,
                              const std::pair<std::string, std::string>& batch) {
  return testing::http_call(port, testing::HttpCall{"POST",
                                                    "/v1/metering/batches",
                                                    "",
                                                    batch.first,
                                                    {{"X-Spotgrid-Signature", batch.second},
                                                     {"X-Spotgrid-Node", std::to_string(node)}},
                                                    false});
}

TEST(Spotgridd, NoAcknowledgedSampleIsLostToSigkill) {
  testing::TestDatabase db;
  const ApiKey operator_key = generate_api_key();
  auto env = environment(db.conninfo());
  env.emplace("SPOTGRID_METERING_SECRET", "sigkill-test-secret-0123456789");
  env.emplace("SPOTGRID_AUTH_OPERATOR_KEY", operator_key.token());
  std::unique_ptr<testing::ChildProcess> server;
  std::uint16_t port = start_ready(env, server);
  ASSERT_NE(port, 0) << "spotgridd did not start or become ready";

  rapidjson::Document supplier;
  supplier.Parse(testing::http_call(port, "POST", "/v1/accounts", operator_key.token(),
                                    R"({"name": "racks", "role": "supplier"})")
                     .body.c_str());
  ASSERT_TRUE(supplier.IsObject() && supplier.HasMember("api_key"));
  rapidjson::Document node;
  node.Parse(testing::http_call(port, "POST", "/v1/nodes", supplier["api_key"].GetString(),
                                R"({"pool": "A100-80G", "region": "eu-west", "cards": 4})")
                 .body.c_str());
  ASSERT_TRUE(node.IsObject() && node.HasMember("agent_key"));
  const NodeId node_id = node["node_id"].GetUint64();
  const std::string key = node["agent_key"].GetString();

  // An agent sends batch after batch; the server is killed in the middle.
  std::atomic<std::uint64_t> acknowledged{0};
  std::atomic<bool> stop{false};
  std::thread agent([&] {
    for (std::uint64_t seq = 1; !stop; ++seq) {
      testing::HttpReply reply;
      try {
        reply = post_batch(port, node_id, signed_batch(node_id, key, seq));
      } catch (const std::exception&) {
        break;  // the connection died with the server: not acknowledged
      }
      if (reply.status == 200) {
        acknowledged = seq;
      } else if (reply.status == 503) {
        --seq;  // metering still starting: the same batch again
      } else {
        break;  // the server is gone
      }
    }
  });
  std::this_thread::sleep_for(2s);
  server->signal(SIGKILL);
  server->wait();
  stop = true;
  agent.join();
  ASSERT_GT(acknowledged.load(), 10u) << "too few batches went through to test anything";

  // Every acknowledged sequence is stored, once.
  {
    pqxx::connection connection(db.conninfo());
    pqxx::read_transaction txn(connection);
    const auto row = txn.exec_params1(
        "SELECT count(*), count(DISTINCT seq), coalesce(max(seq), 0) FROM usage_samples "
        "WHERE node = $1",
        static_cast<long long>(node_id));
    EXPECT_EQ(row[0].as<long long>(), row[1].as<long long>()) << "a sequence stored twice";
    EXPECT_GE(row[2].as<std::uint64_t>(), acknowledged.load());
    const auto contiguous = txn.exec_params1(
        "SELECT count(DISTINCT seq) FROM usage_samples WHERE node = $1 AND seq <= $2",
        static_cast<long long>(node_id), static_cast<long long>(acknowledged.load()));
    EXPECT_EQ(contiguous[0].as<std::uint64_t>(), acknowledged.load());
  }

  // Restarted, the server knows them: a re-send of the last is a duplicate.
  port = start_ready(env, server);
  ASSERT_NE(port, 0) << "spotgridd did not start or become ready";
  testing::HttpReply again;
  for (int i = 0; i < 100; ++i) {
    again = post_batch(port, node_id, signed_batch(node_id, key, acknowledged.load()));
    if (again.status != 503) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(again.status, 200u) << again.body;
  EXPECT_NE(again.body.find(R"("duplicate":true)"), std::string::npos) << again.body;
  server->signal(SIGTERM);
  server->wait();
}

testing::HttpReply keyed_deposit(std::uint16_t port, const ApiKey& operator_key,
                                 std::uint64_t account, const std::string& key) {
  return testing::http_call(
      port, testing::HttpCall{"POST",
                              "/v1/accounts/" + std::to_string(account) + "/deposits",
                              operator_key.token(),
                              R"({"amount_micros": 1000000})",
                              {{"Idempotency-Key", key}},
                              false});
}

// Keyed deposits in flight when spotgridd is SIGKILLed (one between claim and
// commit or between commit and answer): after a restart every retry of every
// key gets an answer, answers given before the kill are replayed unchanged,
// and the ledger holds each deposit exactly once.
TEST(Spotgridd, EveryIdempotencyKeyAppliesOnceAcrossSigkill) {
  testing::TestDatabase db;
  const ApiKey operator_key = generate_api_key();
  auto env = environment(db.conninfo());
  env.emplace("SPOTGRID_AUTH_OPERATOR_KEY", operator_key.token());
  std::unique_ptr<testing::ChildProcess> server;
  std::uint16_t port = start_ready(env, server);
  ASSERT_NE(port, 0) << "spotgridd did not start or become ready";
  rapidjson::Document buyer;
  buyer.Parse(testing::http_call(port, "POST", "/v1/accounts", operator_key.token(),
                                 R"({"name": "kill buyer", "role": "buyer"})")
                  .body.c_str());
  ASSERT_TRUE(buyer.IsObject() && buyer.HasMember("account_id"));
  const std::uint64_t account = buyer["account_id"].GetUint64();

  std::mutex mutex;
  std::map<std::string, std::string> answered;  // key -> first 201 body
  std::atomic<int> sent{0};
  std::thread client([&] {
    for (int i = 1; i <= 5'000; ++i) {
      const std::string key = "kill-" + std::to_string(i);
      sent = i;
      testing::HttpReply reply;
      try {
        reply = keyed_deposit(port, operator_key, account, key);
      } catch (const std::exception&) {
        return;  // the server died with this request in flight
      }
      if (reply.status != 201) return;
      std::lock_guard lock(mutex);
      answered[key] = reply.body;
    }
  });
  std::this_thread::sleep_for(1500ms);
  server->signal(SIGKILL);
  server->wait();
  client.join();
  ASSERT_GT(answered.size(), 10u) << "too few deposits went through to test anything";

  port = start_ready(env, server);
  ASSERT_NE(port, 0) << "spotgridd did not start or become ready";
  for (int i = 1; i <= sent.load(); ++i) {
    const std::string key = "kill-" + std::to_string(i);
    testing::HttpReply retry;
    for (int attempt = 0; attempt < 100; ++attempt) {
      retry = keyed_deposit(port, operator_key, account, key);
      if (retry.status != 503 && retry.status != 409) break;
      std::this_thread::sleep_for(100ms);
    }
    ASSERT_EQ(retry.status, 201u) << key << ": " << retry.body;
    if (const auto first = answered.find(key); first != answered.end()) {
      EXPECT_EQ(retry.header("Idempotent-Replayed"), "true") << key;
      EXPECT_EQ(retry.body, first->second) << key;
    }
  }
  pqxx::connection connection(db.conninfo());
  pqxx::read_transaction txn(connection);
  const auto cash =
      txn.exec_params1(
             "SELECT balance FROM ledger_accounts WHERE owner_id = $1 AND account = 'cash'",
             static_cast<long long>(account))[0]
          .as<long long>();
  EXPECT_EQ(cash, 1'000'000LL * sent.load()) << "a deposit applied twice or never";
  server->signal(SIGTERM);
  server->wait();
}

}  // namespace
}  // namespace spotgrid::gateway

namespace spotgrid::gateway {
namespace {

rapidjson::Document parsed(const testing::HttpReply& reply) {
  rapidjson::Document document;
  document.Parse(reply.body.c_str());
  return document;
}

// Orders placed and cancelled while a slow receiver is being sent their
// order.cancelled webhooks; spotgridd is SIGKILLed mid-way, twice (while the
// cancels commit, then while the backlog is sent). Afterwards: every
// acknowledged cancel was delivered, every delivery is of a committed cancel
// (no phantom), each event id reached the receiver at least once, signed,
// and the outbox holds each event once.
TEST(Spotgridd, WebhooksReachTheReceiverOnceAfterDedupeAcrossSigkill) {
  testing::TestDatabase db;
  const ApiKey operator_key = generate_api_key();
  auto env = environment(db.conninfo());
  env.emplace("SPOTGRID_AUTH_OPERATOR_KEY", operator_key.token());
  env.emplace("SPOTGRID_WEBHOOKS_INSECURE_TARGETS", "1");
  env.emplace("SPOTGRID_WEBHOOKS_RETRY_BASE_SECONDS", "1");
  env.emplace("SPOTGRID_WEBHOOKS_RETRY_CAP_SECONDS", "2");
  env.emplace("SPOTGRID_WEBHOOKS_TIMEOUT_SECONDS", "1");
  testing::WebhookReceiver receiver([](std::size_t) { return 200u; }, 15ms);
  std::unique_ptr<testing::ChildProcess> server;
  std::uint16_t port = start_ready(env, server);
  ASSERT_NE(port, 0) << "spotgridd did not start or become ready";

  const auto buyer = parsed(testing::http_call(port, "POST", "/v1/accounts", operator_key.token(),
                                               R"({"name": "hooked", "role": "buyer"})"));
  ASSERT_TRUE(buyer.IsObject() && buyer.HasMember("api_key"));
  const std::string key = buyer["api_key"].GetString();
  ASSERT_EQ(testing::http_call(
                port, "POST",
                "/v1/accounts/" + std::to_string(buyer["account_id"].GetUint64()) + "/deposits",
                operator_key.token(), R"({"amount_micros": 100000000})")
                .status,
            201u);
  const auto hook =
      parsed(testing::http_call(port, "POST", "/v1/webhooks", key,
                                R"({"url": "http://127.0.0.1:)" + std::to_string(receiver.port()) +
                                    R"(/in", "events": ["order.cancelled"]})"));
  ASSERT_TRUE(hook.IsObject() && hook.HasMember("secret"));
  const std::string secret = hook["secret"].GetString();

  // Resting orders (no supply), each cancelled: one order.cancelled apiece.
  std::mutex mutex;
  std::set<std::uint64_t> acknowledged;
  std::atomic<bool> stop{false};
  std::thread buyer_client([&] {
    while (!stop) {
      try {
        const auto placed = parsed(
            testing::http_call(port, "POST", "/v1/orders", key,
                               R"({"pool": "H100-SXM-80G", "cards": 1, "duration_seconds": 60,
                "limit_micros_per_hour": 1000000, "regions": ["eu-west"]})"));
        if (!placed.IsObject() || !placed.HasMember("order_id")) return;
        const std::uint64_t order = placed["order_id"].GetUint64();
        if (testing::http_call(port, "DELETE", "/v1/orders/" + std::to_string(order), key).status !=
            200)
          return;
        const std::lock_guard lock(mutex);
        acknowledged.insert(order);
      } catch (const std::exception&) {
        return;  // the server died with this request in flight
      }
    }
  });
  // Killed once enough cancels went through (a slow machine takes longer).
  for (int i = 0; i < 300; ++i) {
    {
      const std::lock_guard lock(mutex);
      if (acknowledged.size() >= 40) break;
    }
    std::this_thread::sleep_for(100ms);
  }
  server->signal(SIGKILL);  // cancels committing, deliveries under way
  server->wait();
  stop = true;
  buyer_client.join();
  ASSERT_GT(acknowledged.size(), 20u) << "too few cancels went through to test anything";

  port = start_ready(env, server);
  ASSERT_NE(port, 0) << "spotgridd did not start or become ready";
  std::this_thread::sleep_for(300ms);
  server->signal(SIGKILL);  // the backlog half sent
  server->wait();
  port = start_ready(env, server);
  ASSERT_NE(port, 0) << "spotgridd did not start or become ready";

  const auto pending = [&] {
    pqxx::connection connection(db.conninfo());
    pqxx::read_transaction txn(connection);
    return txn.exec1("SELECT count(*) FROM webhook_deliveries WHERE status <> 'delivered'")[0]
        .as<long long>();
  };
  // A killed attempt's claim lapses after 3 × 1 s + 5 s; then it is sent again.
  for (int i = 0; i < 900 && pending() > 0; ++i)
    std::this_thread::sleep_for(100ms);
  ASSERT_EQ(pending(), 0) << "deliveries still pending 90 s after the restart";

  std::set<std::string> committed;  // the outbox: one row per committed cancel
  std::set<std::uint64_t> cancelled_orders;
  {
    pqxx::connection connection(db.conninfo());
    pqxx::read_transaction txn(connection);
    for (const auto& row : txn.exec("SELECT event_id, payload FROM webhook_deliveries")) {
      committed.insert("evt_" + row[0].as<std::string>());
      rapidjson::Document payload;
      payload.Parse(row[1].c_str());
      cancelled_orders.insert(payload["data"]["order_id"].GetUint64());
    }
    EXPECT_EQ(
        static_cast<long long>(committed.size()),
        txn.exec1("SELECT count(*) FROM orders WHERE status = 'cancelled'")[0].as<long long>());
  }
  for (const std::uint64_t order : acknowledged)
    EXPECT_TRUE(cancelled_orders.contains(order)) << "acknowledged cancel " << order << " lost";

  std::set<std::string> received;
  std::size_t copies = 0;
  for (const auto& webhook : receiver.received()) {
    ++copies;
    received.insert(webhook.event_id);
    const auto comma = webhook.signature.find(",v1=");
    ASSERT_NE(comma, std::string::npos) << webhook.signature;
    EXPECT_TRUE(util::hmac_sha256_hex_matches(
        secret, webhook.signature.substr(2, comma - 2) + "." + webhook.body,
        webhook.signature.substr(comma + 4)));
  }
  EXPECT_EQ(received, committed) << "after dedupe the receiver has exactly the committed events";
  std::cout << committed.size() << " events, " << copies << " deliveries received\n";
  server->signal(SIGTERM);
  server->wait();
}

}  // namespace
}  // namespace spotgrid::gateway
