// What the web console and the CLI stand on: browser sessions (cookie, CSRF,
// stream tickets), public market data, the console's files, and refusals
// that say what to change.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "browser_sessions.hpp"
#include "refusals.hpp"
#include "service_harness.hpp"
#include "spotgrid/util/utc.hpp"
#include "ws_client.hpp"

namespace spotgrid::gateway {
namespace {

using testing::WsClient;

std::string cookie_of(const Reply& reply) {
  const std::string set_cookie = reply.raw.header("Set-Cookie");
  return set_cookie.substr(0, set_cookie.find(';'));  // "sg_session=..."
}

std::string web_root() {
  const auto root =
      std::filesystem::temp_directory_path() / ("spotgrid-web-" + std::to_string(::getpid()));
  std::filesystem::create_directories(root / "js");
  std::ofstream(root / "index.html") << "<!doctype html><title>spotgrid</title>";
  std::ofstream(root / "js" / "app.js") << "export const answer = 42;";
  return root.string();
}

class Console : public ServiceHarness {
 protected:
  Console() : ServiceHarness([](Settings& s) { s.web_root = web_root(); }) {}
  // The files were read at start; the folder can go.
  ~Console() override { std::filesystem::remove_all(web_root()); }

  Reply with_cookie(http::verb verb, const std::string& target, const std::string& cookie,
                    const std::string& csrf = "", const std::string& body = "") {
    testing::Headers headers = {{"Cookie", cookie}};
    if (!csrf.empty()) headers.emplace_back("X-CSRF-Token", csrf);
    return call(verb, target, "", body, headers);
  }

  // A signed-in browser: its cookie ("sg_session=...") and CSRF token.
  struct Browser {
    std::string cookie;
    std::string csrf;
  };
  Browser signed_in_browser(const std::string& key) {
    const Reply answer = sign_in(key);
    EXPECT_EQ(answer.status, 201u) << answer.body;
    return {cookie_of(answer), answer.json.IsObject() && answer.json.HasMember("csrf_token")
                                   ? answer.json["csrf_token"].GetString()
                                   : ""};
  }

