// Webhooks through a real Service and PostgreSQL to a receiver on loopback:
// registration refuses what it cannot deliver, deliveries are signed and
// carry the committed event, each account hears only of its own events, a
// receiver that is down gets everything once it is back, and the delivery log
// says what happened.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "service_harness.hpp"
#include "spotgrid/client/client.hpp"
#include "spotgrid/util/hmac.hpp"
#include "spotgrid/webhooks/webhooks.hpp"
#include "webhook_receiver.hpp"

namespace spotgrid::gateway {
namespace {

class Webhooks : public ServiceHarness {
 protected:
  Webhooks()
      : ServiceHarness([](Settings& s) {
          s.webhook_insecure_targets = true;  // http:// on loopback
          s.webhook_retry_base_seconds = 1;
          s.webhook_retry_cap_seconds = 2;
          s.webhook_timeout_seconds = 2;
        }) {}

  // Registers `events` at the receiver on `port`; the endpoint's id and secret.
  std::pair<long long, std::string> endpoint(const std::string& key, std::uint16_t port,
                                             const std::string& events,
                                             const std::string& more = "") {
    const Reply made = call(http::verb::post, "/v1/webhooks", key,
                            R"({"url": "http://127.0.0.1:)" + std::to_string(port) +
                                R"(/hooks?x=1", "events": )" + events + more + "}");
    EXPECT_EQ(made.status, 201u) << made.body;
    if (made.status != 201) return {0, ""};
    return {made.json["endpoint_id"].GetInt64(), made.json["secret"].GetString()};
  }

  // Waits (at most `limit`) until `done` holds.
  template <typename Done>
  static bool eventually(Done&& done, std::chrono::seconds limit = 20s) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() > until) return false;
      std::this_thread::sleep_for(50ms);
    }
    return true;
  }

  // A resting order (nothing is listed at its price), cancelled: one
  // order.cancelled.
  void place_and_cancel(const std::string& buyer_key) {
    const Reply placed = call(http::verb::post, "/v1/orders", buyer_key,
                              R"({"pool": "H100-SXM-80G", "cards": 1, "duration_seconds": 60,
                                  "limit_micros_per_hour": 1000000, "regions": ["eu-west"]})");
    ASSERT_EQ(placed.status, 201u) << placed.body;
    ASSERT_EQ(call(http::verb::delete_,
                   "/v1/orders/" + std::to_string(placed.json["order_id"].GetUint64()), buyer_key)
                  .status,
              200u);
  }

  // A buyer's order of 2 cards that fills at once against a supplier's node.
  void trade(const std::string& buyer_key, const std::string& supplier_key) {
    list_supply(supplier_key, 2, 2'000'000);
    const Reply placed = call(http::verb::post, "/v1/orders", buyer_key,
                              R"({"pool": "H100-SXM-80G", "cards": 2, "duration_seconds": 3600,
                                  "limit_micros_per_hour": 3000000, "regions": ["eu-west"]})");
    ASSERT_EQ(placed.status, 201u) << placed.body;
    ASSERT_STREQ(placed.json["status"].GetString(), "filled") << placed.body;
  }
};

// "t=<seconds>,v1=<hex>" checked as the documented recipe says.
bool signed_by(const std::string& secret, const testing::ReceivedWebhook& hook) {
  const auto comma = hook.signature.find(",v1=");
  if (hook.signature.rfind("t=", 0) != 0 || comma == std::string::npos) return false;
  const std::string stamp = hook.signature.substr(2, comma - 2);
  return util::hmac_sha256_hex_matches(secret, stamp + "." + hook.body,
                                       hook.signature.substr(comma + 4));
}

