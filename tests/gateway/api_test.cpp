// The /v1 account routes end to end: a Service on loopback against a real
// PostgreSQL, driven with HTTP. Keys, roles, bad input, and money reaching the
// ledger only through a committed deposit.
#include <gtest/gtest.h>

#include <rapidjson/document.h>
#include <algorithm>
#include <boost/beast/http/verb.hpp>
#include <cctype>
#include <chrono>
#include <pqxx/pqxx>
#include <thread>

#include "service_harness.hpp"

namespace spotgrid::gateway {
namespace {

class Api : public ServiceHarness {};

TEST_F(Api, TheOperatorCreatesAnAccountWhoseKeyWorks) {
  const auto [account, key] = buyer();
  EXPECT_GE(account, 1u);
  ASSERT_TRUE(parse_api_key(key));
  const Reply own = call(http::verb::get, "/v1/account", key);
  EXPECT_EQ(own.status, 200u) << own.body;
  EXPECT_EQ(own.json["account_id"].GetUint64(), account);
  EXPECT_STREQ(own.json["role"].GetString(), "buyer");
  EXPECT_EQ(own.json["cash_micros"].GetInt64(), 0);
  // Stored: SHA-256 of the secret, never the secret.
  pqxx::connection connection(db_.conninfo());
  pqxx::read_transaction txn(connection);
  const auto row = txn.exec1("SELECT key_id, secret_hash FROM api_keys");
  const ApiKey parsed = *parse_api_key(key);
  EXPECT_EQ(row[0].as<std::string>(), parsed.key_id);
  const pqxx::binarystring stored(row[1]);
  const SecretHash expected = hash_secret(parsed.secret);
  EXPECT_EQ(stored.str(),
            std::string(reinterpret_cast<const char*>(expected.data()), expected.size()));
}

TEST_F(Api, ADepositIsAcknowledgedAfterItsLedgerCommit) {
  const auto [account, key] = buyer();
  const Reply deposit =
      call(http::verb::post, "/v1/accounts/" + std::to_string(account) + "/deposits",
           operator_key_.token(), R"({"amount_micros": 25000000})");
  ASSERT_EQ(deposit.status, 201u) << deposit.body;
  EXPECT_EQ(deposit.json["cash_micros"].GetInt64(), 25'000'000);
  EXPECT_EQ(ledger_cash(account), 25'000'000);
  EXPECT_EQ(call(http::verb::get, "/v1/account", key).json["cash_micros"].GetInt64(), 25'000'000);
}

TEST_F(Api, KeysAreRequiredAndChecked) {
  const auto [account, key] = buyer();
  const Reply missing = call(http::verb::get, "/v1/account", "");
  EXPECT_EQ(missing.status, 401u);
  EXPECT_EQ(missing.www_authenticate, "Bearer");
  EXPECT_STREQ(missing.json["error"]["code"].GetString(), "unauthorized");
  EXPECT_EQ(call(http::verb::get, "/v1/account", "sg_nonsense").status, 401u);
  // Right id, wrong secret.
  std::string forged = key;
  forged.back() = forged.back() == '0' ? '1' : '0';
  EXPECT_EQ(call(http::verb::get, "/v1/account", forged).status, 401u);
  EXPECT_EQ(call(http::verb::get, "/v1/account", generate_api_key().token()).status, 401u);
}

// Every answer names its request: the client's id when it is a plain token,
// else one made by the server.
TEST_F(Api, EveryAnswerCarriesARequestId) {
  const Reply given = call(http::verb::get, "/v1/account", "", "", {{"X-Request-Id", "job-7.a_b"}});
  EXPECT_EQ(given.status, 401u);
  EXPECT_EQ(given.raw.header("X-Request-Id"), "job-7.a_b");
  const Reply made = call(http::verb::get, "/healthz", "");
  const Reply other = call(http::verb::get, "/healthz", "");
  EXPECT_FALSE(made.raw.header("X-Request-Id").empty());
  EXPECT_NE(made.raw.header("X-Request-Id"), other.raw.header("X-Request-Id"));
  const std::string made_id(made.raw.header("X-Request-Id"));  // 8 hex digits, '-', 12 more
  const auto hex = [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; };
  EXPECT_TRUE(made_id.size() == 21 && made_id[8] == '-' &&
              std::all_of(made_id.begin(), made_id.begin() + 8, hex) &&
              std::all_of(made_id.begin() + 9, made_id.end(), hex))
      << made_id;
  const Reply odd = call(http::verb::get, "/healthz", "", "", {{"X-Request-Id", "a b\"c"}});
  EXPECT_NE(odd.raw.header("X-Request-Id"), "a b\"c");
  EXPECT_FALSE(odd.raw.header("X-Request-Id").empty());
}

TEST_F(Api, RolesLimitWhatAKeyMayDo) {
  const auto [account, key] = buyer();
  EXPECT_EQ(call(http::verb::post, "/v1/accounts", key, R"({"name": "x", "role": "buyer"})").status,
            403u);
  EXPECT_EQ(call(http::verb::post, "/v1/accounts/" + std::to_string(account) + "/deposits", key,
                 R"({"amount_micros": 1})")
                .status,
            403u);
  EXPECT_EQ(call(http::verb::get, "/v1/account", operator_key_.token()).status, 403u);
  EXPECT_EQ(ledger_cash(account), 0);
}

TEST_F(Api, BadInputIsRefusedAndChangesNothing) {
  const auto [account, key] = buyer();
  const std::string deposits = "/v1/accounts/" + std::to_string(account) + "/deposits";
  const std::string op = operator_key_.token();
  const auto refused = [&](const std::string& target, const std::string& body) {
    return call(http::verb::post, target, op, body);
  };
  Reply r = refused(deposits, R"({"amount_micros": -5})");
  EXPECT_EQ(r.status, 400u);
  EXPECT_STREQ(r.json["error"]["field"].GetString(), "amount_micros");
  EXPECT_EQ(refused(deposits, R"({"amount_micros": 1e400})").status, 400u);
  EXPECT_EQ(refused(deposits, R"({"amount_micros": "5"})").status, 400u);
  EXPECT_EQ(refused(deposits, R"({"amount_micros": 5, "extra": 1})").status, 400u);
  EXPECT_EQ(refused(deposits, R"({"amount_micros": 99999999999999999})").status, 400u);
  EXPECT_EQ(refused(deposits, R"({"amount_micros": 5)").status, 400u);  // truncated
  EXPECT_EQ(refused(deposits, "[1]").status, 400u);
  EXPECT_EQ(refused(deposits, "{\"amount_micros\": 5, \"\xff\": 1}").status, 400u);  // not UTF-8
  EXPECT_EQ(refused("/v1/accounts/999999/deposits", R"({"amount_micros": 5})").status, 404u);
  EXPECT_EQ(refused("/v1/accounts/abc/deposits", R"({"amount_micros": 5})").status, 404u);
  EXPECT_EQ(refused("/v1/accounts", R"({"name": "x", "role": "operator"})").status, 400u);
  EXPECT_EQ(refused("/v1/accounts", R"({"name": "", "role": "buyer"})").status, 400u);
  EXPECT_EQ(call(http::verb::delete_, deposits, op).status, 405u);
  EXPECT_EQ(ledger_cash(account), 0);
}

// With no supply yet, an order rests; its hold is posted, it can be read by its
// owner only, quoted, and cancelled, releasing the hold.
TEST_F(Api, AnOrderRestsHoldsFundsAndCancels) {
  const auto [account, key] = buyer();
  const auto [other_account, other_key] = buyer();
  ASSERT_EQ(call(http::verb::post, "/v1/accounts/" + std::to_string(account) + "/deposits",
                 operator_key_.token(), R"({"amount_micros": 100000000})")
                .status,
            201u);
  const std::string order =
      R"({"pool": "H100-SXM-80G", "cards": 2, "duration_seconds": 3600,
          "limit_micros_per_hour": 3000000, "regions": ["eu-west"], "client_order_id": "job-7"})";
  const Reply quote = call(http::verb::post, "/v1/quotes", key, order);
  ASSERT_EQ(quote.status, 200u) << quote.body;
  EXPECT_EQ(quote.json["cards_fillable"].GetUint(), 0u);
  EXPECT_GE(quote.json["hold_micros"].GetInt64(), 6'000'000);