  Reply sign_in(const std::string& key) {
    return call(http::verb::post, "/v1/session", "", R"({"api_key": ")" + key + R"("})",
                {{"Content-Type", "application/json"}});
  }
};

TEST_F(Console, ASessionCookieStandsForTheKeyAndCsrfGuardsEveryWrite) {
  EXPECT_EQ(sign_in(generate_api_key().token()).status, 401u);
  EXPECT_EQ(call(http::verb::post, "/v1/session", "", R"({"api_key": 7})",
                 {{"Content-Type", "application/json"}})
                .status,
            400u);
  const auto [account, key] = buyer();
  // Login CSRF: a form (no JSON) or another origin's page cannot sign a browser in.
  const std::string body = R"({"api_key": ")" + key + R"("})";
  EXPECT_EQ(
      call(http::verb::post, "/v1/session", "", body, {{"Content-Type", "text/plain"}}).status,
      403u);
  EXPECT_EQ(call(http::verb::post, "/v1/session", "", body,
                 {{"Content-Type", "application/json"}, {"Sec-Fetch-Site", "same-site"}})
                .status,
            403u);
  const Reply signed_in = sign_in(key);
  ASSERT_EQ(signed_in.status, 201u) << signed_in.body;
  const std::string set_cookie = signed_in.raw.header("Set-Cookie");
  EXPECT_NE(set_cookie.find("HttpOnly"), std::string::npos) << set_cookie;
  EXPECT_NE(set_cookie.find("SameSite=Strict"), std::string::npos) << set_cookie;
  EXPECT_NE(set_cookie.find("Max-Age=3600"), std::string::npos) << set_cookie;
  EXPECT_EQ(set_cookie.find(key), std::string::npos) << "the key must not be the cookie";
  EXPECT_EQ(signed_in.body.find(key), std::string::npos) << "nor be echoed";
  const std::string cookie = cookie_of(signed_in);
  const std::string csrf = signed_in.json["csrf_token"].GetString();
  EXPECT_EQ(signed_in.json["account_id"].GetUint64(), account);

  const Reply own = with_cookie(http::verb::get, "/v1/account", cookie);
  ASSERT_EQ(own.status, 200u) << own.body;
  EXPECT_EQ(own.json["account_id"].GetUint64(), account);
  const Reply session = with_cookie(http::verb::get, "/v1/session", cookie);
  ASSERT_EQ(session.status, 200u) << session.body;
  EXPECT_EQ(std::string(session.json["csrf_token"].GetString()), csrf);

  const std::string order =
      R"({"pool": "H100-SXM-80G", "cards": 1, "duration_seconds": 600, "limit_micros_per_hour": 2000000})";
  const Reply cross_site =
      call(http::verb::post, "/v1/orders", "", order,
           {{"Cookie", cookie}, {"X-CSRF-Token", csrf}, {"Sec-Fetch-Site", "cross-site"}});
  EXPECT_EQ(cross_site.status, 403u) << "another site's page cannot act with the cookie";
  const Reply forged = with_cookie(http::verb::post, "/v1/orders", cookie, "", order);
  EXPECT_EQ(forged.status, 403u) << forged.body;
  EXPECT_EQ(with_cookie(http::verb::post, "/v1/orders", cookie, "wrong", order).status, 403u);
  EXPECT_EQ(sql_count("SELECT count(*) FROM orders"), 0);
  fund(account, 100'000'000);
  const Reply placed = with_cookie(http::verb::post, "/v1/orders", cookie, csrf, order);
  EXPECT_EQ(placed.status, 201u) << placed.body;

  const Reply out = with_cookie(http::verb::delete_, "/v1/session", cookie, csrf);
  EXPECT_EQ(out.status, 204u) << out.body;
  EXPECT_NE(out.raw.header("Set-Cookie").find("Max-Age=0"), std::string::npos);
  // The old cookie is the public's now: a keyed route wants a key, market
  // data still answers, and both tell the browser to drop the cookie.
  const Reply after = with_cookie(http::verb::get, "/v1/account", cookie);
  EXPECT_EQ(after.status, 401u) << after.body;
  EXPECT_NE(after.raw.header("Set-Cookie").find("Max-Age=0"), std::string::npos);
  const Reply market = with_cookie(http::verb::get, "/v1/market/pools", cookie);
  EXPECT_EQ(market.status, 200u) << market.body;
  EXPECT_NE(market.raw.header("Set-Cookie").find("Max-Age=0"), std::string::npos);
  const Reply stale = with_cookie(http::verb::get, "/v1/session", cookie);
  EXPECT_EQ(stale.status, 401u);
  EXPECT_NE(stale.body.find("session_ended"), std::string::npos) << stale.body;
  EXPECT_EQ(with_cookie(http::verb::post, "/v1/orders", cookie, csrf, order).status, 401u);
}

// An empty Authorization header beside the cookie does not hide the session:
// the session's key takes its place instead of following it.
TEST_F(Console, AnEmptyAuthorizationHeaderLeavesTheSessionInCharge) {
  const auto [account, key] = buyer();
  const auto [cookie, csrf] = signed_in_browser(key);
  const Reply own =
      call(http::verb::get, "/v1/account", "", "", {{"Cookie", cookie}, {"Authorization", ""}});
  EXPECT_EQ(own.status, 200u) << own.body;
  EXPECT_EQ(own.json["account_id"].GetUint64(), account);
}

TEST_F(Console, AStreamTicketIsSingleUseAndEndsWithTheSession) {
  const auto [account, key] = buyer();
  const auto [cookie, csrf] = signed_in_browser(key);
  EXPECT_EQ(with_cookie(http::verb::post, "/v1/session/ticket", cookie).status, 403u);
  const Reply ticket = with_cookie(http::verb::post, "/v1/session/ticket", cookie, csrf);
  ASSERT_EQ(ticket.status, 201u) << ticket.body;
  const std::string target = "/v1/stream?ticket=" + std::string(ticket.json["ticket"].GetString());
  WsClient stream(service_.port(), "", target);
  ASSERT_EQ(stream.refused_status(), 0u);
  stream.send_text(R"({"op": "subscribe", "channels": ["orders", "leases"]})");
  EXPECT_TRUE(stream.receive_containing(R"("type":"subscribed")", 5s));
  EXPECT_EQ(WsClient(service_.port(), "", target).refused_status(), 401u) << "used once";
  WsClient keyed(service_.port(), key);  // opened with the key itself: no session's
  ASSERT_EQ(keyed.refused_status(), 0u);
  const Reply second = with_cookie(http::verb::post, "/v1/session/ticket", cookie, csrf);
  ASSERT_EQ(second.status, 201u);
  ASSERT_EQ(with_cookie(http::verb::delete_, "/v1/session", cookie, csrf).status, 204u);
  EXPECT_EQ(WsClient(service_.port(), "",
                     "/v1/stream?ticket=" + std::string(second.json["ticket"].GetString()))
                .refused_status(),
            401u)
      << "signing out ends the session's tickets";
  // And its open stream, within about a second (policy violation); not the key's.
  // One read that waits: a read that times out would end this client itself.
  EXPECT_FALSE(stream.receive(5s).has_value());
  EXPECT_TRUE(stream.closed());
  EXPECT_EQ(stream.close_code(), 1008);
  keyed.send_text(R"({"op": "ping"})");
  EXPECT_TRUE(keyed.receive_containing("pong", 5s)) << "close code " << keyed.close_code();
}

// A pool's trades a page at a time (each once, newest first) and as candles
// of their prices and cards; anyone may read them, nothing names a party.
TEST_F(Console, TradesPageByCursorAndMakeCandles) {
  const auto [supplier_id, supplier] = account("supplier");
  list_supply(supplier, 8, 2'000'000);
  const auto [buyer_id, key] = buyer();
  fund(buyer_id, 100'000'000);
  for (int i = 0; i < 3; ++i) {
    const Reply placed =
        call(http::verb::post, "/v1/orders", key,
             R"({"pool": "H100-SXM-80G", "cards": )" + std::to_string(i + 1) +
                 R"(, "duration_seconds": 600, "limit_micros_per_hour": 3000000})");
    ASSERT_EQ(placed.status, 201u) << placed.body;
  }
  const Reply first = call(http::verb::get, "/v1/market/H100-SXM-80G/trades?limit=2", "");
  ASSERT_EQ(first.status, 200u) << first.body;
  ASSERT_EQ(first.json["trades"].Size(), 2u);
  EXPECT_EQ(first.json["trades"][0]["cards"].GetInt(), 3) << "newest first";
  EXPECT_EQ(first.body.find("buyer"), std::string::npos);
  ASSERT_TRUE(first.json["next_cursor"].IsString());
  const Reply rest = call(http::verb::get,
                          std::string("/v1/market/H100-SXM-80G/trades?limit=2&cursor=") +
                              first.json["next_cursor"].GetString(),
                          "");
  ASSERT_EQ(rest.status, 200u) << rest.body;
  ASSERT_EQ(rest.json["trades"].Size(), 1u);
  EXPECT_EQ(rest.json["trades"][0]["cards"].GetInt(), 1);
  EXPECT_TRUE(rest.json["next_cursor"].IsNull());
  for (const char* bad : {"?limit=0", "?limit=501", "?cursor=12", "?cursor=a.b", "?cursor=-1.2",
                          "?from=x", "?from=10&to=5"}) {
    EXPECT_EQ(call(http::verb::get, std::string("/v1/market/H100-SXM-80G/trades") + bad, "").status,
              400u)
        << bad;
  }
  EXPECT_EQ(
      call(http::verb::get, "/v1/market/H100-SXM-80G/trades?from=2000-01-01&to=2000-01-02", "")
          .json["trades"]
          .Size(),
      0u);

  const Reply candles =
      call(http::verb::get, "/v1/market/H100-SXM-80G/candles?interval=1d&source=trades", "");
  ASSERT_EQ(candles.status, 200u) << candles.body;
  EXPECT_STREQ(candles.json["source"].GetString(), "trades");
  ASSERT_EQ(candles.json["candles"].Size(), 1u) << candles.body;
  const auto& day = candles.json["candles"][0];
  EXPECT_EQ(day["samples"].GetInt(), 3);
  EXPECT_EQ(day["cards"].GetInt(), 6);
  EXPECT_EQ(day["open"].GetInt64(), 2'000'000);
  EXPECT_EQ(day["high"].GetInt64(), 2'000'000);
  EXPECT_EQ(call(http::verb::get, "/v1/market/H100-SXM-80G/candles?source=asks", "").status, 400u);
}

TEST_F(Console, MarketDataIsPublicAndNothingElseIs) {
  const Reply pools = call(http::verb::get, "/v1/market/pools", "");
  ASSERT_EQ(pools.status, 200u) << pools.body;
  ASSERT_TRUE(pools.json["pools"].IsArray());
  EXPECT_EQ(std::string(pools.json["pools"][0]["pool"].GetString()), "H100-SXM-80G");
  const Reply tariffs = call(http::verb::get, "/v1/market/tariffs", "");
  ASSERT_EQ(tariffs.status, 200u) << tariffs.body;
  ASSERT_GT(tariffs.json["regions"].Size(), 0u);
  EXPECT_EQ(tariffs.json["regions"][0]["multiplier_bp"].Size(), 24u);
  EXPECT_EQ(call(http::verb::get, "/v1/market/H100-SXM-80G/book", "").status, 200u);

  const auto [supplier_id, supplier] = account("supplier");
  list_supply(supplier, 8, 2'000'000);
  const Reply candles = call(http::verb::get, "/v1/market/H100-SXM-80G/candles?interval=1m", "");
  ASSERT_EQ(candles.status, 200u) << candles.body;
  EXPECT_TRUE(candles.json["candles"].IsArray());
  EXPECT_EQ(call(http::verb::get, "/v1/market/H100-SXM-80G/candles?interval=5m", "").status, 400u);
  EXPECT_EQ(
      call(http::verb::get, "/v1/market/H100-SXM-80G/candles?interval=1m&from=0&to=999999", "")
          .status,
      400u)
      << "more than 500 candles";
  EXPECT_EQ(call(http::verb::get, "/v1/market/H100-SXM-80G/candles?from=x", "").status, 400u);
  EXPECT_EQ(
      call(http::verb::get, "/v1/market/H100-SXM-80G/candles?to=9223372036854775808", "").status,
      400u)
      << "2^63 is no time";
  const Reply dated =
      call(http::verb::get,
           "/v1/market/H100-SXM-80G/candles?interval=1d&from=2026-01-01&to=2026-01-31", "");
  EXPECT_EQ(dated.status, 200u) << "dates read as exports read them: " << dated.body;

  for (const char* route : {"/v1/account", "/v1/leases", "/v1/orders", "/v1/nodes"})
    EXPECT_EQ(call(http::verb::get, route, "").status, 401u) << route;
  EXPECT_EQ(call(http::verb::post, "/v1/orders", "", "{}").status, 401u);

  const Reply nodes = call(http::verb::get, "/v1/nodes", supplier);
  ASSERT_EQ(nodes.status, 200u) << nodes.body;
  EXPECT_EQ(nodes.json["nodes"].Size(), 1u);
  const Reply listings = call(http::verb::get, "/v1/listings", supplier);
  ASSERT_EQ(listings.status, 200u) << listings.body;
  EXPECT_EQ(listings.json["listings"].Size(), 1u);
  EXPECT_EQ(call(http::verb::get, "/v1/billing/earnings", supplier).status, 200u);
  const auto [buyer_id, buyer_key] = buyer();
  EXPECT_EQ(call(http::verb::get, "/v1/nodes", buyer_key).status, 403u);
  const Reply orders = call(http::verb::get, "/v1/orders", buyer_key);
  ASSERT_EQ(orders.status, 200u) << orders.body;
  EXPECT_EQ(orders.json["orders"].Size(), 0u) << "nobody sees another account's rows";
}

TEST_F(Console, ThePublicStreamCarriesMarketDataOnly) {
  WsClient stream(service_.port(), "");
  ASSERT_EQ(stream.refused_status(), 0u);
  stream.send_text(R"({"op": "subscribe", "channels": ["book:H100-SXM-80G"]})");
  EXPECT_TRUE(stream.receive_containing(R"("type":"subscribed")", 5s));
  stream.send_text(R"({"op": "subscribe", "channels": ["leases"]})");
  EXPECT_TRUE(stream.receive_containing("sign in", 5s));

  // A keyed stream beside it: the key recheck (every 0.5 s) closes neither.
  const auto [account, key] = buyer();
  WsClient keyed(service_.port(), key);
  ASSERT_EQ(keyed.refused_status(), 0u);
  std::this_thread::sleep_for(1500ms);
  stream.send_text(R"({"op": "ping"})");
  EXPECT_TRUE(stream.receive_containing("pong", 5s)) << "close code " << stream.close_code();
  EXPECT_FALSE(stream.closed());
  keyed.send_text(R"({"op": "ping"})");
  EXPECT_TRUE(keyed.receive_containing("pong", 5s));
}

TEST_F(Console, ThePublicCannotWriteNorClaimIdempotencyKeys) {
  const Reply post = call(http::verb::post, "/v1/orders", "", "{}", {{"Idempotency-Key", "k1"}});
  EXPECT_EQ(post.status, 401u);
  EXPECT_EQ(sql_count("SELECT count(*) FROM idempotency_keys"), 0);
}

TEST_F(Console, ASessionHoldsAFewTicketsAndAnAccountAFewSessions) {
  const auto [account, key] = buyer();
  const auto [cookie, csrf] = signed_in_browser(key);
  std::vector<std::string> tickets;
  for (std::size_t i = 0; i <= BrowserSessions::kMaxTicketsPerSession; ++i) {
    const Reply ticket = with_cookie(http::verb::post, "/v1/session/ticket", cookie, csrf);
    ASSERT_EQ(ticket.status, 201u);
    tickets.emplace_back(ticket.json["ticket"].GetString());
  }
  EXPECT_EQ(WsClient(service_.port(), "", "/v1/stream?ticket=" + tickets.front()).refused_status(),
            401u)
      << "the oldest ticket was voided";
  EXPECT_EQ(WsClient(service_.port(), "", "/v1/stream?ticket=" + tickets.back()).refused_status(),
            0u);
  // Sixteen more of the account's sessions, through another of its keys: the
  // cap is the account's, or revoking keys and making new ones would fill the table.
  const Reply other = call(http::verb::post, "/v1/keys", key, R"({"label": "laptop"})");
  ASSERT_EQ(other.status, 201u) << other.body;
  const std::string second_key = other.json["api_key"].GetString();
  for (std::size_t i = 0; i < BrowserSessions::kMaxSessionsPerOwner; ++i)
    ASSERT_EQ(sign_in(second_key).status, 201u);
  EXPECT_EQ(with_cookie(http::verb::get, "/v1/session", cookie).status, 401u)
      << "the account's oldest session was ended by its seventeenth";
}

TEST_F(Console, ServesTheConsoleFilesWithASecurityPolicy) {
  const Reply page = call(http::verb::get, "/", "");
  ASSERT_EQ(page.status, 200u);
  EXPECT_NE(page.body.find("spotgrid"), std::string::npos);
  EXPECT_EQ(page.raw.content_type, "text/html; charset=utf-8");
  EXPECT_NE(page.raw.header("Content-Security-Policy").find("default-src 'self'"),
            std::string::npos);
  const Reply script = call(http::verb::get, "/js/app.js", "");
  ASSERT_EQ(script.status, 200u);
  EXPECT_EQ(script.raw.content_type, "text/javascript; charset=utf-8");
  const Reply again =
      call(http::verb::get, "/js/app.js", "", "", {{"If-None-Match", script.raw.header("ETag")}});
  EXPECT_EQ(again.status, 304u);
  EXPECT_EQ(call(http::verb::get, "/../../etc/passwd", "").status, 404u);
  EXPECT_EQ(call(http::verb::get, "/js/", "").status, 404u);
  EXPECT_EQ(call(http::verb::post, "/", "", "x").status, 404u);
}

TEST(Refusals, EveryEngineRefusalSaysWhatWasWrongAndWhatToChange) {
  constexpr std::string_view kActions[] = {"send",  "deposit", "cancel", "withdraw", "retry",
                                           "ask",   "lower",   "set ",   "use ",     "check",
                                           "relax", "place",   "list",   "leave",    "GET "};
  // kRejectCount really is the count: the next value has no name.
  EXPECT_EQ(engine::to_string(static_cast<engine::Reject>(engine::kRejectCount)), "unknown");
  std::set<std::string_view> seen;
  for (std::size_t code = 0; code < engine::kRejectCount; ++code) {
    const auto reason = static_cast<engine::Reject>(code);
    const Refusal refusal = refusal_of(reason);
    EXPECT_GE(refusal.explain.size(), 30u) << engine::to_string(reason);
    // What to do next, in one of the words a person acts on.
    const bool says_what_to_do = std::any_of(
        std::begin(kActions), std::end(kActions),
        [&](std::string_view action) { return refusal.explain.find(action) != std::string::npos; });
    EXPECT_TRUE(says_what_to_do) << engine::to_string(reason) << ": " << refusal.explain;
    EXPECT_TRUE(seen.insert(refusal.explain).second)
        << engine::to_string(reason) << " shares its words with another refusal";
  }
}

TEST_F(Console, ACostFirstOrderWithoutADeadlineIsToldWhatItNeeds) {
  const auto [account, key] = buyer();
  fund(account, 100'000'000);
  const Reply refused = call(
      http::verb::post, "/v1/orders", key,
      R"({"pool": "H100-SXM-80G", "cards": 1, "duration_seconds": 600, "limit_micros_per_hour": 2000000, "strategy": "cost_first"})");
  ASSERT_EQ(refused.status, 422u) << refused.body;
  const auto& error = refused.json["error"];
  EXPECT_EQ(std::string(error["code"].GetString()), "invalid_latest_start");
  EXPECT_EQ(std::string(error["field"].GetString()), "latest_start");
  EXPECT_NE(std::string(error["message"].GetString()).find("latest_start"), std::string::npos)
      << refused.body;
}

TEST_F(Console, AnOpenOrderIsAmendedDownOrRepricedNeverUp) {
  const auto [account, key] = buyer();
  fund(account, 100'000'000);
  const Reply placed = call(
      http::verb::post, "/v1/orders", key,
      R"({"pool": "H100-SXM-80G", "cards": 4, "duration_seconds": 600, "limit_micros_per_hour": 1000000})");
  ASSERT_EQ(placed.status, 201u) << placed.body;
  const std::string order = std::to_string(placed.json["order_id"].GetUint64());
  const std::string amend = "/v1/orders/" + order + "/amend";
  EXPECT_EQ(call(http::verb::post, amend, key, "{}").status, 400u);
  const Reply up = call(http::verb::post, amend, key, R"({"cards": 5})");
  EXPECT_EQ(up.status, 422u) << up.body;
  EXPECT_NE(up.body.find("place a second order"), std::string::npos) << up.body;
  const Reply down =
      call(http::verb::post, amend, key, R"({"cards": 2, "limit_micros_per_hour": 1500000})");
  ASSERT_EQ(down.status, 200u) << down.body;
  EXPECT_EQ(down.json["cards_open"].GetUint(), 2u);
  EXPECT_EQ(down.json["limit_micros_per_hour"].GetInt64(), 1'500'000);
  const auto [other_id, other] = buyer();
  EXPECT_EQ(call(http::verb::post, amend, other, R"({"cards": 1})").status, 404u)
      << "nobody amends another's order";
}

TEST_F(Console, AWithdrawalTakesCashOutOnceAndNeverMoreThanThereIs) {
  const auto [account, key] = buyer();
  fund(account, 50'000'000);
  const testing::Headers once = {{"Idempotency-Key", "withdraw-1"}};
  const Reply out = call(http::verb::post, "/v1/account/withdrawals", key,
                         R"({"amount_micros": 20000000})", once);
  ASSERT_EQ(out.status, 201u) << out.body;
  EXPECT_EQ(out.json["withdrawn_micros"].GetInt64(), 20'000'000);
  EXPECT_EQ(out.json["cash_micros"].GetInt64(), 30'000'000);
  const Reply again = call(http::verb::post, "/v1/account/withdrawals", key,
                           R"({"amount_micros": 20000000})", once);
  EXPECT_EQ(again.status, 201u);
  EXPECT_EQ(again.raw.header("Idempotent-Replayed"), "true");
  EXPECT_EQ(ledger_cash(account), 30'000'000) << "a retry is not a second withdrawal";
  const Reply too_much =
      call(http::verb::post, "/v1/account/withdrawals", key, R"({"amount_micros": 30000001})");
  EXPECT_EQ(too_much.status, 422u) << too_much.body;
  EXPECT_EQ(ledger_cash(account), 30'000'000);
  EXPECT_EQ(
      call(http::verb::post, "/v1/account/withdrawals", key, R"({"amount_micros": 0})").status,
      400u);
  EXPECT_EQ(call(http::verb::post, "/v1/account/withdrawals", operator_key_.token(),
                 R"({"amount_micros": 1})")
                .status,
            403u);
  EXPECT_EQ(sql_count("SELECT count(*) FROM ledger_transactions WHERE kind = 'withdrawal'"), 1);
  EXPECT_EQ(sql_count("SELECT coalesce(sum(balance), 0) FROM ledger_accounts"), 0)
      << "the ledger still sums to zero";
}

TEST_F(Console, TheOperatorHaltsSuspendsAndQuarantinesAndTheAuditSaysSo) {
  const auto [supplier_id, supplier] = account("supplier");
  list_supply(supplier, 4, 2'000'000);
  const auto [buyer_id, key] = buyer();
  fund(buyer_id, 100'000'000);
  const std::string op = operator_key_.token();
  const std::string order =
      R"({"pool": "H100-SXM-80G", "cards": 1, "duration_seconds": 600, "limit_micros_per_hour": 3000000})";

  EXPECT_EQ(call(http::verb::post, "/v1/operator/pools/H100-SXM-80G/halt", key).status, 403u);
  EXPECT_EQ(call(http::verb::post, "/v1/operator/pools/nope/halt", op).status, 404u);
  const Reply halted = call(http::verb::post, "/v1/operator/pools/H100-SXM-80G/halt", op);
  ASSERT_EQ(halted.status, 200u) << halted.body;
  EXPECT_TRUE(halted.json["halted"].GetBool());
  const Reply pools = call(http::verb::get, "/v1/market/pools", "");
  bool shown = false;
  for (const auto& pool : pools.json["pools"].GetArray()) {
    if (std::string_view(pool["pool"].GetString()) == "H100-SXM-80G")
      shown = pool["halted"].GetBool();
  }
  EXPECT_TRUE(shown) << pools.body;
  const Reply refused = call(http::verb::post, "/v1/orders", key, order);
  EXPECT_EQ(refused.status, 422u) << refused.body;
  EXPECT_STREQ(refused.json["error"]["code"].GetString(), "pool_halted");
  ASSERT_EQ(call(http::verb::post, "/v1/operator/pools/H100-SXM-80G/resume", op).status, 200u);
  EXPECT_EQ(call(http::verb::post, "/v1/orders", key, order).status, 201u);

  const std::string suspend = "/v1/operator/accounts/" + std::to_string(buyer_id) + "/suspend";
  EXPECT_EQ(call(http::verb::post, suspend, op, R"({"stop_leases": "yes"})").status, 400u);
  EXPECT_EQ(call(http::verb::post, "/v1/operator/accounts/999999/suspend", op).status, 404u);
  const Reply suspended = call(http::verb::post, suspend, op, R"({"stop_leases": true})");
  ASSERT_EQ(suspended.status, 200u) << suspended.body;
  EXPECT_TRUE(suspended.json["leases_stopped"].GetBool());
  EXPECT_TRUE(call(http::verb::get, "/v1/account", key).json["suspended"].GetBool());
  const Reply barred = call(http::verb::post, "/v1/orders", key, order);
  EXPECT_EQ(barred.status, 422u);
  EXPECT_STREQ(barred.json["error"]["code"].GetString(), "account_suspended");
  EXPECT_EQ(
      call(http::verb::post, "/v1/operator/accounts/" + std::to_string(buyer_id) + "/reinstate", op)
          .status,
      200u);
  EXPECT_EQ(call(http::verb::post, "/v1/orders", key, order).status, 201u) << "reinstated";

  const Reply nodes = call(http::verb::get, "/v1/nodes", supplier);
  const std::string node = std::to_string(nodes.json["nodes"][0]["node_id"].GetUint64());
  EXPECT_FALSE(nodes.json["nodes"][0]["quarantined"].GetBool());
  ASSERT_EQ(call(http::verb::post, "/v1/operator/nodes/" + node + "/quarantine", op).status, 200u);
  EXPECT_TRUE(
      call(http::verb::get, "/v1/nodes", supplier).json["nodes"][0]["quarantined"].GetBool());
  EXPECT_EQ(call(http::verb::post, "/v1/operator/nodes/999999/quarantine", op).status, 404u);

  // The fee: the operator's, from now on; bad values change nothing.
  EXPECT_EQ(call(http::verb::put, "/v1/operator/platform-fee", key, R"({"fee_bp": 700})").status,
            403u);
  for (const char* bad : {R"({"fee_bp": 5001})", R"({"fee_bp": -1})", R"({"fee_bp": "7"})", R"({})",
                          R"({"fee_bp": 700, "x": 1})", R"({"fee_bp": 7.5})"}) {
    EXPECT_EQ(call(http::verb::put, "/v1/operator/platform-fee", op, bad).status, 400u) << bad;
  }
  const Reply fee = call(http::verb::put, "/v1/operator/platform-fee", op, R"({"fee_bp": 700})");
  ASSERT_EQ(fee.status, 200u) << fee.body;
  EXPECT_EQ(fee.json["fee_bp"].GetInt(), 700);
  EXPECT_EQ(fee.json["previous_bp"].GetInt(), 500);
  const Reply now_fee = call(http::verb::get, "/v1/operator/platform-fee", op);
  ASSERT_EQ(now_fee.status, 200u) << now_fee.body;
  EXPECT_EQ(now_fee.json["fee_bp"].GetInt(), 700);
  EXPECT_EQ(now_fee.json["configured_bp"].GetInt(), 500) << "the configuration started it";
  EXPECT_EQ(call(http::verb::get, "/v1/operator/platform-fee", key).status, 403u);

  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  const Reply audit = call(
      http::verb::get,
      "/v1/operator/audit?from=" + std::to_string(now - 600) + "&to=" + std::to_string(now + 600),
      op);
  ASSERT_EQ(audit.status, 200u) << audit.body;
  std::vector<std::string> actions;
  for (const auto& action : audit.json["actions"].GetArray())
    actions.emplace_back(action["action"].GetString());
  // The refused quarantine of a node that does not exist is in it too, with its reason.
  const std::vector<std::string> expected = {
      "deposit",         "halt_pool",       "halt_pool",       "suspend_account",
      "suspend_account", "quarantine_node", "quarantine_node", "set_platform_fee"};
  EXPECT_EQ(actions, expected) << audit.body;
  EXPECT_STREQ(audit.json["actions"][6]["rejected"].GetString(), "unknown_node");
  EXPECT_TRUE(audit.json["next_cursor"].IsNull()) << "one page holds them";
  EXPECT_EQ(call(http::verb::get, "/v1/operator/audit?from=1&to=2", key).status, 403u);
}

// A tariffs body: every region of the repository's market (or `regions`) at
// one multiplier, from `effective_from`.
std::string tariff_body(long long effective_from, const std::string& multiplier,
                        const std::vector<std::string>& regions = {"eu-west", "us-east", "us-west",
                                                                   "ap-east"}) {
  std::string day = "[";
  for (int hour = 0; hour < 24; ++hour)
    day += (hour == 0 ? "" : ", ") + multiplier;
  day += "]";
  std::string body =
      R"({"effective_from": )" + std::to_string(effective_from) + R"(, "regions": [)";
  for (std::size_t i = 0; i < regions.size(); ++i) {
    body += (i == 0 ? "" : ", ") + std::string(R"({"region": ")") + regions[i] +
            R"(", "utc_offset_minutes": 0, "weekday": )" + day + R"(, "weekend": )" + day + "}";
  }
  return body + "]}";
}

