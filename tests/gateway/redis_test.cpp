// The gateway with Redis: a token bucket per key, idempotency keys on POST
// (decided by PostgreSQL, so Redis outages and restarts change nothing), the
// rate limit carrying on in a local bucket through a Redis outage and picking
// Redis up again.
#include "private_redis.hpp"
#include "service_harness.hpp"
#include "ws_client.hpp"

namespace spotgrid::gateway {
namespace {

// Started before the service (bases are built in order).
struct RedisFirst {
  testing::PrivateRedis redis;
};

constexpr std::uint32_t kRate = 10;

class WithRedis : public RedisFirst, public ServiceHarness {
 protected:
  WithRedis()
      : ServiceHarness([this](Settings& s) {
          s.redis_port = redis.port();
          s.redis_timeout = 200ms;
          s.rate_per_second = kRate;
          s.rate_burst = kRate;
        }) {}

  // Requests until one is refused; how many got through (at most `most`).
  int served_before_429(const std::string& key, int most, Reply* refused) {
    for (int i = 0; i < most; ++i) {
      Reply reply = call(http::verb::get, "/v1/account", key);
      if (reply.status == 429) {
        *refused = std::move(reply);
        return i;
      }
      EXPECT_EQ(reply.status, 200u) << reply.body;
    }
    return most;
  }