  const Reply placed = call(http::verb::post, "/v1/orders", key, order);
  ASSERT_EQ(placed.status, 201u) << placed.body;
  EXPECT_STREQ(placed.json["status"].GetString(), "resting");
  EXPECT_STREQ(placed.json["unfilled_reason"].GetString(), "no_supply_meets_constraints");
  EXPECT_EQ(placed.json["cards_open"].GetUint(), 2u);
  const auto hold = placed.json["hold_micros"].GetInt64();
  EXPECT_EQ(hold, quote.json["hold_micros"].GetInt64());
  EXPECT_EQ(ledger_cash(account), 100'000'000 - hold);
  const std::string path = "/v1/orders/" + std::to_string(placed.json["order_id"].GetUint64());

  const Reply mine = call(http::verb::get, path, key);
  EXPECT_EQ(mine.status, 200u) << mine.body;
  EXPECT_STREQ(mine.json["state"].GetString(), "resting");
  EXPECT_EQ(call(http::verb::get, path, other_key).status, 404u);
  EXPECT_EQ(call(http::verb::delete_, path, other_key).status, 404u);

  const Reply cancelled = call(http::verb::delete_, path, key);
  EXPECT_EQ(cancelled.status, 200u) << cancelled.body;
  EXPECT_EQ(cancelled.json["cards_cancelled"].GetUint(), 2u);
  EXPECT_EQ(ledger_cash(account), 100'000'000);
  EXPECT_EQ(call(http::verb::delete_, path, key).status, 404u);
  EXPECT_EQ(ledger_cash(other_account), 0);