// A schedule from a future hour: refused when it is not one, shown before it
// starts, and the multipliers change at its hour.
TEST_F(Console, TheOperatorPublishesATariffScheduleForAFutureHour) {
  const std::string op = operator_key_.token();
  const auto [buyer_id, key] = buyer();
  const long long now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  const long long change = (now / 3'600 + 2) * 3'600;
  const std::string good = tariff_body(change, "2.0");
  EXPECT_EQ(call(http::verb::post, "/v1/operator/tariffs", key, good).status, 403u);
  EXPECT_EQ(call(http::verb::post, "/v1/operator/tariffs", "", good).status, 401u);
  const std::vector<std::string> bad = {
      tariff_body(change + 1, "2.0"),                                 // not on an hour
      tariff_body(now / 3'600 * 3'600, "2.0"),                        // not in the future
      tariff_body(change + 400LL * 86'400, "2.0"),                    // too far ahead
      tariff_body(change, "0"),                                       // free
      tariff_body(change, "11"),                                      // beyond x10
      tariff_body(change, "2.0", {"eu-west", "us-east", "us-west"}),  // one missing
      tariff_body(change, "2.0", {"eu-west", "us-east", "us-west", "ap-east", "moon"}),
      tariff_body(change, "2.0", {"eu-west", "us-east", "us-west", "us-west"}),  // twice
      R"({"regions": []})",
      R"({"effective_from": "soon", "regions": []})",
      good.substr(0, good.size() - 1) + R"(, "extra": 1})",
      "[]",
      std::string("{\"effective_from\": 1\0}", 21),
  };
  for (const std::string& body : bad) {
    const Reply refused = call(http::verb::post, "/v1/operator/tariffs", op, body);
    EXPECT_EQ(refused.status, 400u) << body << " -> " << refused.body;
  }
  const Reply before = call(http::verb::get, "/v1/market/tariffs", "");
  ASSERT_EQ(before.status, 200u) << before.body;
  EXPECT_EQ(before.json["schedules"].Size(), 1u) << "nothing refused was published";

  const Reply published = call(http::verb::post, "/v1/operator/tariffs", op, good);
  ASSERT_EQ(published.status, 200u) << published.body;
  EXPECT_EQ(published.json["version"].GetUint64(), 1u);
  EXPECT_EQ(published.json["effective_from"].GetInt64(), change);

  const Reply shown =
      call(http::verb::get,
           "/v1/market/tariffs?from=" + std::to_string(change - 3'600) + "&hours=2", "");
  ASSERT_EQ(shown.status, 200u) << shown.body;
  ASSERT_EQ(shown.json["schedules"].Size(), 2u);
  EXPECT_EQ(shown.json["schedules"][1]["effective_from"].GetInt64(), change);
  for (const auto& region : shown.json["regions"].GetArray()) {
    ASSERT_EQ(region["multiplier_bp"].Size(), 2u);
    EXPECT_NE(region["multiplier_bp"][0].GetInt(), 20'000) << "the hour before: the old one";
    EXPECT_EQ(region["multiplier_bp"][1].GetInt(), 20'000) << "from its hour: the new one";
  }
  EXPECT_EQ(call(http::verb::get, "/v1/market/tariffs?hours=169", "").status, 400u);
  EXPECT_EQ(call(http::verb::get, "/v1/market/tariffs?from=yesterday", "").status, 400u);
}

// A model added by the operator is a pool at once: listed, with a book,
// supply and orders; a bad one is refused with its field and adds nothing.
TEST_F(Console, TheOperatorAddsAGpuModelAndItTradesAtOnce) {
  const std::string op = operator_key_.token();
  const std::string b200 =
      R"({"model": "B200-SXM-192G", "vendor": "nvidia", "memory_gib": 192, "bf16_tflops": 2250,
          "memory_bandwidth_gbps": 8000, "compute_units": 5.0,
          "reference_price_micros_per_card_hour": 6000000})";
  const auto [buyer_id, key] = buyer();
  EXPECT_EQ(call(http::verb::post, "/v1/operator/gpu-models", key, b200).status, 403u);
  EXPECT_EQ(call(http::verb::post, "/v1/operator/gpu-models", "", b200).status, 401u);
  const std::vector<std::string> bad = {
      R"({"model": "H100-SXM-80G", "vendor": "nvidia", "memory_gib": 80, "bf16_tflops": 989,
          "memory_bandwidth_gbps": 3350, "compute_units": 3.0,
          "reference_price_micros_per_card_hour": 3000000})",  // taken
      R"({"model": "B 200", "vendor": "nvidia", "memory_gib": 192, "bf16_tflops": 2250,
          "memory_bandwidth_gbps": 8000, "compute_units": 5.0,
          "reference_price_micros_per_card_hour": 6000000})",  // a space
      R"({"model": "../b", "vendor": "nvidia", "memory_gib": 192, "bf16_tflops": 2250,
          "memory_bandwidth_gbps": 8000, "compute_units": 5.0,
          "reference_price_micros_per_card_hour": 6000000})",  // a path
      R"({"model": "B200", "vendor": "nvidia", "memory_gib": 0, "bf16_tflops": 2250,
          "memory_bandwidth_gbps": 8000, "compute_units": 5.0,
          "reference_price_micros_per_card_hour": 6000000})",
      R"({"model": "B200", "vendor": "nvidia", "memory_gib": 192, "bf16_tflops": 2250,
          "memory_bandwidth_gbps": 8000, "compute_units": 5.0})",  // no price
      R"({"model": "B200", "model": "B300", "vendor": "nvidia", "memory_gib": 192,
          "bf16_tflops": 2250, "memory_bandwidth_gbps": 8000, "compute_units": 5.0,
          "reference_price_micros_per_card_hour": 6000000})",      // twice
      "[]",
  };
  for (const std::string& body : bad) {
    const Reply refused = call(http::verb::post, "/v1/operator/gpu-models", op, body);
    EXPECT_EQ(refused.status, 400u) << body << " -> " << refused.body;
  }
  const Reply added = call(http::verb::post, "/v1/operator/gpu-models", op, b200);
  ASSERT_EQ(added.status, 200u) << added.body;
  EXPECT_STREQ(added.json["pool"].GetString(), "B200-SXM-192G");
  EXPECT_EQ(added.json["pool_index"].GetUint64(), 6u) << "after the repository's six";

  const Reply pools = call(http::verb::get, "/v1/market/pools", "");
  ASSERT_EQ(pools.status, 200u);
  std::size_t listed = 0;
  for (const auto& pool : pools.json["pools"].GetArray())
    listed += std::string_view(pool["pool"].GetString()) == "B200-SXM-192G";
  EXPECT_EQ(listed, 1u) << pools.body;
  const auto [supplier_id, supplier] = account("supplier");
  list_supply(supplier, 2, 5'000'000, "B200-SXM-192G");
  fund(buyer_id, 100'000'000);
  const Reply order = call(
      http::verb::post, "/v1/orders", key,
      R"({"pool": "B200-SXM-192G", "cards": 1, "duration_seconds": 600, "limit_micros_per_hour": 6000000})");
  ASSERT_EQ(order.status, 201u) << order.body;
  const Reply book = call(http::verb::get, "/v1/market/B200-SXM-192G/book", "");
  EXPECT_EQ(book.status, 200u) << book.body;
  EXPECT_EQ(call(http::verb::post, "/v1/operator/gpu-models", op, b200).status, 400u)
      << "the same model twice";
}

