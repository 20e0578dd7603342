// The bad-input suite (issue 12): a bounded, seeded fuzz run over every route
// of the OpenAPI document and both WebSockets, with input an attacker would
// send: wrong types, missing, extra and duplicate fields, nesting 10^5 deep,
// numbers like 1e309 and 2^63, NUL and control characters in every string
// field, invalid UTF-8, malformed Bearer tokens, huge headers, pipelining, bad
// chunk sizes, slow senders and idle connections. It asserts that the server
// keeps serving, the market never becomes unready or rebuilds, every refusal
// is a JSON error, no balance moves, and memory comes back.
//
// SPOTGRID_FUZZ_REQUESTS=N runs N generated requests (default 2 000).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "service_harness.hpp"
#include "spotgrid/metering/sample.hpp"
#include "spotgrid/util/text.hpp"
#include "ws_client.hpp"

namespace spotgrid::gateway {
namespace {

constexpr const char* kMeteringSecret = "bad-input-suite-secret-0123456789";

std::size_t requests_to_run() {
  const char* asked = std::getenv("SPOTGRID_FUZZ_REQUESTS");
  return asked != nullptr ? static_cast<std::size_t>(std::strtoull(asked, nullptr, 10)) : 2'000;
}

// What the run may leave resident. AddressSanitizer keeps freed memory in
// quarantine (256 MiB by default) instead of reusing it, so its builds get
// that much more; a leak of the request volume (GiBs) fails either way.
#if defined(__SANITIZE_ADDRESS__)
constexpr long long kRssGrowthBoundKib = (128 + 384) * 1024;
#else
constexpr long long kRssGrowthBoundKib = 128 * 1024;
#endif

long long rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atoll(line.c_str() + 6);
  }
  return 0;
}

// A plain TCP connection to the server for bytes no HTTP client would send.
class RawSocket {
 public:
  explicit RawSocket(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    const timeval wait{3, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  }
  ~RawSocket() { ::close(fd_); }
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  bool connected() const { return connected_; }
  void send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (sent <= 0) return;
      bytes.remove_prefix(static_cast<std::size_t>(sent));
    }
  }
  // What the server sent until it closed or went quiet for the timeout.
  std::string receive_all() {
    std::string out;
    char buffer[4096];
    for (;;) {
      const ssize_t got = ::recv(fd_, buffer, sizeof buffer, 0);
      if (got <= 0) return out;
      out.append(buffer, static_cast<std::size_t>(got));
    }
  }

 private:
  int fd_;
  bool connected_ = false;
};