  // A finished order stays readable: from the committed read model at once,
  // and from PostgreSQL after a restart.
  const Reply finished = call(http::verb::get, path, key);
  ASSERT_EQ(finished.status, 200u) << finished.body;
  EXPECT_STREQ(finished.json["state"].GetString(), "cancelled");
  EXPECT_EQ(finished.json["hold_micros"].GetInt64(), 0);
  EXPECT_FALSE(finished.raw.header("X-Spotgrid-Committed-Seq").empty());
  EXPECT_EQ(call(http::verb::get, path, other_key).status, 404u);
  service_.drain_and_stop();
  Service again(settings({}));
  again.start();
  for (int i = 0; i < 300 && !again.market_status().ready; ++i)
    std::this_thread::sleep_for(20ms);
  const testing::HttpReply after =
      testing::http_call(again.port(), testing::HttpCall{"GET", path, key, "", {}, tls_});
  ASSERT_EQ(after.status, 200u) << after.body;
  rapidjson::Document stored;
  stored.Parse(after.body.c_str());
  EXPECT_STREQ(stored["state"].GetString(), "cancelled");
  EXPECT_EQ(stored["cards"].GetInt64(), 2);
  EXPECT_EQ(stored["cards_open"].GetInt64(), 0);
  EXPECT_EQ(
      testing::http_call(again.port(), testing::HttpCall{"GET", path, other_key, "", {}, tls_})
          .status,
      404u);
}

TEST_F(Api, OrdersAreCheckedBeforeTheyReachTheMarket) {
  const auto [account, key] = buyer();
  const auto place = [&](const std::string& body) {
    return call(http::verb::post, "/v1/orders", key, body);
  };
  const std::string fields = R"("cards": 1, "duration_seconds": 60, "limit_micros_per_hour": 1000)";
  Reply r = place(R"({"pool": "Z80", )" + fields + "}");
  EXPECT_EQ(r.status, 400u);
  EXPECT_STREQ(r.json["error"]["field"].GetString(), "pool");
  EXPECT_EQ(place("{" + fields + "}").status, 400u);  // no target
  EXPECT_EQ(place(R"({"pool": "H100-SXM-80G", "regions": ["mars"], )" + fields + "}").status, 400u);
  EXPECT_EQ(place(R"({"pool": "H100-SXM-80G", "strategy": "cheap", )" + fields + "}").status, 400u);
  EXPECT_EQ(place(R"({"pool": "H100-SXM-80G", "cards": 0, "duration_seconds": 60,
                      "limit_micros_per_hour": 1000})")
                .status,
            400u);
  // Valid, but more than the account can hold: the market refuses it.
  r = place(R"({"pool": "H100-SXM-80G", )" + fields + "}");
  EXPECT_EQ(r.status, 422u) << r.body;
  EXPECT_STREQ(r.json["error"]["code"].GetString(), "insufficient_funds");
  EXPECT_EQ(call(http::verb::post, "/v1/orders", operator_key_.token(),
                 R"({"pool": "H100-SXM-80G", )" + fields + "}")
                .status,
            403u);
  EXPECT_EQ(ledger_cash(account), 0);
}