// History a page at a time: every row once, newest first, filters that
// narrow it, and nobody else's rows.
TEST_F(Console, OrderHistoryPagesByCursorWithFiltersAndOnlyTheCallersRows) {
  const auto [buyer_id, key] = buyer();
  fund(buyer_id, 100'000'000);
  std::vector<std::uint64_t> placed;
  for (int i = 0; i < 5; ++i) {  // nothing is listed: they rest
    const Reply order = call(
        http::verb::post, "/v1/orders", key,
        R"({"pool": "H100-SXM-80G", "cards": 1, "duration_seconds": 600, "limit_micros_per_hour": 1000000})");
    ASSERT_EQ(order.status, 201u) << order.body;
    placed.push_back(order.json["order_id"].GetUint64());
  }
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(call(http::verb::delete_, "/v1/orders/" + std::to_string(placed[i]), key).status,
              200u);
  }
  std::vector<std::uint64_t> seen;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    const Reply reply = call(http::verb::get, "/v1/orders?limit=2" + cursor, key);
    ASSERT_EQ(reply.status, 200u) << reply.body;
    EXPECT_LE(reply.json["orders"].Size(), 2u);
    for (const auto& row : reply.json["orders"].GetArray())
      seen.push_back(row["order_id"].GetUint64());
    if (reply.json["next_cursor"].IsNull()) break;
    cursor = std::string("&cursor=") + reply.json["next_cursor"].GetString();
  }
  const std::vector<std::uint64_t> newest_first(placed.rbegin(), placed.rend());
  EXPECT_EQ(seen, newest_first) << "every order once, newest first, across three pages";
  const auto count = [&](const std::string& query) {
    const Reply reply = call(http::verb::get, "/v1/orders?" + query, key);
    EXPECT_EQ(reply.status, 200u) << query << ": " << reply.body;
    return reply.json.IsObject() ? reply.json["orders"].Size() : 0u;
  };
  EXPECT_EQ(count("state=cancelled"), 2u);
  EXPECT_EQ(count("state=open"), 3u);
  EXPECT_EQ(count("state=completed"), 0u);
  EXPECT_EQ(count("pool=H100-SXM-80G"), 5u);
  EXPECT_EQ(count("pool=A100-80G"), 0u);
  EXPECT_EQ(count("from=2020-01-01&to=2020-01-02"), 0u);
  for (const char* bad :
       {"limit=0", "limit=501", "limit=x", "cursor=abc", "cursor=-1", "state=expired", "pool=nope",
        "from=2026-02-01&to=2026-01-01", "from=yesterday"}) {
    EXPECT_EQ(call(http::verb::get, std::string("/v1/orders?") + bad, key).status, 400u) << bad;
  }
  const auto [other_id, other] = buyer();
  EXPECT_EQ(call(http::verb::get, "/v1/orders", other).json["orders"].Size(), 0u);
  const Reply leases = call(http::verb::get, "/v1/leases?state=running&limit=1", key);
  ASSERT_EQ(leases.status, 200u) << leases.body;
  EXPECT_TRUE(leases.json["next_cursor"].IsNull());
  EXPECT_EQ(call(http::verb::get, "/v1/leases?state=open", key).status, 400u);
}