// Values that no field of the API accepts, whatever its type.
std::vector<std::string> bad_values() {
  return {
      R"("\u0000")",
      R"("a\u0000b")",
      R"("\u0001\u001f")",
      R"("line\nbreak")",
      R"("\u007f")",
      R"("\u0085")",
      "\"\xff\xfe\"",      // invalid UTF-8
      "\"\xc3\x28\"",      // invalid UTF-8 continuation
      "\"\xed\xa0\x80\"",  // a UTF-16 surrogate in UTF-8
      "1e309",
      "-1e309",
      "9223372036854775808",
      "-9223372036854775809",
      "18446744073709551616",
      "-0.0",
      "0.5",
      "NaN",
      "true",
      "null",
      "{}",
      R"({"$gt": 1})",
      "[" + std::string(40, '[') + std::string(40, ']') + "]",
      "\"" + std::string(100'000, 'x') + "\"",
      R"("\ud800")",    // a lone high surrogate escape
      R"("a\udc00b")",  // a lone low surrogate: RapidJSON decodes it to bytes that are not UTF-8
  };
}

// The server may close a WebSocket over bad input (a message beyond its limit
// is closed with 1009 while the client still writes it): a fine answer, as
// long as the server serves on (checked after).
void send_tolerating_close(testing::WsClient& socket, const std::string& message) {
  try {
    socket.send_text(message);
    socket.receive(500ms);
  } catch (const std::exception&) {
  }
}

std::string deep_nesting(std::size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

class BadInput : public ServiceHarness {
 protected:
  BadInput()
      : ServiceHarness([](Settings& s) {
          s.metering_secret = kMeteringSecret;
          s.body_limit = 1 << 20;  // big enough for 10^5 nesting to reach the parser
          s.request_timeout = 1'000ms;
          s.rate_per_second = 0;
        }) {}

  struct RouteUnderTest {
    std::string method;
    std::string path;
    struct Field {
      std::string name;
      std::string valid;  // a value the route accepts
      std::string kind;   // the schema's type
      bool required = false;
    };
    std::vector<Field> fields;
  };

  // Values each named field accepts, so that one bad field is the only problem.
  const std::map<std::string, std::string>& valid_values() {
    static const std::map<std::string, std::string> values = {
        {"name", R"("lab")"},
        {"role", R"("buyer")"},
        {"amount_micros", "1000000"},
        {"pool", R"("H100-SXM-80G")"},
        {"region", R"("eu-west")"},
        {"regions", R"(["eu-west"])"},
        {"vendors", R"(["nvidia"])"},
        {"cards", "1"},
        {"duration_seconds", "3600"},
        {"limit_micros_per_hour", "1000"},
        {"strategy", R"("time_first")"},
        {"client_order_id", R"("fuzz-1")"},
        {"node_id", std::to_string(node_id_)},
        {"available_from", std::to_string(now() - 60)},
        {"available_until", std::to_string(now() + 3'600)},
        {"reserve_micros_per_card_hour", "2000000"},
        {"daily", "true"},  // so a schedule's minimum_micros is checked, not refused unread
        {"url", R"("https://hooks.example.com/in")"},
        {"events", R"(["order.filled"])"},
    };
    return values;
  }

  static long long now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  // A body with every required field valid and `broken` (by index) set to `bad`.
  static std::string body_with(const RouteUnderTest& route, std::size_t broken,
                               const std::string& bad) {
    std::string body = "{";
    for (std::size_t f = 0; f < route.fields.size(); ++f) {
      if (f != broken && !route.fields[f].required) continue;
      if (body.size() > 1) body += ',';
      body += '"' + route.fields[f].name + "\":" + (f == broken ? bad : route.fields[f].valid);
    }
    return body + '}';
  }

  // Every bad value is bad for every field but two: "true" is a boolean, and
  // "0.5" a number (a model's compute units).
  static bool is_bad_for(const RouteUnderTest::Field& field, const std::string& value) {
    return !(field.kind == "boolean" && value == "true") &&
           !(field.kind == "number" && value == "0.5");
  }

  // The key a route's rightful caller would use.
  std::string key_for(const std::string& path) const {
    if (path.rfind("/v1/accounts", 0) == 0 || path.rfind("/v1/operator", 0) == 0)
      return operator_key_.token();
    if (path == "/v1/nodes" || path == "/v1/listings" || path.rfind("/v1/account/payout", 0) == 0)
      return supplier_key_;
    return buyer_key_;
  }

  // A payout needs an Idempotency-Key, or its body would be refused unread.
  testing::Headers headers_for(const std::string& path) {
    if (path != "/v1/account/payouts") return {};
    return {{"Idempotency-Key", "sweep-" + std::to_string(++sweep_keys_)}};
  }

  std::uint64_t sweep_keys_ = 0;
  std::uint64_t node_id_ = 0;
  std::string buyer_key_;
  std::string supplier_key_;

  // Every route of the OpenAPI document, and a valid-looking body for those
  // that take one (from the request schema's properties).
  std::vector<RouteUnderTest> routes() {
    std::ifstream file(SPOTGRID_SOURCE_DIR "/openapi/spotgrid.json");
    std::stringstream text;
    text << file.rdbuf();
    rapidjson::Document document;
    document.Parse(text.str().c_str());
    EXPECT_TRUE(document.IsObject());
    std::vector<RouteUnderTest> out;
    for (const auto& path : document["paths"].GetObject()) {
      for (const auto& operation : path.value.GetObject()) {
        RouteUnderTest route;
        route.method = operation.name.GetString();
        for (char& c : route.method)
          c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        route.path = path.name.GetString();
        if (operation.value.HasMember("requestBody")) {
          const std::string ref =
              operation.value["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                  .GetString();
          const auto& schema =
              document["components"]["schemas"][ref.substr(ref.rfind('/') + 1).c_str()];
          if (schema.HasMember("properties")) {
            for (const auto& property : schema["properties"].GetObject()) {
              const std::string kind =
                  property.value.HasMember("type") && property.value["type"].IsString()
                      ? property.value["type"].GetString()
                      : "object";
              const std::string name = property.name.GetString();
              std::string value = kind == "string"    ? R"("x")"
                                  : kind == "integer" ? "1"
                                  : kind == "boolean" ? "false"
                                  : kind == "array"   ? "[]"
                                                      : "{}";
              if (const auto known = valid_values().find(name); known != valid_values().end())
                value = known->second;
              const bool required =
                  schema.HasMember("required") &&
                  std::any_of(schema["required"].Begin(), schema["required"].End(),
                              [&](const rapidjson::Value& r) { return name == r.GetString(); });
              route.fields.push_back({name, value, kind, required});
            }
          }
        }
        out.push_back(std::move(route));
      }
    }
    return out;
  }

  // Every balance of the ledger, and how many orders, nodes and listings exist.
  std::string market_state() {
    pqxx::connection connection(db_.conninfo());
    pqxx::read_transaction txn(connection);
    const auto row = txn.exec1(
        "SELECT (SELECT coalesce(string_agg(owner_id || ':' || account || '=' || balance, ','"
        "        ORDER BY owner_id, account), '') FROM ledger_accounts),"
        "       (SELECT count(*) FROM orders), (SELECT count(*) FROM nodes),"
        "       (SELECT count(*) FROM listings), (SELECT count(*) FROM accounts),"
        "       (SELECT count(*) FROM usage_samples), (SELECT count(*) FROM webhook_endpoints)");
    std::string out;
    for (const auto& field : row) {
      out += field.c_str();
      out += '|';
    }
    return out;
  }

  // A refusal must be a JSON error object; nothing may be a 5xx but 503.
  void expect_documented(const Reply& reply, const std::string& what, bool must_refuse) {
    EXPECT_TRUE(reply.status < 500 || reply.status == 503) << what << " -> " << reply.status;
    if (must_refuse) {
      EXPECT_GE(reply.status, 400u) << what << " -> " << reply.body;
    }
    if (reply.status >= 400) {
      EXPECT_TRUE(reply.json.IsObject() && reply.json.HasMember("error") &&
                  reply.json["error"].IsObject() && reply.json["error"].HasMember("code"))
          << what << " -> " << reply.status << " " << reply.body.substr(0, 200);
    }
  }

  void expect_serving(const std::string& after) {
    const Reply ready = call(http::verb::get, "/readyz", "");
    EXPECT_EQ(ready.status, 200u) << "not ready after " << after << ": " << ready.body;
  }
};

TEST_F(BadInput, GeneratedRequestsChangeNothingAndNeverTakeTheServerDown) {
  const auto [buyer_id, buyer_key] = buyer();
  fund(buyer_id, 50'000'000);
  const auto [supplier_id, supplier_key] = account("supplier");
  list_supply(supplier_key, 4, 2'000'000);
  buyer_key_ = buyer_key;
  supplier_key_ = supplier_key;
  const Reply node = call(http::verb::post, "/v1/nodes", supplier_key,
                          R"({"pool": "A100-80G", "region": "eu-west", "cards": 2})");
  ASSERT_EQ(node.status, 201u) << node.body;
  node_id_ = node.json["node_id"].GetUint64();
  const std::string before = market_state();
  const std::uint64_t recoveries = service_.market_status().recoveries;
  const long long rss_before = rss_kib();

  const std::vector<RouteUnderTest> all = routes();
  ASSERT_GT(all.size(), 20u);
  const std::vector<std::string> bad = bad_values();
  const std::vector<std::string> keys = {"",
                                         buyer_key,
                                         supplier_key,
                                         operator_key_.token(),
                                         "sg_0123456789abcdef_" + std::string(64, '0'),
                                         "sg_\x01\x02_x",
                                         "not-a-key",
                                         std::string(4'000, 'k')};
  const std::vector<std::string> segments = {"999999",
                                             "0",
                                             "-1",
                                             "%00",
                                             "abc",
                                             "1e309",
                                             "18446744073709551616",
                                             "H100-SXM-80G",
                                             std::string(300, '9'),
                                             "%ff%fe"};
  // Every field of every body, with each bad value, all else valid and the
  // rightful caller's key: the bad value is the only problem.
  std::size_t swept = 0;
  for (const RouteUnderTest& route : all) {
    std::string target = route.path;
    if (const auto open = target.find('{'); open != std::string::npos)
      target.replace(open, target.find('}', open) - open + 1, std::to_string(buyer_id));
    for (std::size_t f = 0; f < route.fields.size(); ++f) {
      for (const std::string& value : bad) {
        if (!is_bad_for(route.fields[f], value)) continue;
        const std::string body = body_with(route, f, value);
        const Reply reply = call(http::string_to_verb(route.method), target, key_for(route.path),
                                 body, headers_for(route.path));
        expect_documented(reply, route.method + " " + target + " " + body.substr(0, 300), true);
        ++swept;
      }
    }
  }
  EXPECT_GT(swept, 500u);
  expect_serving("the field sweep");
  EXPECT_EQ(service_.market_status().commands_refused, 0u);

  std::mt19937_64 random(20261201);
  const auto pick = [&](std::size_t n) { return static_cast<std::size_t>(random() % n); };
  const std::size_t total = requests_to_run();
  for (std::size_t i = 0; i < total; ++i) {
    const RouteUnderTest& route = all[pick(all.size())];
    std::string target = route.path;
    for (std::size_t open = target.find('{'); open != std::string::npos; open = target.find('{')) {
      target.replace(open, target.find('}', open) - open + 1, segments[pick(segments.size())]);
    }
    std::string body;
    bool must_refuse = route.method != "GET";
    if (!route.fields.empty()) {
      // One field, or a structural problem, makes every body invalid.
      const std::size_t broken = pick(route.fields.size() + 4);
      std::string value = bad[pick(bad.size())];
      if (broken < route.fields.size() && !is_bad_for(route.fields[broken], value))
        value = bad.front();
      body = body_with(route, broken, value);
      if (broken == route.fields.size()) body.insert(1, R"("unexpected_field":1,)");
      if (broken == route.fields.size() + 1) {  // a field given twice
        const auto present = std::find_if(route.fields.begin(), route.fields.end(),
                                          [](const auto& field) { return field.required; });
        if (present != route.fields.end())
          body.insert(1, '"' + present->name + "\":" + present->valid + ',');
        else
          body = "[]";
      }
      if (broken == route.fields.size() + 2) body = deep_nesting(100'000);
      if (broken == route.fields.size() + 3) body = body.substr(0, body.size() / 2);  // cut short
    } else if (route.method != "GET") {
      // A body where none belongs: deeply nested, or binary (a NUL first).
      body = pick(2) == 0 ? deep_nesting(100'000) : std::string("\x00\xff garbage", 10);
    }
    testing::Headers headers;
    if (pick(4) == 0) headers.emplace_back("Idempotency-Key", pick(2) == 0 ? "fuzz" : "\x7f");
    if (pick(8) == 0) headers.emplace_back("X-Spotgrid-Signature", std::string(64, 'a'));
    const std::string& key = keys[pick(keys.size())];
    const std::string what = route.method + " " + target + " " + body.substr(0, 300);
    Reply reply;
    try {
      reply = call(http::string_to_verb(route.method), target, key, body, headers);
    } catch (const std::exception& e) {
      ADD_FAILURE() << what << ": " << e.what();
      continue;
    }
    // An operator or finance key may legitimately read (GET 200); nothing changes state.
    expect_documented(reply, what, must_refuse);
    if (i % 250 == 0) expect_serving(what);
  }

  // Both WebSockets, fed garbage.
  {
    testing::WsClient stream(service_.port(), buyer_key);
    ASSERT_EQ(stream.refused_status(), 0u);
    for (const std::string& message :
         {deep_nesting(100'000), std::string(R"({"op": "subscribe", "channels": ["\u0000"]})"),
          std::string("\xff\xfe"), std::string(R"({"op": 1e309})"),
          std::string(R"({"op":"ping","op":"ping"})")}) {
      if (stream.closed()) break;
      send_tolerating_close(stream, message);
    }
  }
  {
    // No proof of a node's key: refused at the upgrade, nothing held open.
    EXPECT_EQ(testing::WsClient(service_.port(), "", "/v1/metering/stream").refused_status(), 401u);
    EXPECT_EQ(testing::WsClient(service_.port(), "", "/v1/metering/stream", false,
                                {{"X-Spotgrid-Node", std::to_string(node_id_)},
                                 {"X-Spotgrid-Time", std::to_string(now())},
                                 {"X-Spotgrid-Signature", std::string(64, '0')}})
                  .refused_status(),
              401u);
    // A node that proved its key, sending garbage.
    const std::string key = metering::node_key(kMeteringSecret, node_id_);
    const long long at = now();
    testing::WsClient agent(service_.port(), "", "/v1/metering/stream", false,
                            {{"X-Spotgrid-Node", std::to_string(node_id_)},
                             {"X-Spotgrid-Time", std::to_string(at)},
                             {"X-Spotgrid-Signature",
                              metering::sign(key, metering::stream_proof_payload(node_id_, at))}});
    ASSERT_EQ(agent.refused_status(), 0u);
    // Signed, so it reaches the parser: refused for its depth, not a crash.
    const std::string deep = deep_nesting(100'000);
    std::optional<std::string> answer;
    for (int attempt = 0; attempt < 100; ++attempt) {  // metering may still be starting
      agent.send_text(metering::sign(key, deep) + " " + deep);
      answer = agent.receive(2'000ms);
      if (!answer || answer->find("\"unavailable\"") == std::string::npos) break;
      std::this_thread::sleep_for(50ms);
    }
    ASSERT_TRUE(answer);
    EXPECT_NE(answer->find("invalid_batch"), std::string::npos) << *answer;
    for (const std::string& message :
         {"0 " + deep_nesting(100'000), std::string("nonsense"),
          std::string(64, 'a') + " {\"samples\": [{\"card\": \"\\u0000\"}]}"}) {
      if (agent.closed()) break;
      send_tolerating_close(agent, message);
    }
  }
  {
    // Without a key the stream is the public's: market data, never an account's.
    testing::WsClient unauthenticated(service_.port(), "", "/v1/stream");
    EXPECT_EQ(unauthenticated.refused_status(), 0u);
    unauthenticated.send_text(R"({"op": "subscribe", "channels": ["orders"]})");
    EXPECT_TRUE(unauthenticated.receive_containing("sign in", std::chrono::seconds(5)));
  }

  // Bytes no HTTP client sends.
  const std::uint16_t port = service_.port();
  {
    RawSocket huge(port);
    huge.send("GET /v1/account HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(200'000, 'h') +
              "\r\n\r\n");
    const std::string answer = huge.receive_all();
    EXPECT_TRUE(answer.empty() || answer.find("HTTP/1.1 4") == 0) << answer.substr(0, 100);
  }
  {
    RawSocket chunked(port);
    chunked.send(
        "POST /v1/orders HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n");
    const std::string answer = chunked.receive_all();
    EXPECT_TRUE(answer.empty() || answer.find("HTTP/1.1 4") == 0) << answer.substr(0, 100);
  }
  {
    RawSocket pipelined(port);
    pipelined.send(
        "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        "GET /v1/account HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \x01\r\n\r\n");
    const std::string answer = pipelined.receive_all();
    EXPECT_EQ(answer.find("HTTP/1.1 200"), 0u) << answer.substr(0, 100);
  }
  {
    RawSocket bad_bearer(port);
    bad_bearer.send("GET /v1/account HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer\r\n\r\n");
    EXPECT_EQ(bad_bearer.receive_all().find("HTTP/1.1 401"), 0u);
  }
  {
    // Slow senders and idle connections are closed by the request timeout.
    std::vector<std::unique_ptr<RawSocket>> idle;
    for (int i = 0; i < 300; ++i) {
      idle.push_back(std::make_unique<RawSocket>(port));
      if (i % 2 == 0) idle.back()->send("GET /heal");
    }
    std::this_thread::sleep_for(1'500ms);
    const std::string answer = idle.front()->receive_all();
    EXPECT_EQ(answer.find("HTTP/1.1 2"), std::string::npos) << "a slow sender was served";
    expect_serving("300 idle connections");
  }

  expect_serving("the whole run");
  EXPECT_EQ(service_.market_status().recoveries, recoveries) << "the market rebuilt";
  EXPECT_EQ(service_.market_status().commands_refused, 0u);
  EXPECT_EQ(market_state(), before) << "a refused request changed the market";
  const long long rss_after = rss_kib();
  EXPECT_LT(rss_after - rss_before, kRssGrowthBoundKib)
      << "RSS grew from " << rss_before << " KiB to " << rss_after << " KiB";
  std::printf("bad-input suite: %zu requests; RSS %lld -> %lld KiB\n", total, rss_before,
              rss_after);
}

// A NUL in a client order id (the request that took the market offline) is
// refused at the edge naming the field, and the market stays up.
TEST_F(BadInput, ANulInAClientOrderIdIsRefusedNamingTheField) {
  const auto [buyer_id, buyer_key] = buyer();
  fund(buyer_id, 50'000'000);
  const std::uint64_t recoveries = service_.market_status().recoveries;
  const Reply reply = call(http::verb::post, "/v1/orders", buyer_key,
                           R"({"pool": "H100-SXM-80G", "cards": 1, "duration_seconds": 3600,
               "limit_micros_per_hour": 1000000, "client_order_id": "\u0000"})");
  EXPECT_EQ(reply.status, 400u) << reply.body;
  EXPECT_STREQ(reply.json["error"]["field"].GetString(), "client_order_id");
  const Reply name = call(http::verb::post, "/v1/accounts", operator_key_.token(),
                          R"({"name": "a\u0000b", "role": "buyer"})");
  EXPECT_EQ(name.status, 400u) << name.body;
  EXPECT_STREQ(name.json["error"]["field"].GetString(), "name");
  EXPECT_EQ(service_.market_status().recoveries, recoveries);
  expect_serving("NUL in an order");
}

// An empty Idempotency-Key is refused, not taken for none (a client whose key
// came out empty would have its retry applied twice), and so is a second
// Authorization or a repeated query parameter (a proxy reading the other would
// see another request), and a query parameter the route does not read.
TEST_F(BadInput, AnEmptyIdempotencyKeyASecondKeyOrAnUnreadQueryIsRefused) {
  const auto [buyer_id, buyer_key] = buyer();
  const auto [other_id, other_key] = buyer();
  fund(buyer_id, 50'000'000);
  const std::string before = market_state();
  const std::string withdrawal = R"({"amount_micros": 1000})";
  for (int attempt = 0; attempt < 2; ++attempt) {
    const Reply empty = call(http::verb::post, "/v1/account/withdrawals", buyer_key, withdrawal,
                             {{"Idempotency-Key", ""}});
    EXPECT_EQ(empty.status, 400u) << empty.body;
    EXPECT_STREQ(empty.json["error"]["field"].GetString(), "Idempotency-Key");
  }
  const Reply two_keys = call(http::verb::post, "/v1/account/withdrawals", buyer_key, withdrawal,
                              {{"Idempotency-Key", "w-1"}, {"Idempotency-Key", "w-2"}});
  EXPECT_EQ(two_keys.status, 400u) << two_keys.body;
  const Reply two = call(http::verb::post, "/v1/account/withdrawals", buyer_key, withdrawal,
                         {{"Authorization", "Bearer " + other_key}, {"Idempotency-Key", "w-1"}});
  EXPECT_EQ(two.status, 400u) << two.body;
  EXPECT_STREQ(two.json["error"]["field"].GetString(), "Authorization");
  EXPECT_EQ(market_state(), before) << "a refused withdrawal moved money";
  const Reply repeated = call(http::verb::get, "/v1/orders?limit=1&limit=2", buyer_key);
  EXPECT_EQ(repeated.status, 400u) << repeated.body;
  EXPECT_STREQ(repeated.json["error"]["field"].GetString(), "limit");
  const Reply nameless = call(http::verb::get, "/v1/orders?=1&=2", buyer_key);
  EXPECT_EQ(nameless.status, 400u) << nameless.body;
  EXPECT_STREQ(nameless.json["error"]["field"].GetString(), "query");
  const Reply odd =
      call(http::verb::get, "/v1/orders?\xff" + std::string(100, 'z') + "=1", buyer_key);
  EXPECT_EQ(odd.status, 400u) << odd.body;
  EXPECT_EQ(std::string(odd.json["error"]["field"].GetString()), "?" + std::string(63, 'z'))
      << "a refusal names at most 64 printable characters of what was sent";
  const Reply misspelt = call(http::verb::get, "/v1/orders?stat=open", buyer_key);
  EXPECT_EQ(misspelt.status, 400u) << misspelt.body;
  EXPECT_STREQ(misspelt.json["error"]["field"].GetString(), "stat");
  EXPECT_EQ(call(http::verb::get, "/v1/orders?state=open&limit=1", buyer_key).status, 200u);
  const Reply keyed = call(http::verb::post, "/v1/account/withdrawals", buyer_key, withdrawal,
                           {{"Idempotency-Key", "w-1"}});
  EXPECT_EQ(keyed.status, 201u) << keyed.body;
}

TEST(CleanText, RefusesWhatPostgresCannotStoreAndKeepsTheRest) {
  EXPECT_TRUE(util::is_clean_text("lab-1 \xc3\xa9\xe2\x82\xac\xf0\x9f\x9a\x80"));  // é € 🚀
  EXPECT_FALSE(util::is_clean_text(std::string("a\0b", 3)));
  EXPECT_FALSE(util::is_clean_text("a\tb"));
  EXPECT_FALSE(util::is_clean_text("\x7f"));
  EXPECT_FALSE(util::is_clean_text("\xc2\x85"));          // C1 NEL
  EXPECT_FALSE(util::is_clean_text("\xed\xb0\x80"));      // a surrogate, as \udc00 decodes
  EXPECT_FALSE(util::is_clean_text("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(util::is_clean_text("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(util::is_clean_text("\xe2\x82"));          // cut short
}

// Routes that wait on PostgreSQL run on the worker pool, a few at a time per
// caller: a caller flooding statements gets 429 for the surplus, and another
// caller's statement is still served while the flood runs.
class SlowRoutes : public ServiceHarness {
 protected:
  SlowRoutes() : ServiceHarness([](Settings& s) { s.worker_jobs_per_caller = 2; }) {}
};

TEST_F(SlowRoutes, OneCallersFloodOfStatementsLeavesOthersServed) {
  const auto [flooder_id, flooder] = buyer();
  const auto [other_id, other] = buyer();
  const std::string invoices = "/v1/billing/invoices?month=2026-12";
  std::atomic<int> served{0};
  std::atomic<int> limited{0};
  std::atomic<int> other_answer{0};
  std::vector<std::thread> flood;
  for (int t = 0; t < 8; ++t) {
    flood.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        const Reply reply = call(http::verb::get, invoices, flooder);
        if (reply.status == 200) ++served;
        if (reply.status == 429) ++limited;
      }
    });
  }
  other_answer = static_cast<int>(call(http::verb::get, invoices, other).status);
  for (std::thread& thread : flood)
    thread.join();
  EXPECT_EQ(other_answer.load(), 200);
  EXPECT_GT(served.load(), 0);
  EXPECT_GT(limited.load(), 0) << "8 at once from one caller, 2 allowed: some must wait";
  EXPECT_EQ(served.load() + limited.load(), 80);
}

// Quotas per account: one account at its quota is refused naming it, and
// another account trades on.
class Quotas : public ServiceHarness {
 protected:
  Quotas()
      : ServiceHarness([](Settings& s) {
          s.quota_open_orders = 2;
          s.quota_nodes = 1;
          s.quota_listings = 1;
          s.quota_streams = 2;
          s.min_order_hold_micros = 10'000;
        }) {}

  Reply order(const std::string& key, long long limit) {
    return call(http::verb::post, "/v1/orders", key,
                R"({"pool": "H100-SXM-80G", "cards": 1, "duration_seconds": 3600,
                    "limit_micros_per_hour": )" +
                    std::to_string(limit) + "}");
  }
};

TEST_F(Quotas, OneAccountAtItsQuotaLeavesTheOthersTrading) {
  const auto [greedy_id, greedy] = buyer();
  const auto [other_id, other] = buyer();
  fund(greedy_id, 100'000'000);
  fund(other_id, 100'000'000);
  // Nothing is listed: orders rest and keep their slots.
  const Reply first = order(greedy, 1'000'000);
  ASSERT_EQ(first.status, 201u) << first.body;
  ASSERT_EQ(order(greedy, 1'000'000).status, 201u);
  const Reply third = order(greedy, 1'000'000);
  EXPECT_EQ(third.status, 422u) << third.body;
  EXPECT_STREQ(third.json["error"]["code"].GetString(), "order_quota_exceeded");
  EXPECT_EQ(order(other, 1'000'000).status, 201u);
  // An order holding next to nothing (1 micro a card-hour) is refused.
  const Reply dust = order(other, 1);
  EXPECT_EQ(dust.status, 422u) << dust.body;
  EXPECT_STREQ(dust.json["error"]["code"].GetString(), "hold_below_minimum");
  // The refused order took no slot: the other buyer has one left.
  EXPECT_EQ(order(other, 2'000'000).status, 201u);
  // Cancelling frees a slot for the greedy one.
  const std::string first_order = std::to_string(first.json["order_id"].GetUint64());
  ASSERT_EQ(call(http::verb::delete_, "/v1/orders/" + first_order, greedy).status, 200u);
  EXPECT_EQ(order(greedy, 1'000'000).status, 201u);

  const auto [supplier_id, supplier] = account("supplier");
  const auto node = [&] {
    return call(http::verb::post, "/v1/nodes", supplier,
                R"({"pool": "A100-80G", "region": "eu-west", "cards": 2})");
  };
  ASSERT_EQ(node().status, 201u);
  const Reply second_node = node();
  EXPECT_EQ(second_node.status, 422u);
  EXPECT_STREQ(second_node.json["error"]["code"].GetString(), "node_quota_exceeded");

  // Streams: two per account, then 429; another account still gets one.
  testing::WsClient first_stream(service_.port(), greedy);
  testing::WsClient second_stream(service_.port(), greedy);
  EXPECT_EQ(first_stream.refused_status(), 0u);
  EXPECT_EQ(second_stream.refused_status(), 0u);
  EXPECT_EQ(testing::WsClient(service_.port(), greedy).refused_status(), 429u);
  EXPECT_EQ(testing::WsClient(service_.port(), other).refused_status(), 0u);
}

}  // namespace
}  // namespace spotgrid::gateway