// Supply meets demand over HTTP: a node, a listing, an order that fills at
// once, the book, an early stop, a reclaim, a withdrawal; owners only.
TEST_F(Api, ASupplierListsABuyerLeasesAndBothEndIt) {
  const auto [supplier_id, supplier] = account("supplier");
  const auto [other_supplier_id, other_supplier] = account("supplier");
  const auto [buyer_id, buyer_key] = buyer();
  ASSERT_EQ(call(http::verb::post, "/v1/accounts/" + std::to_string(buyer_id) + "/deposits",
                 operator_key_.token(), R"({"amount_micros": 500000000})")
                .status,
            201u);
  EXPECT_EQ(call(http::verb::post, "/v1/nodes", buyer_key,
                 R"({"pool": "H100-SXM-80G", "region": "eu-west", "cards": 8})")
                .status,
            403u);
  const Reply node = call(http::verb::post, "/v1/nodes", supplier,
                          R"({"pool": "H100-SXM-80G", "region": "eu-west", "cards": 8})");
  ASSERT_EQ(node.status, 201u) << node.body;
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  const std::string listing_body =
      R"({"node_id": )" + std::to_string(node.json["node_id"].GetUint64()) +
      R"(, "cards": 4, "reserve_micros_per_card_hour": 2500000, "available_from": )" +
      std::to_string(now - 60) + R"(, "available_until": )" + std::to_string(now + 172'800) + "}";
  const Reply listing = call(http::verb::post, "/v1/listings", supplier, listing_body);
  ASSERT_EQ(listing.status, 201u) << listing.body;
  EXPECT_EQ(call(http::verb::post, "/v1/listings", other_supplier, listing_body).status, 404u);

  const Reply order = call(http::verb::post, "/v1/orders", buyer_key,
                           R"({"pool": "H100-SXM-80G", "cards": 2, "duration_seconds": 3600,
                               "limit_micros_per_hour": 3000000})");
  ASSERT_EQ(order.status, 201u) << order.body;
  EXPECT_STREQ(order.json["status"].GetString(), "filled");
  ASSERT_EQ(order.json["leases"].Size(), 1u);
  EXPECT_EQ(order.json["leases"][0]["price_micros_per_card_hour"].GetInt64(), 2'500'000);
  const auto lease = order.json["leases"][0]["lease_id"].GetUint64();

  const Reply book = call(http::verb::get, "/v1/market/H100-SXM-80G/book", buyer_key);
  ASSERT_EQ(book.status, 200u) << book.body;
  ASSERT_EQ(book.json["asks"].Size(), 1u);
  EXPECT_EQ(book.json["asks"][0]["cards"].GetUint(), 2u);
  EXPECT_EQ(call(http::verb::get, "/v1/market/Z80/book", buyer_key).status, 404u);

  // Reads of what was committed: own leases only, anonymous trades, the index.
  const Reply mine = call(http::verb::get, "/v1/leases", buyer_key);
  ASSERT_EQ(mine.status, 200u) << mine.body;
  ASSERT_EQ(mine.json["leases"].Size(), 1u);
  EXPECT_EQ(mine.json["leases"][0]["lease_id"].GetUint64(), lease);
  EXPECT_EQ(call(http::verb::get, "/v1/leases", supplier).json["leases"].Size(), 1u);
  EXPECT_EQ(call(http::verb::get, "/v1/leases", other_supplier).json["leases"].Size(), 0u);
  EXPECT_EQ(call(http::verb::get, "/v1/leases", operator_key_.token()).status, 403u);
  const Reply trades = call(http::verb::get, "/v1/market/H100-SXM-80G/trades", other_supplier);
  ASSERT_EQ(trades.status, 200u) << trades.body;
  ASSERT_EQ(trades.json["trades"].Size(), 1u);
  EXPECT_EQ(trades.json["trades"][0]["price_micros_per_card_hour"].GetInt64(), 2'500'000);
  EXPECT_FALSE(trades.json["trades"][0].HasMember("lease_id"));
  const Reply index = call(http::verb::get, "/v1/market/H100-SXM-80G/index", buyer_key);
  ASSERT_EQ(index.status, 200u) << index.body;
  EXPECT_GT(index.json["index_micros_per_card_hour"].GetInt64(), 0);
  const Reply history = call(http::verb::get, "/v1/market/H100-SXM-80G/history", buyer_key);
  ASSERT_EQ(history.status, 200u) << history.body;
  EXPECT_TRUE(history.json["history"].IsArray());
  EXPECT_EQ(call(http::verb::get, "/v1/market/Z80/trades", buyer_key).status, 404u);

  const std::string lease_path = "/v1/leases/" + std::to_string(lease);
  EXPECT_EQ(call(http::verb::post, lease_path + "/stop", other_supplier).status, 403u);
  EXPECT_EQ(call(http::verb::post, lease_path + "/reclaim", other_supplier).status, 404u);
  // Another buyer neither sees nor stops it.
  const auto [stranger_id, stranger] = buyer();
  EXPECT_EQ(call(http::verb::post, lease_path + "/stop", stranger).status, 404u);
  EXPECT_EQ(call(http::verb::get, "/v1/leases", stranger).json["leases"].Size(), 0u);
  const Reply reclaimed = call(http::verb::post, lease_path + "/reclaim", supplier);
  EXPECT_EQ(reclaimed.status, 200u) << reclaimed.body;
  const Reply stopped = call(http::verb::post, lease_path + "/stop", buyer_key);
  EXPECT_EQ(stopped.status, 200u) << stopped.body;
  // Ended: refused while it waits out its settle grace (422), unknown once closed (404).
  const unsigned again = call(http::verb::post, lease_path + "/stop", buyer_key).status;
  EXPECT_TRUE(again == 422u || again == 404u) << again;

  const std::string listing_path =
      "/v1/listings/" + std::to_string(listing.json["listing_id"].GetUint64());
  EXPECT_EQ(call(http::verb::delete_, listing_path, other_supplier).status, 404u);
  const Reply withdrawn = call(http::verb::delete_, listing_path, supplier);
  EXPECT_EQ(withdrawn.status, 200u) << withdrawn.body;
  const unsigned withdrawn_again = call(http::verb::delete_, listing_path, supplier).status;
  EXPECT_TRUE(withdrawn_again == 422u || withdrawn_again == 404u) << withdrawn_again;
}

}  // namespace
}  // namespace spotgrid::gateway