TEST_F(Console, KeysHaveScopesRotateWithAGraceAndRecordTheirLastUse) {
  const auto [account, first] = buyer();
  const auto make = [&](const std::string& body, const std::string& with) {
    return call(http::verb::post, "/v1/keys", with, body);
  };
  const Reply read = make(R"({"label": "dashboard", "scope": "read"})", first);
  ASSERT_EQ(read.status, 201u) << read.body;
  EXPECT_STREQ(read.json["scope"].GetString(), "read");
  const std::string reader = read.json["api_key"].GetString();
  const Reply billing = make(R"({"scope": "billing"})", first);
  ASSERT_EQ(billing.status, 201u) << billing.body;
  const std::string books = billing.json["api_key"].GetString();
  EXPECT_EQ(make(R"({"scope": "admin"})", first).status, 400u);

  const std::string order =
      R"({"pool": "H100-SXM-80G", "cards": 1, "duration_seconds": 600, "limit_micros_per_hour": 1000000})";
  EXPECT_EQ(call(http::verb::get, "/v1/orders", reader).status, 200u);
  const Reply refused = call(http::verb::post, "/v1/orders", reader, order);
  EXPECT_EQ(refused.status, 403u);
  EXPECT_STREQ(refused.json["error"]["code"].GetString(), "forbidden_scope");
  EXPECT_EQ(make("{}", reader).status, 403u) << "a read key mints no keys";
  // A method the path does not have is 405 for any scope, with the path's methods.
  const Reply wrong_method = call(http::verb::delete_, "/v1/orders", reader);
  EXPECT_EQ(wrong_method.status, 405u) << wrong_method.body;
  EXPECT_EQ(wrong_method.raw.header("Allow"), "POST, GET");
  const Reply no_post =
      call(http::verb::post, "/v1/account", first, "{}", {{"Idempotency-Key", "no-such-route"}});
  EXPECT_EQ(no_post.status, 405u) << "no route, no idempotency claim: " << no_post.body;
  EXPECT_EQ(no_post.raw.header("Allow"), "GET");
  const std::string month = util::format_utc(std::time(nullptr)).substr(0, 7);
  EXPECT_EQ(call(http::verb::get, "/v1/billing/invoices?month=" + month, books).status, 200u);
  EXPECT_EQ(call(http::verb::get, "/v1/account", books).status, 200u);
  EXPECT_EQ(call(http::verb::get, "/v1/orders", books).status, 403u) << "billing reads money only";

  // Rotation: the new key works at once, the old one until its grace ends.
  const Reply listed = call(http::verb::get, "/v1/keys", first);
  std::string first_id;
  for (const auto& info : listed.json["keys"].GetArray()) {
    if (info["this_key"].GetBool()) first_id = info["key_id"].GetString();
  }
  ASSERT_FALSE(first_id.empty()) << listed.body;
  const std::string rotate = "/v1/keys/" + first_id + "/rotate";
  EXPECT_EQ(call(http::verb::post, rotate, first, R"({"grace_seconds": 999999999})").status, 400u);
  const Reply expiring = make(R"({"expires_in_days": 1})", first);
  ASSERT_EQ(expiring.status, 201u);
  EXPECT_EQ(call(http::verb::post, rotate, expiring.json["api_key"].GetString(), "{}").status, 404u)
      << "a key that expires may not rotate a lasting one";
  EXPECT_EQ(call(http::verb::post, rotate, first, R"({"grace_seconds": 2})").status, 400u)
      << "a grace under a minute could lock the account out if the answer were lost";
  const Reply rotated = call(http::verb::post, rotate, first, R"({"grace_seconds": 60})");
  ASSERT_EQ(rotated.status, 201u) << rotated.body;
  const std::string second = rotated.json["api_key"].GetString();
  EXPECT_EQ(call(http::verb::get, "/v1/account", second).status, 200u);
  EXPECT_EQ(call(http::verb::get, "/v1/account", first).status, 200u) << "within its grace";
  const Reply again = call(http::verb::post, rotate, first, "{}");
  EXPECT_EQ(again.status, 409u) << "a key is rotated once: " << again.body;
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  const Reply after_rotation = call(http::verb::get, "/v1/keys", second);
  for (const auto& info : after_rotation.json["keys"].GetArray()) {
    if (info["key_id"].GetString() == first_id) {
      EXPECT_LE(std::abs(info["expires_at"].GetInt64() - (now + 60)), 5)
          << "the old key ends a minute from now";
    } else if (info["key_id"].GetString() == std::string(rotated.json["key_id"].GetString())) {
      EXPECT_EQ(info["expires_at"].GetInt64(), 0) << "the new key lasts, as the old one did";
    }
  }
  // A read key is refused the node agent key (a credential) and, before any
  // idempotency claim, every POST.
  EXPECT_EQ(call(http::verb::get, "/v1/nodes/1/agent-key", reader).status, 403u);
  EXPECT_EQ(
      call(http::verb::post, "/v1/orders", reader, order, {{"Idempotency-Key", "x-1"}}).status,
      403u);

  // Each key's last use: when, and from where.
  bool recorded = false;
  for (int i = 0; i < 30 && !recorded; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const Reply keys = call(http::verb::get, "/v1/keys", second);
    for (const auto& info : keys.json["keys"].GetArray()) {
      if (std::string_view(info["scope"].GetString()) == "read")
        recorded = info["last_used_at"].GetInt64() > 0 &&
                   std::string_view(info["last_used_from"].GetString()) == "127.0.0.1";
    }
  }
  EXPECT_TRUE(recorded);
}

