// WebSocket /v1/stream end to end: keys, subscriptions, an order's events on
// the buyer's own channels and nobody else's, public market data, protocol
// errors and close codes, and the fan-out through Redis to a second gateway.
#include "private_redis.hpp"
#include "service_harness.hpp"
#include "ws_client.hpp"

namespace spotgrid::gateway {
namespace {

using testing::WsClient;
constexpr auto kWait = 5s;

class Stream : public ServiceHarness {
 protected:
  // A stream of `key` subscribed to `channels` (a JSON array), confirmed.
  std::unique_ptr<WsClient> subscribed(const std::string& key, const std::string& channels) {
    auto client = std::make_unique<WsClient>(service_.port(), key);
    EXPECT_EQ(client->refused_status(), 0u);
    client->send_text(R"({"op": "subscribe", "channels": )" + channels + "}");
    EXPECT_TRUE(client->receive_containing(R"("type":"subscribed")", kWait));
    return client;
  }

  Reply place_order(const std::string& key, int cards) {
    return call(http::verb::post, "/v1/orders", key,
                R"({"pool": "H100-SXM-80G", "cards": )" + std::to_string(cards) +
                    R"(, "duration_seconds": 3600, "limit_micros_per_hour": 3000000})");
  }
};

TEST_F(Stream, TheUpgradeNeedsAValidKeyOrNoneAndThePath) {
  // No key: the public's stream (market data only; see
  // Console.ThePublicStreamCarriesMarketDataOnly). A bad key or ticket: refused.
  EXPECT_EQ(WsClient(service_.port(), "").refused_status(), 0u);
  EXPECT_EQ(WsClient(service_.port(), generate_api_key().token()).refused_status(), 401u);
  EXPECT_EQ(WsClient(service_.port(), "", "/v1/stream?ticket=00ff").refused_status(), 401u);
  // Two tickets, or a parameter the stream does not read: which one a proxy
  // would take is unknown, so neither is taken.
  EXPECT_EQ(WsClient(service_.port(), "", "/v1/stream?ticket=00ff&ticket=ff00").refused_status(),
            400u);
  EXPECT_EQ(WsClient(service_.port(), "", "/v1/stream?%74icket=00ff").refused_status(), 400u);
  const auto [account, key] = buyer();
  EXPECT_EQ(WsClient(service_.port(), key, "/v1/elsewhere").refused_status(), 404u);
  EXPECT_EQ(WsClient(service_.port(), key).refused_status(), 0u);
  // Without the upgrade, the route says what it wants.
  const Reply plain = call(http::verb::get, "/v1/stream", key);
  EXPECT_EQ(plain.status, 426u);
  EXPECT_EQ(plain.raw.header("Upgrade"), "websocket");
}

TEST_F(Stream, AnOrdersEventsReachItsBuyerAndTheMarketDataEveryone) {
  const auto [supplier_id, supplier] = account("supplier");
  const auto [buyer_id, buyer_key] = buyer();
  const auto [other_id, other_key] = buyer();
  fund(buyer_id, 500'000'000);
  auto mine = subscribed(buyer_key, R"(["orders", "leases", "trades:H100-SXM-80G"])");
  auto theirs = subscribed(other_key, R"(["orders", "leases"])");
  auto seller = subscribed(supplier, R"(["leases"])");
  auto watcher = subscribed(other_key, R"(["book:H100-SXM-80G"])");

  list_supply(supplier, 4, 2'500'000);
  // The book shows the new listing (a conflated depth snapshot).
  const auto depth = watcher->receive_containing("2500000", kWait);
  ASSERT_TRUE(depth);
  EXPECT_NE(depth->find(R"("channel":"book:H100-SXM-80G")"), std::string::npos);

  const Reply order = place_order(buyer_key, 2);
  ASSERT_EQ(order.status, 201u) << order.body;
  const std::string order_id = std::to_string(order.json["order_id"].GetUint64());
  const auto accepted = mine->receive_containing(R"("kind":"order_accepted")", kWait);
  ASSERT_TRUE(accepted);
  EXPECT_NE(accepted->find(R"("order":)" + order_id), std::string::npos);
  EXPECT_NE(accepted->find(R"("channel":"orders")"), std::string::npos);
  const auto trade = mine->receive_containing(R"("channel":"trades:H100-SXM-80G")", kWait);
  ASSERT_TRUE(trade);
  EXPECT_NE(trade->find(R"("price_micros_per_card_hour":2500000)"), std::string::npos);
  EXPECT_EQ(trade->find("buyer"), std::string::npos);  // trades are anonymous
  const auto sold = seller->receive_containing(R"("kind":"lease_started")", kWait);
  ASSERT_TRUE(sold);
  // A supplier learns of its lease, not who the buyer is.
  EXPECT_EQ(sold->find(R"("buyer":)"), std::string::npos) << *sold;
  EXPECT_EQ(sold->find(R"("order":)"), std::string::npos) << *sold;

  // Stopping the lease reaches both sides.
  const auto lease = order.json["leases"][0]["lease_id"].GetUint64();
  ASSERT_EQ(
      call(http::verb::post, "/v1/leases/" + std::to_string(lease) + "/stop", buyer_key).status,
      200u);
  EXPECT_TRUE(mine->receive_containing(R"("kind":"lease_ended")", kWait));
  EXPECT_TRUE(seller->receive_containing(R"("kind":"lease_ended")", kWait));
  // The other buyer saw none of it: a ping's pong is the first thing it gets.
  theirs->send_text(R"({"op": "ping"})");
  const auto first = theirs->receive(kWait);
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, R"({"type":"pong"})");
}

TEST_F(Stream, BadMessagesGetErrorsAndBadFramesCloseCodes) {
  const auto [account, key] = buyer();
  WsClient client(service_.port(), key);
  ASSERT_EQ(client.refused_status(), 0u);
  const auto error_for = [&](const std::string& message) {
    client.send_text(message);
    const auto answer = client.receive(kWait);
    return answer ? *answer : std::string("(nothing)");
  };
  EXPECT_NE(error_for("{not json").find(R"("code":"invalid_json")"), std::string::npos);
  EXPECT_NE(error_for(R"({"op": "dance"})").find("invalid_field"), std::string::npos);
  EXPECT_NE(error_for(R"({"op": "subscribe", "channels": ["book:Z80"]})").find("invalid_channel"),
            std::string::npos);
  EXPECT_NE(error_for(R"({"op": "subscribe", "channels": ["orders:1"]})").find("invalid_channel"),
            std::string::npos);
  EXPECT_NE(error_for(R"({"op": "subscribe", "channels": "orders"})").find("invalid_field"),
            std::string::npos);
  EXPECT_NE(error_for(R"({"op": "subscribe", "channels": ["x"], "more": 1})").find("invalid_field"),
            std::string::npos);
  EXPECT_EQ(error_for(R"({"op": "ping"})"), R"({"type":"pong"})");  // still open
  client.send_binary("\x01\x02");
  EXPECT_FALSE(client.receive(kWait));
  EXPECT_EQ(client.close_code(), 1003);

  WsClient big(service_.port(), key);
  big.send_text(std::string(8'000, ' '));
  EXPECT_FALSE(big.receive(kWait));
  EXPECT_EQ(big.close_code(), 1009);

  WsClient platform(service_.port(), operator_key_.token());
  platform.send_text(R"({"op": "subscribe", "channels": ["orders"]})");
  const auto refused = platform.receive(kWait);
  ASSERT_TRUE(refused);
  EXPECT_NE(refused->find("invalid_channel"), std::string::npos);
}

// Two gateways on one database and one Redis: the second does not own the
// market (the first holds its lock: it stands by) but serves the same streams,
// fed through Redis pub/sub.
struct RedisFirst {
  testing::PrivateRedis redis;
};

class TwoGateways : public RedisFirst, public ServiceHarness {
 protected:
  TwoGateways()
      : ServiceHarness([this](Settings& s) { s.redis_port = redis.port(); }),
        second_(settings([this](Settings& s) { s.redis_port = redis.port(); })) {
    second_.start();
  }

  Service second_;
};

TEST_F(TwoGateways, MarketDataFansOutThroughRedisToEveryGateway) {
  ASSERT_TRUE(service_.market_status().ready);
  EXPECT_FALSE(second_.market_status().ready);  // standing by
  const auto [supplier_id, supplier] = account("supplier");
  const auto [buyer_id, buyer_key] = buyer();
  fund(buyer_id, 500'000'000);
  // Both gateways' subscribers connect to Redis by themselves; wait until the
  // first gateway's metrics say its feed is subscribed.
  for (int i = 0; i < 100; ++i) {
    if (call(http::verb::get, "/metrics", "").body.find("spotgrid_feed_redis_subscribed 1") !=
        std::string::npos)
      break;
    std::this_thread::sleep_for(50ms);
  }
  WsClient far(second_.port(), buyer_key);
  ASSERT_EQ(far.refused_status(), 0u);
  far.send_text(R"({"op": "subscribe", "channels": ["orders", "trades:H100-SXM-80G"]})");
  ASSERT_TRUE(far.receive_containing(R"("type":"subscribed")", kWait));
  std::this_thread::sleep_for(300ms);  // the second gateway's Redis subscription

  list_supply(supplier, 4, 2'500'000);
  const Reply order = call(http::verb::post, "/v1/orders", buyer_key,
                           R"({"pool": "H100-SXM-80G", "cards": 2, "duration_seconds": 3600,
               "limit_micros_per_hour": 3000000})");
  ASSERT_EQ(order.status, 201u) << order.body;
  EXPECT_TRUE(far.receive_containing(R"("kind":"order_accepted")", kWait));
  EXPECT_TRUE(far.receive_containing(R"("channel":"trades:H100-SXM-80G")", kWait));
}

// The per-key rate limit is shared: two gateways together pass about the
// rate, not twice it (each decides in memory; Redis counts per second).
class TwoRateLimitedGateways : public RedisFirst, public ServiceHarness {
 protected:
  static constexpr std::uint32_t kRate = 10;
  TwoRateLimitedGateways()
      : ServiceHarness([this](Settings& s) { limited(s, redis.port()); }),
        second_(settings([this](Settings& s) { limited(s, redis.port()); })) {
    second_.start();
  }
  // Static: it runs while the base class is built (no member call on `this` yet).
  static void limited(Settings& s, std::uint16_t redis_port) {
    s.redis_port = redis_port;
    s.rate_per_second = kRate;
    s.rate_burst = kRate;
  }

  Service second_;
};

TEST_F(TwoRateLimitedGateways, TogetherTheyPassAboutTheRate) {
  const auto [account, key] = buyer();
  int served = 0;
  const auto end = std::chrono::steady_clock::now() + 4s;
  for (int i = 0; std::chrono::steady_clock::now() < end; ++i) {
    const std::uint16_t port = i % 2 == 0 ? service_.port() : second_.port();
    const testing::HttpReply reply =
        testing::http_call(port, testing::HttpCall{"GET", "/v1/account", key, "", {}, tls_});
    if (reply.status != 429) ++served;
    std::this_thread::sleep_for(10ms);
  }
  // Alone, each would pass its burst and then kRate a second: 100 in all.
  // Shared, each wall-clock second passes about kRate, plus what gets through
  // in the 100 ms before the count is shared (and the first bursts).
  std::printf("served %d of 4 s at kRate %u\n", served, kRate);
  EXPECT_GE(served, static_cast<int>(3 * kRate));
  EXPECT_LE(served, static_cast<int>(8 * kRate));
}

}  // namespace
}  // namespace spotgrid::gateway