namespace spotgrid::gateway {
namespace {

// Every route the server serves, with bad input of each kind: no key, a wrong
// key, a truncated body, a body that is not UTF-8, wrong types, ids and pools
// that do not exist. Each answer is a 4xx with a JSON error, and afterwards
// the ledger has not moved.
TEST_F(Api, EveryRouteRefusesBadInputAndTheLedgerStaysPut) {
  const auto [buyer_id, buyer_key] = buyer();
  const auto [supplier_id, supplier_key] = account("supplier");
  fund(buyer_id, 50'000'000);
  const auto ledger_state = [&] {
    pqxx::connection connection(db_.conninfo());
    pqxx::read_transaction txn(connection);
    const auto row = txn.exec1(
        "SELECT (SELECT count(*) FROM ledger_entries),"
        " (SELECT coalesce(sum(abs(balance)), 0) FROM ledger_accounts)");
    return std::make_pair(row[0].as<long long>(), row[1].as<long long>());
  };
  const auto before = ledger_state();
  const std::vector<std::string> bodies = {"{",
                                           "[1]",
                                           "{\"pool\": \"\xff\xfe\"}",
                                           R"({"cards": "two"})",
                                           R"({"cards": -1})",
                                           R"({"cards": 1e999})",
                                           R"({"unknown_field": 1})",
                                           std::string(70'000, 'x')};
  int checked = 0;
  for (const auto& [method, pattern] : served_routes()) {
    if (pattern.rfind("/v1/", 0) != 0 || pattern == "/v1/stream" ||
        pattern == "/v1/metering/stream" || pattern.rfind("/v1/session", 0) == 0)
      continue;  // WebSocket upgrades and browser sign-in: tested by their own suites
    std::string path = pattern;
    for (const char* parameter :
         {"{account_id}", "{order_id}", "{listing_id}", "{lease_id}", "{node_id}"}) {
      if (const auto at = path.find(parameter); at != std::string::npos)
        path.replace(at, std::string(parameter).size(), "987654");
    }
    if (const auto at = path.find("{pool}"); at != std::string::npos) path.replace(at, 6, "Z80");
    const auto verb = http::string_to_verb(method);
    const auto is_error = [&](const Reply& reply, const std::string& what) {
      EXPECT_GE(reply.status, 400u) << method << ' ' << path << ' ' << what;
      EXPECT_LT(reply.status, 500u) << method << ' ' << path << ' ' << what << ' ' << reply.body;
      if (reply.status != 413) {
        EXPECT_TRUE(reply.json.IsObject() && reply.json.HasMember("error"))
            << method << ' ' << path << ' ' << what << ' ' << reply.body;
      }
      ++checked;
    };
    // Market data is public: without a key it answers (here 404: no pool Z80);
    // everything else wants a key. A made-up key is refused everywhere.
    const bool is_public = pattern.rfind("/v1/market/", 0) == 0;
    const unsigned keyless = call(verb, path, "").status;
    if (is_public) {
      EXPECT_TRUE(keyless == 404u || keyless == 200u) << method << ' ' << path << ' ' << keyless;
    } else {
      EXPECT_EQ(keyless, 401u) << method << ' ' << path;
    }
    EXPECT_EQ(call(verb, path, generate_api_key().token()).status, 401u) << method << ' ' << path;
    for (const std::string& key : {buyer_key, supplier_key}) {
      if (method == "GET" || method == "DELETE") {
        // Reads without a parameter (own account, own leases) have no bad input.
        if (pattern.find('{') != std::string::npos)
          is_error(call(verb, path, key), "unknown id or pool");
        continue;
      }
      for (const std::string& body : bodies)
        is_error(call(verb, path, key, body), body.substr(0, 20));
    }
  }
  EXPECT_GT(checked, 100);
  EXPECT_EQ(ledger_state(), before);
}

}  // namespace
}  // namespace spotgrid::gateway

namespace spotgrid::gateway {
namespace {

// Cost-first over REST: never quoted dearer than time-first for the same
// order, and placed it either fills now or waits for a cheaper tariff hour
// (deferred), holding its worst case either way.
TEST_F(Api, ACostFirstOrderIsNeverDearerThanTimeFirst) {
  const auto [supplier_id, supplier] = account("supplier");
  const auto [buyer_id, buyer_key] = buyer();
  fund(buyer_id, 500'000'000);
  list_supply(supplier, 8, 2'000'000);
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  const auto order_body = [&](const char* strategy) {
    return R"({"pool": "H100-SXM-80G", "cards": 2, "duration_seconds": 3600,
               "limit_micros_per_hour": 3000000, "strategy": ")" +
           std::string(strategy) + R"(", "latest_start": )" + std::to_string(now + 86'400) + "}";
  };
  const Reply time_first =
      call(http::verb::post, "/v1/quotes", buyer_key, order_body("time_first"));
  const Reply cost_first =
      call(http::verb::post, "/v1/quotes", buyer_key, order_body("cost_first"));
  ASSERT_EQ(time_first.status, 200u) << time_first.body;
  ASSERT_EQ(cost_first.status, 200u) << cost_first.body;
  EXPECT_EQ(cost_first.json["cards_fillable"].GetUint(), 2u);
  EXPECT_GT(cost_first.json["cost_micros"].GetInt64(), 0);
  EXPECT_LE(cost_first.json["cost_micros"].GetInt64(), time_first.json["cost_micros"].GetInt64());
  EXPECT_GE(cost_first.json["expected_start"].GetInt64(), now - 5);