TEST_F(Console, ALeasesEnergyIsItsBuyersAndSuppliersOnly) {
  const auto [supplier_id, supplier] = account("supplier");
  list_supply(supplier, 8, 2'000'000);
  const auto [account_id, key] = buyer();
  fund(account_id, 100'000'000);
  const Reply placed = call(
      http::verb::post, "/v1/orders", key,
      R"({"pool": "H100-SXM-80G", "cards": 2, "duration_seconds": 600, "limit_micros_per_hour": 3000000})");
  ASSERT_EQ(placed.status, 201u) << placed.body;
  const std::string lease = std::to_string(placed.json["leases"][0]["lease_id"].GetUint64());
  const std::string route = "/v1/leases/" + lease + "/energy";
  const Reply own = call(http::verb::get, route, key);
  ASSERT_EQ(own.status, 200u) << own.body;
  EXPECT_EQ(own.json["energy_joules"].GetInt64(), 0) << "no agent has reported yet";
  EXPECT_EQ(own.json["cards"].GetInt(), 2);
  EXPECT_EQ(call(http::verb::get, route, supplier).status, 200u);
  const auto [other_id, other] = buyer();
  EXPECT_EQ(call(http::verb::get, route, other).status, 404u);
  EXPECT_EQ(call(http::verb::get, route, "").status, 401u);
}