  Reply deposit(std::uint64_t account, const std::string& idempotency_key, long long micros) {
    return call(http::verb::post, "/v1/accounts/" + std::to_string(account) + "/deposits",
                operator_key_.token(), R"({"amount_micros": )" + std::to_string(micros) + "}",
                {{"Idempotency-Key", idempotency_key}});
  }
};

TEST_F(WithRedis, ABurstBeyondTheBucketGets429WithRetryAfter) {
  const auto [account, key] = buyer();
  Reply refused;
  // The bucket holds kRate tokens and refills at kRate/s: a fast burst gets
  // about kRate through (one more if a refill lands during the burst).
  const int served = served_before_429(key, 50, &refused);
  EXPECT_GE(served, static_cast<int>(kRate));
  EXPECT_LE(served, static_cast<int>(kRate) + 2);
  EXPECT_EQ(refused.status, 429u);
  EXPECT_STREQ(refused.json["error"]["code"].GetString(), "rate_limited");
  EXPECT_EQ(refused.raw.header("Retry-After"), "1");
  // Buckets are per key: another key is unaffected.
  const auto [other, other_key] = buyer();
  EXPECT_EQ(call(http::verb::get, "/v1/account", other_key).status, 200u);
  // And the bucket refills.
  std::this_thread::sleep_for(1100ms);
  EXPECT_EQ(call(http::verb::get, "/v1/account", key).status, 200u);
}

TEST_F(WithRedis, AnIdempotencyKeyRunsThePostOnce) {
  const auto [account, key] = buyer();
  const Reply first = deposit(account, "deposit-1", 7'000'000);
  ASSERT_EQ(first.status, 201u) << first.body;
  const Reply again = deposit(account, "deposit-1", 7'000'000);
  EXPECT_EQ(again.status, 201u);
  EXPECT_EQ(again.body, first.body);
  EXPECT_EQ(again.raw.header("Idempotent-Replayed"), "true");
  EXPECT_EQ(ledger_cash(account), 7'000'000);
  // The same key with another body is refused and changes nothing.
  const Reply other = deposit(account, "deposit-1", 9'000'000);
  EXPECT_EQ(other.status, 422u);
  EXPECT_STREQ(other.json["error"]["code"].GetString(), "idempotency_key_reused");
  const Reply bad = deposit(account, std::string(300, 'k'), 1);
  EXPECT_EQ(bad.status, 400u);
  EXPECT_STREQ(bad.json["error"]["field"].GetString(), "Idempotency-Key");
  EXPECT_EQ(ledger_cash(account), 7'000'000);
  // A request refused before it ran (400) stores nothing: the retry runs again
  // and is refused the same way.
  EXPECT_EQ(deposit(account, "deposit-2", -1).status, 400u);
  const Reply refused_again = deposit(account, "deposit-2", -1);
  EXPECT_EQ(refused_again.status, 400u);
  EXPECT_EQ(refused_again.raw.header("Idempotent-Replayed"), "");
}

// Redis is restarted (empty) between a request and its retry: PostgreSQL
// decides, so the retry gets the first answer and the deposit applies once.
TEST_F(WithRedis, ARetryAfterARedisRestartGetsTheFirstAnswer) {
  const auto [account, key] = buyer();
  const Reply first = deposit(account, "restart-1", 5'000'000);
  ASSERT_EQ(first.status, 201u) << first.body;
  redis.stop();
  redis.start();
  std::this_thread::sleep_for(700ms);  // past the gateway's reconnect pause
  const Reply again = deposit(account, "restart-1", 5'000'000);
  EXPECT_EQ(again.status, 201u);
  EXPECT_EQ(again.body, first.body);
  EXPECT_EQ(again.raw.header("Idempotent-Replayed"), "true");
  EXPECT_EQ(ledger_cash(account), 5'000'000);
}

// A route that mints a credential answers it once: the stored answer (and so
// a replay) says it was shown once, and no key material is in PostgreSQL.
TEST_F(WithRedis, NoSecretIsStoredWithAnIdempotencyKey) {
  const std::string body = R"({"name": "keyed", "role": "buyer"})";
  const Reply first = call(http::verb::post, "/v1/accounts", operator_key_.token(), body,
                           {{"Idempotency-Key", "account-1"}});
  ASSERT_EQ(first.status, 201u) << first.body;
  const std::string token = first.json["api_key"].GetString();
  const std::string secret = token.substr(token.rfind('_') + 1);
  const Reply again = call(http::verb::post, "/v1/accounts", operator_key_.token(), body,
                           {{"Idempotency-Key", "account-1"}});
  EXPECT_EQ(again.status, 201u);
  EXPECT_EQ(again.raw.header("Idempotent-Replayed"), "true");
  EXPECT_EQ(again.json["account_id"].GetUint64(), first.json["account_id"].GetUint64());
  EXPECT_EQ(again.body.find(secret), std::string::npos) << again.body;
  EXPECT_EQ(
      sql_count("SELECT count(*) FROM idempotency_keys WHERE position($1 in response) > 0", secret),
      0);
  EXPECT_EQ(sql_count("SELECT count(*) FROM idempotency_keys"), 1);
}

TEST_F(WithRedis, WithRedisDownTheGatewayServesAndRecoversByItself) {
  const auto [account, key] = buyer();
  redis.stop();
  // The rate limit carries on in this process's own bucket.
  Reply refused;
  const int served_alone = served_before_429(key, 3 * static_cast<int>(kRate), &refused);
  EXPECT_GE(served_alone, static_cast<int>(kRate));
  EXPECT_LE(served_alone, static_cast<int>(kRate) + 2);
  EXPECT_EQ(refused.status, 429u);
  std::this_thread::sleep_for(1100ms);  // refilled, for the deposits below
  // Idempotency falls back to PostgreSQL.
  const Reply first = deposit(account, "outage-1", 3'000'000);
  ASSERT_EQ(first.status, 201u) << first.body;
  const Reply again = deposit(account, "outage-1", 3'000'000);
  EXPECT_EQ(again.body, first.body);
  EXPECT_EQ(again.raw.header("Idempotent-Replayed"), "true");
  EXPECT_EQ(ledger_cash(account), 3'000'000);

  redis.start();                       // same port, empty: the gateway reconnects by itself
  std::this_thread::sleep_for(700ms);  // past the reconnect pause
  // The key taken during the outage still binds.
  const Reply after = deposit(account, "outage-1", 3'000'000);
  EXPECT_EQ(after.body, first.body);
  EXPECT_EQ(after.raw.header("Idempotent-Replayed"), "true");
  EXPECT_EQ(deposit(account, "outage-1", 4'000'000).status, 422u);
  EXPECT_EQ(ledger_cash(account), 3'000'000);
  // The rate limit is back.
  int served = 0;
  for (int attempt = 0; attempt < 20 && served == 0; ++attempt) {
    served = served_before_429(key, 50, &refused);
    if (served == 50) served = 0, std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(refused.status, 429u);
  const Reply metrics = call(http::verb::get, "/metrics", "");
  EXPECT_EQ(metrics.body.find("spotgrid_rate_limit_local_fallbacks_total 0\n"), std::string::npos);
  EXPECT_NE(metrics.body.find("spotgrid_commands_refused_total 0\n"), std::string::npos);
}

// A revoked key stops working within a second, with no restart.
TEST_F(WithRedis, ARevokedKeyIsRefusedWithinASecond) {
  const auto [account, key] = buyer();
  ASSERT_EQ(call(http::verb::get, "/v1/account", key).status, 200u);
  testing::WsClient stream(service_.port(), key);
  ASSERT_EQ(stream.refused_status(), 0u);
  {
    pqxx::connection connection(db_.conninfo());
    pqxx::work txn(connection);
    txn.exec_params("UPDATE api_keys SET revoked_at = now() WHERE key_id = $1", key.substr(3, 16));
    txn.commit();
  }
  std::this_thread::sleep_for(1'100ms);
  EXPECT_EQ(call(http::verb::get, "/v1/account", key).status, 401u);
  // Its open stream is closed too (policy violation), within about a second.
  for (int i = 0; i < 30 && !stream.closed(); ++i)
    stream.receive(100ms);
  EXPECT_TRUE(stream.closed());
  EXPECT_EQ(stream.close_code(), 1008);
}

// Per client address, before any key is looked up: a flood from one address
// is refused even with made-up keys, and the refusals need no Redis.
class AddressLimit : public ServiceHarness {
 protected:
  AddressLimit()
      : ServiceHarness([](Settings& s) {
          s.rate_per_address_per_second = 5;
          s.rate_per_address_burst = 5;
        }) {}
};

TEST_F(AddressLimit, OneAddressGetsItsBurstThen429) {
  int served = 0;
  Reply refused;
  for (int i = 0; i < 20; ++i) {
    Reply reply = call(http::verb::get, "/v1/account", generate_api_key().token());
    if (reply.status == 429) {
      refused = std::move(reply);
      break;
    }
    EXPECT_EQ(reply.status, 401u);
    ++served;
  }
  EXPECT_GE(served, 5);
  EXPECT_LE(served, 6);
  EXPECT_EQ(refused.status, 429u);
  EXPECT_STREQ(refused.json["error"]["code"].GetString(), "rate_limited");
  EXPECT_FALSE(refused.raw.header("Retry-After").empty());
}

}  // namespace
}  // namespace spotgrid::gateway