  const Reply placed = call(http::verb::post, "/v1/orders", buyer_key, order_body("cost_first"));
  ASSERT_EQ(placed.status, 201u) << placed.body;
  const std::string status = placed.json["status"].GetString();
  EXPECT_TRUE(status == "filled" || status == "deferred") << placed.body;
  EXPECT_GT(placed.json["hold_micros"].GetInt64(), 0);
  EXPECT_LE(placed.json["expected_cost_micros"].GetInt64(), placed.json["hold_micros"].GetInt64());
  // What is held (the order's cost once filled, its worst case while deferred)
  // left cash in the ledger, and nothing was spent yet.
  const Reply own = call(http::verb::get, "/v1/account", buyer_key);
  ASSERT_EQ(own.status, 200u) << own.body;
  const auto held = own.json["hold_micros"].GetInt64();
  EXPECT_GE(held, placed.json["expected_cost_micros"].GetInt64());
  EXPECT_LE(held, placed.json["hold_micros"].GetInt64());
  EXPECT_EQ(ledger_cash(buyer_id), 500'000'000 - held);
  // /metrics describes the book and the index of every pool.
  const std::string metrics = call(http::verb::get, "/metrics", "").body;
  const std::string asks = R"(spotgrid_book_cards{pool="H100-SXM-80G",side="ask"} )";
  const auto at = metrics.find(asks);
  ASSERT_NE(at, std::string::npos) << metrics;
  const int listed = std::stoi(metrics.substr(at + asks.size()));
  EXPECT_TRUE(listed == 8 || listed == 6) << listed;  // 6 once the order filled
  EXPECT_NE(metrics.find(R"(spotgrid_index_price_micros{pool="A100-80G"} )"), std::string::npos);
}

}  // namespace
}  // namespace spotgrid::gateway