TEST_F(Console, AnAccountManagesItsKeysAndARevokedOrExpiredKeyStopsWorking) {
  const auto [account, first] = buyer();
  const Reply created =
      call(http::verb::post, "/v1/keys", first, R"({"label": "ci runner", "expires_in_days": 30})");
  ASSERT_EQ(created.status, 201u) << created.body;
  const std::string second = created.json["api_key"].GetString();
  const std::string second_id = created.json["key_id"].GetString();
  EXPECT_EQ(call(http::verb::get, "/v1/account", second).status, 200u) << "the new key works";
  const Reply listed = call(http::verb::get, "/v1/keys", second);
  ASSERT_EQ(listed.status, 200u) << listed.body;
  ASSERT_EQ(listed.json["keys"].Size(), 2u);
  EXPECT_EQ(listed.body.find(second.substr(20)), std::string::npos) << "no secret is listed";
  EXPECT_STREQ(listed.json["keys"][0]["label"].GetString(), "ci runner") << "newest first";
  EXPECT_GT(listed.json["keys"][0]["expires_at"].GetInt64(), 0);
  EXPECT_TRUE(listed.json["keys"][0]["this_key"].GetBool());

  const auto [other_account, other] = buyer();
  EXPECT_EQ(call(http::verb::delete_, "/v1/keys/" + second_id, other).status, 404u)
      << "nobody revokes another's key";
  // The expiring key mints only keys that expire with it, and revokes only itself.
  const Reply minted = call(http::verb::post, "/v1/keys", second, "{}");
  ASSERT_EQ(minted.status, 201u) << minted.body;
  const Reply keys = call(http::verb::get, "/v1/keys", first);
  ASSERT_EQ(keys.json["keys"].Size(), 3u);
  EXPECT_GT(keys.json["keys"][0]["expires_at"].GetInt64(), 0) << "newest first, and it expires";
  const std::string first_id = parse_api_key(first)->key_id;
  EXPECT_EQ(call(http::verb::delete_, "/v1/keys/" + first_id, second).status, 403u);
  EXPECT_EQ(
      call(http::verb::delete_, "/v1/keys/" + std::string(minted.json["key_id"].GetString()), first)
          .status,
      200u);
  // An Idempotency-Key: a retry answers the first key (without its secret), not a second.
  const testing::Headers once = {{"Idempotency-Key", "key-1"}};
  const Reply made = call(http::verb::post, "/v1/keys", first, R"({"label": "once"})", once);
  ASSERT_EQ(made.status, 201u) << made.body;
  const Reply replayed = call(http::verb::post, "/v1/keys", first, R"({"label": "once"})", once);
  EXPECT_EQ(replayed.status, 201u);
  EXPECT_STREQ(replayed.json["key_id"].GetString(), made.json["key_id"].GetString());
  EXPECT_EQ(replayed.body.find(made.json["api_key"].GetString()), std::string::npos);
  EXPECT_EQ(
      call(http::verb::delete_, "/v1/keys/" + std::string(made.json["key_id"].GetString()), first)
          .status,
      200u);
  EXPECT_EQ(call(http::verb::delete_, "/v1/keys/XYZ", first).status, 404u);
  EXPECT_EQ(call(http::verb::post, "/v1/keys", first, R"({"expires_in_days": 0})").status, 400u);
  const Reply revoked = call(http::verb::delete_, "/v1/keys/" + second_id, first);
  ASSERT_EQ(revoked.status, 200u) << revoked.body;
  EXPECT_EQ(call(http::verb::get, "/v1/account", second).status, 401u)
      << "refused at once on this gateway";
  const Reply last = call(http::verb::delete_, "/v1/keys/" + first_id, first);
  EXPECT_EQ(last.status, 409u) << "the last usable key stays: " << last.body;

  // An expired key is refused like a revoked one (the recheck runs every 0.5 s).
  const Reply third = call(http::verb::post, "/v1/keys", first, "{}");
  ASSERT_EQ(third.status, 201u);
  const std::string third_key = third.json["api_key"].GetString();
  ASSERT_EQ(call(http::verb::get, "/v1/account", third_key).status, 200u);
  {
    pqxx::connection connection(db_.conninfo());
    pqxx::work txn(connection);
    txn.exec_params(
        "UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE key_id = $1",
        std::string(third.json["key_id"].GetString()));
    txn.commit();
  }
  unsigned status = 0;
  for (int i = 0; i < 40 && status != 401u; ++i) {
    std::this_thread::sleep_for(100ms);
    status = call(http::verb::get, "/v1/account", third_key).status;
  }
  EXPECT_EQ(status, 401u) << "an expired key stops working within the recheck";
}

}  // namespace
}  // namespace spotgrid::gateway
