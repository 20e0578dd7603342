#pragma once
// A spotgridd Service on loopback against the suite's PostgreSQL, and the
// calls the API tests make to it.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <boost/beast/http/verb.hpp>
#include <chrono>
#include <functional>
#include <pqxx/pqxx>
#include <thread>

#include "http_client.hpp"
#include "pg_harness.hpp"
#include "spotgrid/gateway/auth.hpp"
#include "spotgrid/gateway/service.hpp"

namespace spotgrid::gateway {

namespace http = boost::beast::http;  // only its verbs
using namespace std::chrono_literals;

struct Reply {
  unsigned status = 0;
  rapidjson::Document json;
  std::string body;
  std::string www_authenticate;
  testing::HttpReply raw;
};

class ServiceHarness : public ::testing::Test {
 protected:
  // `adjust` changes the settings before the service starts.
  explicit ServiceHarness(const std::function<void(Settings&)>& adjust = {})
      : operator_key_(generate_api_key()), service_(settings(adjust)) {
    service_.start();
    for (int i = 0; i < 300 && !service_.market_status().ready; ++i)
      std::this_thread::sleep_for(20ms);
  }

  Settings settings(const std::function<void(Settings&)>& adjust) {
    Settings s;
    s.listen_port = 0;
    s.postgres_conninfo = db_.conninfo();
    s.market_config_dir = std::string(SPOTGRID_SOURCE_DIR) + "/config";
    s.operator_key = operator_key_.token();
    if (adjust) adjust(s);
    return s;
  }

  Reply call(http::verb verb, const std::string& target, const std::string& key,
             const std::string& body = "", const testing::Headers& headers = {}) {
    const testing::HttpReply raw = testing::http_call(
        service_.port(),
        testing::HttpCall{std::string(http::to_string(verb)), target, key, body, headers, tls_});
    Reply reply;
    reply.status = raw.status;
    reply.body = raw.body;
    reply.json.Parse(reply.body.c_str());
    reply.www_authenticate = raw.www_authenticate;
    reply.raw = raw;
    return reply;
  }

  // A new buyer account: its id and key.
  std::pair<std::uint64_t, std::string> buyer() { return account("buyer"); }

  std::pair<std::uint64_t, std::string> account(const std::string& role) {
    const Reply created = call(http::verb::post, "/v1/accounts", operator_key_.token(),
                               R"({"name": "lab", "role": ")" + role + R"("})");
    EXPECT_EQ(created.status, 201u) << created.body;
    return {created.json["account_id"].GetUint64(), created.json["api_key"].GetString()};
  }

  // A node of `cards` H100s in eu-west listed whole at `price` per card-hour,
  // available from a minute ago for two days.
  void list_supply(const std::string& supplier_key, int cards, long long price,
                   const std::string& pool = "H100-SXM-80G") {
    const Reply node = call(http::verb::post, "/v1/nodes", supplier_key,
                            R"({"pool": ")" + pool + R"(", "region": "eu-west", "cards": )" +
                                std::to_string(cards) + "}");
    ASSERT_EQ(node.status, 201u) << node.body;
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    const Reply listing = call(
        http::verb::post, "/v1/listings", supplier_key,
        R"({"node_id": )" + std::to_string(node.json["node_id"].GetUint64()) + R"(, "cards": )" +
            std::to_string(cards) + R"(, "reserve_micros_per_card_hour": )" +
            std::to_string(price) + R"(, "available_from": )" + std::to_string(now - 60) +
            R"(, "available_until": )" + std::to_string(now + 172'800) + "}");
    ASSERT_EQ(listing.status, 201u) << listing.body;
  }

  void fund(std::uint64_t account, long long micros) {
    const Reply deposit =
        call(http::verb::post, "/v1/accounts/" + std::to_string(account) + "/deposits",
             operator_key_.token(), R"({"amount_micros": )" + std::to_string(micros) + "}");
    ASSERT_EQ(deposit.status, 201u) << deposit.body;
  }

  long long ledger_cash(std::uint64_t account) {
    pqxx::connection connection(db_.conninfo());
    pqxx::read_transaction txn(connection);
    const auto rows = txn.exec_params(
        "SELECT balance FROM ledger_accounts WHERE owner_id = $1 AND account = 'cash'",
        static_cast<long long>(account));
    return rows.empty() ? 0 : rows[0][0].as<long long>();
  }

  // The one number a query gives (its parameters as text).
  template <typename... Params>
  long long sql_count(const std::string& query, const Params&... params) {
    pqxx::connection connection(db_.conninfo());
    pqxx::read_transaction txn(connection);
    return txn.exec_params1(query, params...)[0].template as<long long>();
  }

  testing::TestDatabase db_;
  bool tls_ = false;  // the service speaks HTTPS (settings tls.*)
  ApiKey operator_key_;
  Service service_;
};

}  // namespace spotgrid::gateway