TEST_F(Webhooks, RegistrationRefusesWhatItCannotDeliver) {
  const auto [account, key] = buyer();
  const auto refused = [&](const std::string& body, const char* field) {
    const Reply r = call(http::verb::post, "/v1/webhooks", key, body);
    EXPECT_EQ(r.status, 400u) << body << " -> " << r.body;
    if (r.json.IsObject() && r.json.HasMember("error")) {
      EXPECT_STREQ(r.json["error"]["field"].GetString(), field) << r.body;
    }
  };
  refused(R"({"events": ["order.filled"]})", "url");
  refused(R"({"url": "ftp://example.com/", "events": ["order.filled"]})", "url");
  refused(R"({"url": "http://user@127.0.0.1/", "events": ["order.filled"]})", "url");
  refused(R"({"url": "http://127.0.0.1/a#b", "events": ["order.filled"]})", "url");
  refused(R"({"url": "http://127.0.0.1/a b", "events": ["order.filled"]})", "url");
  refused("{\"url\": \"http://127.0.0.1/a\\u0000b\", \"events\": [\"order.filled\"]}", "url");
  refused(R"({"url": "http://127.0.0.1/", "events": []})", "events");
  refused(R"({"url": "http://127.0.0.1/", "events": ["order.filed"]})", "events");
  refused(R"({"url": "http://127.0.0.1/", "events": ["order.filled", "order.filled"]})", "events");
  refused(R"({"url": "http://127.0.0.1/", "events": ["balance.low"]})", "balance_low_micros");
  refused(R"({"url": "http://127.0.0.1/", "events": ["order.filled"], "balance_low_micros": 5})",
          "balance_low_micros");
  refused(R"({"url": "http://127.0.0.1/", "events": ["order.filled"], "secret": "mine"})",
          "secret");
  EXPECT_EQ(sql_count("SELECT count(*) FROM webhook_endpoints"), 0);

  // Sixteen endpoints an account; a supplier's are its own; the operator has none.
  for (int i = 0; i < 16; ++i)
    endpoint(key, 9, R"(["order.filled"])");
  EXPECT_EQ(call(http::verb::post, "/v1/webhooks", key,
                 R"({"url": "http://127.0.0.1:9/", "events": ["order.filled"]})")
                .status,
            409u);
  const Reply listed = call(http::verb::get, "/v1/webhooks", key);
  ASSERT_EQ(listed.status, 200u);
  EXPECT_EQ(listed.json["endpoints"].Size(), 16u);
  EXPECT_EQ(listed.body.find("whsec_"), std::string::npos) << "a secret is never listed";
  EXPECT_EQ(call(http::verb::get, "/v1/webhooks", operator_key_.token()).status, 403u);
  const auto [other, other_key] = buyer();
  const std::string first = std::to_string(listed.json["endpoints"][0]["endpoint_id"].GetInt64());
  EXPECT_EQ(call(http::verb::delete_, "/v1/webhooks/" + first, other_key).status, 404u);
  EXPECT_EQ(call(http::verb::get, "/v1/webhooks/" + first + "/deliveries", other_key).status, 404u);
  EXPECT_EQ(call(http::verb::delete_, "/v1/webhooks/" + first, key).status, 200u);
  EXPECT_EQ(call(http::verb::delete_, "/v1/webhooks/" + first, key).status, 404u);
  EXPECT_EQ(call(http::verb::get, "/v1/webhooks", key).json["endpoints"].Size(), 15u);
}

TEST_F(Webhooks, EachAccountHearsItsOwnEventsSigned) {
  testing::WebhookReceiver receiver;
  const auto [buyer_id, buyer_key] = buyer();
  const auto [supplier_id, supplier_key] = account("supplier");
  const auto [bystander, bystander_key] = buyer();
  fund(buyer_id, 100'000'000);
  const auto [buyer_hook, buyer_secret] =
      endpoint(buyer_key, receiver.port(),
               R"(["order.filled", "lease.started", "balance.low", "order.expired"])",
               R"(, "balance_low_micros": 99500000)");
  const auto [supplier_hook, supplier_secret] =
      endpoint(supplier_key, receiver.port(), R"(["lease.started", "lease.ended"])");
  const auto [bystander_hook, bystander_secret] =
      endpoint(bystander_key, receiver.port(), R"(["order.filled", "lease.started"])");
  trade(buyer_key, supplier_key);
  // Still below the threshold: no second balance.low. An immediate-or-cancel
  // order that finds nothing expires; the buyer stops its lease.
  const Reply second = call(http::verb::post, "/v1/orders", buyer_key,
                            R"({"pool": "H100-SXM-80G", "cards": 1, "duration_seconds": 3600,
                                "limit_micros_per_hour": 100000, "regions": ["eu-west"],
                                "immediate_or_cancel": true})");
  ASSERT_EQ(second.status, 201u) << second.body;
  const Reply leases = call(http::verb::get, "/v1/leases", buyer_key);
  ASSERT_EQ(leases.status, 200u) << leases.body;
  ASSERT_EQ(leases.json["leases"].Size(), 1u) << leases.body;
  const auto lease = leases.json["leases"][0]["lease_id"].GetUint64();
  ASSERT_EQ(
      call(http::verb::post, "/v1/leases/" + std::to_string(lease) + "/stop", buyer_key).status,
      200u);
  const Reply registered = call(http::verb::put, "/v1/webhooks", buyer_key, "{}");
  EXPECT_EQ(registered.status, 405u);

  // The buyer: filled, started, its cash fell below 99.50 $ by the order's
  // hold, and the second order expired. The supplier: started and ended.
  ASSERT_TRUE(eventually([&] { return receiver.received().size() >= 6; }))
      << receiver.received().size() << " deliveries";
  std::this_thread::sleep_for(500ms);  // nothing more should come
  const auto hooks = receiver.received();
  ASSERT_EQ(hooks.size(), 6u);
  std::map<std::string, int> by_type;
  std::set<std::string> lease_ids;
  for (const auto& hook : hooks) {
    EXPECT_EQ(hook.target, "/hooks?x=1");
    rapidjson::Document body;
    body.Parse(hook.body.c_str());
    ASSERT_TRUE(body.IsObject()) << hook.body;
    EXPECT_EQ(hook.event_id, body["id"].GetString());
    EXPECT_EQ(hook.type, body["type"].GetString());
    const auto owner = body["account_id"].GetUint64();
    EXPECT_TRUE(signed_by(owner == buyer_id ? buyer_secret : supplier_secret, hook)) << hook.body;
    EXPECT_FALSE(signed_by(bystander_secret, hook));
    EXPECT_NE(owner, bystander);
    ++by_type[hook.type + (owner == buyer_id ? "/buyer" : "/supplier")];
    const auto& data = body["data"];
    if (hook.type == "lease.started") {
      // A supplier is told about its leases, never who its buyers are.
      EXPECT_EQ(data.HasMember("buyer_id"), owner == buyer_id) << hook.body;
      EXPECT_EQ(data.HasMember("order_id"), owner == buyer_id) << hook.body;
      EXPECT_EQ(data["supplier_id"].GetUint64(), supplier_id);
      EXPECT_EQ(data["cards"].GetInt(), 2);
      EXPECT_EQ(data["price_micros_per_card_hour"].GetInt64(), 2'000'000);
      lease_ids.insert(std::to_string(data["lease_id"].GetUint64()));
    }
    if (hook.type == "lease.ended") {
      EXPECT_EQ(data["lease_id"].GetUint64(), lease);
      EXPECT_STREQ(data["reason"].GetString(), "stopped");
      EXPECT_GT(data["billable_end"].GetInt64(), 0);
      EXPECT_FALSE(data.HasMember("buyer_id")) << hook.body;
    }
    if (hook.type == "order.expired") {
      EXPECT_EQ(data["order_id"].GetUint64(), second.json["order_id"].GetUint64());
      EXPECT_EQ(data["cards_cancelled"].GetInt(), 1);
      EXPECT_STREQ(data["reason"].GetString(), "immediate_or_cancel");
    }
    if (hook.type == "balance.low") {
      EXPECT_LT(body["data"]["cash_micros"].GetInt64(), 99'500'000);
      EXPECT_EQ(body["data"]["threshold_micros"].GetInt64(), 99'500'000);
    }
  }
  EXPECT_EQ(by_type["order.filled/buyer"], 1);
  EXPECT_EQ(by_type["lease.started/buyer"], 1);
  EXPECT_EQ(by_type["balance.low/buyer"], 1);
  EXPECT_EQ(by_type["lease.started/supplier"], 1);
  EXPECT_EQ(by_type["lease.ended/supplier"], 1);
  EXPECT_EQ(by_type["order.expired/buyer"], 1);
  EXPECT_EQ(lease_ids.size(), 1u) << "both sides hear of the same lease";

  // The log says delivered, first time (once the answers are recorded).
  const std::string log_path = "/v1/webhooks/" + std::to_string(buyer_hook) + "/deliveries";
  ASSERT_TRUE(eventually([&] {
    return call(http::verb::get, log_path + "?state=delivered", buyer_key)
               .json["deliveries"]
               .Size() == 4;
  }));
  const Reply log = call(http::verb::get, log_path, buyer_key);
  ASSERT_EQ(log.status, 200u) << log.body;
  ASSERT_EQ(log.json["deliveries"].Size(), 4u) << log.body;
  for (const auto& row : log.json["deliveries"].GetArray()) {
    EXPECT_STREQ(row["status"].GetString(), "delivered");
    EXPECT_EQ(row["attempts"].GetInt(), 1);
    EXPECT_EQ(row["last_status_code"].GetInt(), 200);
  }
  // Paging: one at a time, newest first, to the end.
  const Reply page =
      call(http::verb::get,
           "/v1/webhooks/" + std::to_string(buyer_hook) + "/deliveries?limit=2&state=delivered",
           buyer_key);
  ASSERT_EQ(page.json["deliveries"].Size(), 2u);
  const Reply rest = call(http::verb::get,
                          "/v1/webhooks/" + std::to_string(buyer_hook) +
                              "/deliveries?limit=2&cursor=" + page.json["next_cursor"].GetString(),
                          buyer_key);
  ASSERT_EQ(rest.json["deliveries"].Size(), 2u);
  EXPECT_TRUE(rest.json["next_cursor"].IsNull());
  EXPECT_EQ(call(http::verb::get,
                 "/v1/webhooks/" + std::to_string(buyer_hook) + "/deliveries?state=lost", buyer_key)
                .status,
            400u);
}

TEST_F(Webhooks, AReceiverThatIsDownGetsEverythingWhenItIsBack) {
  std::uint16_t port = 0;
  { port = testing::WebhookReceiver().port(); }  // a port nobody listens on now
  const auto [buyer_id, buyer_key] = buyer();
  const auto [supplier_id, supplier_key] = account("supplier");
  fund(buyer_id, 100'000'000);
  const auto [hook, secret] =
      endpoint(buyer_key, port, R"(["order.filled", "lease.started", "order.cancelled"])");
  trade(buyer_key, supplier_key);
  place_and_cancel(buyer_key);
  // Refused connections, then 503s: every delivery waits, none is lost.
  ASSERT_TRUE(eventually([&] {
    return sql_count(
               "SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = $1"
               " AND attempts >= 2",
               static_cast<long long>(hook)) >= 1;
  }));
  testing::WebhookReceiver receiver([](std::size_t n) { return n < 2 ? 503u : 200u; },
                                    std::chrono::milliseconds{0}, port);
  ASSERT_TRUE(eventually(
      [&] {
        return sql_count(
                   "SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = $1"
                   " AND status = 'delivered'",
                   static_cast<long long>(hook)) == 3;
      },
      60s));
  std::set<std::string> seen;
  for (const auto& received : receiver.received()) {
    EXPECT_TRUE(signed_by(secret, received));
    seen.insert(received.type);
  }
  EXPECT_EQ(seen, (std::set<std::string>{"order.filled", "lease.started", "order.cancelled"}));
  const Reply log =
      call(http::verb::get, "/v1/webhooks/" + std::to_string(hook) + "/deliveries", buyer_key);
  bool retried = false;
  for (const auto& row : log.json["deliveries"].GetArray())
    retried = retried || row["attempts"].GetInt() > 1;
  EXPECT_TRUE(retried) << log.body;
}

TEST_F(Webhooks, ADeadEndpointBacksOffAsAWholeAndDeletingItFailsItsBacklog) {
  std::uint16_t port = 0;
  { port = testing::WebhookReceiver().port(); }  // a port nobody listens on now
  const auto [buyer_id, buyer_key] = buyer();
  fund(buyer_id, 100'000'000);
  const auto [hook, secret] = endpoint(buyer_key, port, R"(["order.cancelled"])");
  place_and_cancel(buyer_key);
  const auto failures = [&] {
    return sql_count("SELECT consecutive_failures FROM webhook_endpoints WHERE endpoint_id = $1",
                     static_cast<long long>(hook));
  };
  ASSERT_TRUE(eventually([&] { return failures() >= 1; }));
  // Born while the endpoint backs off, new deliveries wait for its retry.
  for (int i = 0; i < 5; ++i)
    place_and_cancel(buyer_key);
  EXPECT_EQ(sql_count("SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = $1"
                      " AND next_attempt_at = 0",
                      static_cast<long long>(hook)),
            0);
  // One probe at a time: every attempt is a failure counted (the one in
  // flight aside), not one attempt per delivery.
  std::this_thread::sleep_for(3s);
  const long long tried =
      sql_count("SELECT sum(attempts) FROM webhook_deliveries WHERE endpoint_id = $1",
                static_cast<long long>(hook));
  EXPECT_LE(tried, failures() + 1);
  EXPECT_EQ(sql_count("SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = $1"
                      " AND status = 'pending'",
                      static_cast<long long>(hook)),
            6);
  // Deleting the endpoint fails its backlog; nothing is sent any more.
  ASSERT_EQ(call(http::verb::delete_, "/v1/webhooks/" + std::to_string(hook), buyer_key).status,
            200u);
  EXPECT_EQ(sql_count("SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = $1"
                      " AND status = 'failed' AND last_error = 'endpoint deleted'",
                      static_cast<long long>(hook)),
            6);
  const long long attempts =
      sql_count("SELECT sum(attempts) FROM webhook_deliveries WHERE endpoint_id = $1",
                static_cast<long long>(hook));
  std::this_thread::sleep_for(3s);
  EXPECT_EQ(sql_count("SELECT sum(attempts) FROM webhook_deliveries WHERE endpoint_id = $1",
                      static_cast<long long>(hook)),
            attempts);
  EXPECT_EQ(sql_count("SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = $1"
                      " AND status <> 'failed'",
                      static_cast<long long>(hook)),
            0)
      << "a late result never revives a deleted endpoint's delivery";
}

TEST_F(Webhooks, ARetriedRegistrationMakesOneEndpoint) {
  const auto [account, key] = buyer();
  const std::string body = R"({"url": "http://127.0.0.1:9/in", "events": ["order.filled"]})";
  const Reply first =
      call(http::verb::post, "/v1/webhooks", key, body, {{"Idempotency-Key", "hook-1"}});
  ASSERT_EQ(first.status, 201u) << first.body;
  EXPECT_EQ(std::string(first.json["secret"].GetString()).rfind("whsec_", 0), 0u);
  const Reply again =
      call(http::verb::post, "/v1/webhooks", key, body, {{"Idempotency-Key", "hook-1"}});
  ASSERT_EQ(again.status, 201u) << again.body;
  EXPECT_EQ(again.json["endpoint_id"].GetInt64(), first.json["endpoint_id"].GetInt64());
  EXPECT_EQ(again.body.find("whsec_"), std::string::npos) << "the secret is shown once";
  EXPECT_EQ(call(http::verb::get, "/v1/webhooks", key).json["endpoints"].Size(), 1u);
}

// Where a webhook may be sent when targets are not insecure (production).
TEST(WebhookTargets, OnlyHttpsToPublicAddresses) {
  const auto refused = [](const std::string& url) {
    return webhooks::url_problem(url, false).has_value();
  };
  EXPECT_FALSE(refused("https://hooks.example.com/in?token=1"));
  EXPECT_FALSE(refused("https://203.0.114.9:8443/"));
  EXPECT_TRUE(refused("http://hooks.example.com/in"));
  for (const char* url : {"https://127.0.0.1/",
                          "https://10.1.2.3/",
                          "https://192.168.0.1/",
                          "https://172.20.0.1/",
                          "https://169.254.169.254/latest/meta-data",
                          "https://100.64.0.1/",
                          "https://0.0.0.0/",
                          "https://[::1]/",
                          "https://[::]/",
                          "https://[fd00::1]/",
                          "https://[fe80::1]/",
                          "https://[::ffff:127.0.0.1]/",
                          "https://[::ffff:0:10.0.0.1]/",
                          "https://[::10.0.0.1]/",
                          "https://[64:ff9b::7f00:1]/",
                          "https://[2002:7f00:1::]/",
                          "https://[2001::1]/",
                          "https://[2001:db8::1]/",
                          "https://224.0.0.1/",
                          "https://127.1/",
                          "https://2130706433/",
                          "https://0x7f000001/",
                          "https://017700000001/",
                          "https://10.1/",
                          "https://localhost/",
                          "https://LocalHost./x",
                          "https://hooks.localhost/"}) {
    EXPECT_TRUE(refused(url)) << url;
  }
  EXPECT_FALSE(refused("https://localhost.example.com/"));
  EXPECT_FALSE(refused("https://8.8.8.8/"));
  EXPECT_FALSE(refused("https://[2606:4700::1111]/"));
  // Malformed, or bytes a resolver or a log might read otherwise.
  for (const char* url :
       {"https://user@host/", "https://host/a#b", "https://host/a b", "https://hÃ©st.example/",
        "https://host:0/", "https://host:99999/", "https:///path", "hooks.example.com/in"}) {
    EXPECT_TRUE(refused(url)) << url;
  }
  EXPECT_TRUE(refused(std::string("https://host/") + std::string(2'100, 'a')));
  const auto parsed = client::parse_endpoint_url("https://hooks.example.com:8443?x=1");
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->target.port, 8443);
  EXPECT_EQ(parsed->path, "/?x=1");
}

TEST(WebhookTargets, TheSignatureIsTheDocumentedHmac) {
  // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
  EXPECT_EQ(webhooks::signature_header("Jefe", 42, "what do ya want for nothing?"),
            "t=42,v1=" + util::hmac_sha256_hex("Jefe", "42.what do ya want for nothing?"));
  EXPECT_EQ(util::hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

}  // namespace
}  // namespace spotgrid::gateway
