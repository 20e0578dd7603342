#include "front_door.hpp"

#include <memory>
#include <utility>

#include "api_support.hpp"
#include "json_body.hpp"

namespace spotgrid::gateway {

// A /v1 request: the key from memory on this thread when the cache knows it,
// else looked up on a worker; then the rate limit (memory) and the route.
void FrontDoor::authenticated(HttpRequest&& request, const V1Match& match, Respond done) {
  // Cheap and before any key lookup: one address cannot flood the key store.
  if (const std::uint32_t wait_ms = parts_.address_limiter.take(request.client_address);
      wait_ms > 0)
    return done(limited(wait_ms, "too many requests from this address"));
  if (request.header("Authorization").empty()) {
    if (auto refusal = from_session(request, done)) return done(std::move(*refusal));
    if (request.header("Authorization").empty()) {
      // The public reads market data; anything else wants a key, refused
      // before it costs a worker or an idempotency claim.
      if (request.method != "GET") return done(refused(AuthFailure::kMissing));
      return with_caller(public_caller(request.client_address), std::move(request), match,
                         std::move(done));
    }
  }
  if (auto known = parts_.keys.authenticate_from_memory(request.header("Authorization")))
    return with_caller(*known, std::move(request), match, std::move(done));
  const std::string owner = address_owner(request.client_address);
  run_on_worker(
      parts_.key_lookups, owner,
      [this, request = std::move(request), match](const Respond& answer) mutable {
        const auto caller = parts_.keys.authenticate(request.header("Authorization"));
        with_caller(caller, std::move(request), match, answer);
      },
      std::move(done));
}

void FrontDoor::with_caller(const std::variant<Principal, AuthFailure>& caller,
                            HttpRequest&& request, const V1Match& match, Respond done) {
  if (const auto* failure = std::get_if<AuthFailure>(&caller)) return done(refused(*failure));
  const Principal& principal = std::get<Principal>(caller);
  parts_.keys.note_use(principal, request.client_address);
  if (auto refusal = scope_refusal(principal, match)) return done(std::move(*refusal));
  // Per account (platform roles and the public: per key or address): more
  // keys do not buy an account more requests.
  if (const std::uint32_t wait_ms = parts_.rate_limiter.take(owner_of(principal)); wait_ms > 0)
    return done(limited(wait_ms, "too many requests for this account"));
  const std::size_t idempotency_keys = request.header_count("Idempotency-Key");
  if (request.method == "POST" && idempotency_keys > 1) {
    return done(
        error_response(400, "invalid_header", "send one Idempotency-Key", "Idempotency-Key"));
  }
  // No route, no claim: a 404 or 405 costs no PostgreSQL round trip.
  if (request.method != "POST" || idempotency_keys == 0 || !match.route)
    return handle_v1(parts_.api, principal, std::move(request), match, std::move(done));
  // An empty key is refused, not taken for none: a client whose key came out
  // empty would otherwise have its retries applied again.
  if (!valid_idempotency_key(request.header("Idempotency-Key"))) {
    return done(error_response(400, "invalid_header",
                               "Idempotency-Key must be 1 to 255 printable ASCII characters",
                               "Idempotency-Key"));
  }
  // The claim asks PostgreSQL: on a worker.
  run_on_worker(
      parts_.workers, owner_of(principal),
      [this, principal, request = std::move(request), match](const Respond& answer) mutable {
        const std::string key(request.header("Idempotency-Key"));
        idempotent(principal, std::move(request), match, key, answer);
      },
      std::move(done));
}

namespace {

// A query name as a refusal's field: printable ASCII, and short, whatever was sent.
std::string field_of(std::string_view name) {
  if (name.empty()) return "query";
  std::string field(name.substr(0, 64));
  for (char& c : field) {
    if (c < 0x21 || c > 0x7e) c = '?';
  }
  return field;
}

}  // namespace

std::optional<HttpResponse> FrontDoor::request_refusal(const HttpRequest& request,
                                                       std::optional<std::string_view> reads) {
  if (request.header_count("Authorization") > 1)
    return error_response(400, "invalid_header", "send one Authorization header", "Authorization");
  if (const auto name = repeated_query_name(request.target))
    return error_response(400, "invalid_query", "give each query parameter once", field_of(*name));
  if (const auto name = reads ? unknown_query_name(request.target, *reads) : std::nullopt) {
    return error_response(400, "invalid_query", "this route has no such query parameter",
                          field_of(*name));
  }
  return std::nullopt;
}

HttpResponse FrontDoor::refused(AuthFailure failure) {
  if (failure == AuthFailure::kUnavailable)
    return error_response(503, "unavailable", "cannot check the API key now");
  HttpResponse answer =
      error_response(401, "unauthorized",
                     failure == AuthFailure::kMissing
                         ? "send Authorization: Bearer <API key>, or sign in (POST /v1/session)"
                         : "the API key is not valid",
                     "Authorization");
  answer.headers.emplace_back("WWW-Authenticate", "Bearer");
  return answer;
}

// 429 with Retry-After in whole seconds, counted for /metrics.
HttpResponse FrontDoor::limited(std::uint32_t wait_ms, std::string_view why) {
  ++rate_limited_;
  HttpResponse answer = error_response(429, "rate_limited", why);
  answer.headers.emplace_back("Retry-After", std::to_string((wait_ms + 999) / 1000));
  return answer;
}

// A POST with an Idempotency-Key: runs once per key; repeats get the first answer.
void FrontDoor::idempotent(const Principal& principal, HttpRequest&& request, const V1Match& match,
                           const std::string& idempotency_key, Respond done) {
  // Platform roles have no account of their own: their keys are scoped by API key.
  std::string scope = owner_of(principal);
  std::string fingerprint = request_fingerprint(request.method, request.target, request.body);
  const IdempotencyClaim claim = parts_.idempotency.claim(scope, idempotency_key, fingerprint);
  switch (claim.kind) {
    case IdempotencyClaim::Kind::kReplay:
      return done(claim.replay);
    case IdempotencyClaim::Kind::kConflict:
      return done(error_response(422, "idempotency_key_reused",
                                 "this Idempotency-Key was used with a different request",
                                 "Idempotency-Key"));
    case IdempotencyClaim::Kind::kInProgress:
      return done(error_response(409, "idempotency_key_in_progress",
                                 "a request with this Idempotency-Key is still in progress",
                                 "Idempotency-Key"));
    case IdempotencyClaim::Kind::kUnavailable:
      return done(error_response(503, "unavailable",
                                 "cannot look the Idempotency-Key up now: nothing was applied"));
    case IdempotencyClaim::Kind::kProceed:
      break;
  }
  // The key is held until the answer is about to go out: released before
  // the write, or a client's immediate retry could find it still held (409).
  // A handler that drops its Respond releases it too.
  auto hold = std::make_shared<HeldKey>(parts_.idempotency, scope, idempotency_key);
  Api keyed = parts_.api;
  keyed.idempotency = std::make_shared<const IdempotentRequest>(IdempotentRequest{
      std::move(scope), idempotency_key, std::move(fingerprint), parts_.idempotency.ttl().count()});
  Respond release = [hold = std::move(hold), done = std::move(done)](HttpResponse response) {
    hold->release();
    done(std::move(response));
  };
  handle_v1(keyed, principal, std::move(request), match, std::move(release));
}

namespace {

bool changes_state(std::string_view method) {
  return method != "GET" && method != "HEAD";
}

// Whether a browser says the request comes from a page of this origin (or
// from no page: typed, or not a browser at all). Another origin's page, even
// on this host (another port is the same "site"), may not use the cookie.
bool from_this_origin(const HttpRequest& request) {
  const std::string_view site = request.header("Sec-Fetch-Site");
  return site.empty() || site == "same-origin" || site == "none";
}

HttpResponse session_refusal(BrowserSessions::Failure failure) {
  switch (failure) {
    case BrowserSessions::Failure::kBadCsrf:
      return error_response(403, "csrf_failed",
                            "send the session's csrf_token in X-CSRF-Token (GET /v1/session)",
                            "X-CSRF-Token");
    case BrowserSessions::Failure::kFull:
      return error_response(503, "unavailable", "too many sessions are open: retry shortly");
    case BrowserSessions::Failure::kNoSession:
      break;
  }
  return error_response(401, "session_ended", "the session has ended: sign in again", "Cookie");
}

}  // namespace

std::optional<HttpResponse> FrontDoor::from_session(HttpRequest& request, Respond& done) {
  const std::string_view token = cookie_value(request.header("Cookie"), kSessionCookie);
  if (token.empty()) return std::nullopt;
  if (!from_this_origin(request) && changes_state(request.method))
    return session_refusal(BrowserSessions::Failure::kBadCsrf);
  auto live =
      parts_.sessions.find(token, request.header("X-CSRF-Token"), changes_state(request.method));
  if (const auto* failure = std::get_if<BrowserSessions::Failure>(&live)) {
    if (*failure != BrowserSessions::Failure::kNoSession) return session_refusal(*failure);
    // A cookie this gateway does not know (expired, signed out, restarted):
    // the caller is the public, and its browser is told to drop the cookie.
    done = [this, done = std::move(done)](HttpResponse answer) {
      done(session_cookie(std::move(answer), "", std::chrono::seconds{0}));
    };
    return std::nullopt;
  }
  // Set, not added: an empty Authorization header sent with the cookie would
  // otherwise stay first and hide the session's key.
  request.set_header("Authorization", "Bearer " + std::get<BrowserSessions::Live>(live).api_key);
  return std::nullopt;
}

FrontDoor::StreamCaller FrontDoor::stream_caller(const HttpRequest& request) {
  if (const std::string_view given = request.header("Authorization"); !given.empty())
    return {std::string(given), {}};
  const auto ticket = query_value(request.target, kStreamTicket);
  if (!ticket) return {};
  auto redeemed = parts_.sessions.redeem(*ticket);
  // A used or unknown ticket is a refusal, not the public: "Bearer" alone fails.
  if (!redeemed) return {"Bearer", {}};
  return {"Bearer " + redeemed->api_key, std::move(redeemed->session)};
}

void FrontDoor::session(HttpRequest&& request, std::string_view path, Respond done) {
  const std::string_view token = cookie_value(request.header("Cookie"), kSessionCookie);
  if (path == "/v1/session" && request.method == "POST") return sign_in(std::move(request), done);
  if (path == "/v1/session/ticket" && request.method == "POST") {
    auto ticket = parts_.sessions.ticket(token, request.header("X-CSRF-Token"));
    if (const auto* failure = std::get_if<BrowserSessions::Failure>(&ticket))
      return done(session_refusal(*failure));
    return done(json(201, [&](Writer& w) {
      field(w, "ticket", std::get<std::string>(ticket));
      field(w, "expires_in_seconds", BrowserSessions::kTicketLifetime.count());
    }));
  }
  if (path != "/v1/session" || (request.method != "GET" && request.method != "DELETE")) {
    return done(error_response(405, "method_not_allowed",
                               "POST /v1/session signs in, GET shows it, DELETE signs out; "
                               "POST /v1/session/ticket gives a stream ticket",
                               "method"));
  }
  auto live =
      parts_.sessions.find(token, request.header("X-CSRF-Token"), changes_state(request.method));
  if (const auto* failure = std::get_if<BrowserSessions::Failure>(&live)) {
    HttpResponse refusal = session_refusal(*failure);
    if (*failure == BrowserSessions::Failure::kNoSession && !token.empty())
      refusal = session_cookie(std::move(refusal), "", std::chrono::seconds{0});
    return done(std::move(refusal));
  }
  if (request.method == "DELETE") {
    parts_.sessions.close(token);
    HttpResponse signed_out{204, "", "application/json", {{"Cache-Control", "no-store"}}, {}};
    return done(session_cookie(std::move(signed_out), "", std::chrono::seconds{0}));
  }
  const BrowserSessions::Live session = std::get<BrowserSessions::Live>(live);
  with_key(
      session.api_key, request.client_address,
      [session](const Principal& principal, const Respond& answer) {
        answer(session_view(200, principal, session.csrf, session.expires_at));
      },
      std::move(done));
}

// Checks `api_key` like any other (from memory, else on the key-lookup pool)
// and hands its caller on.
void FrontDoor::with_key(const std::string& api_key, const std::string& client_address,
                         std::function<void(const Principal&, const Respond&)> then, Respond done) {
  const std::string authorization = "Bearer " + api_key;
  const auto finish = [then = std::move(then)](const std::variant<Principal, AuthFailure>& caller,
                                               const Respond& answer) {
    if (const auto* failure = std::get_if<AuthFailure>(&caller)) return answer(refused(*failure));
    then(std::get<Principal>(caller), answer);
  };
  if (auto known = parts_.keys.authenticate_from_memory(authorization)) return finish(*known, done);
  run_on_worker(
      parts_.key_lookups, address_owner(client_address),
      [this, authorization, finish](const Respond& answer) {
        finish(parts_.keys.authenticate(authorization), answer);
      },
      std::move(done));
}

// POST /v1/session {"api_key"}: a session and its cookie for a valid key.
void FrontDoor::sign_in(HttpRequest&& request, Respond done) {
  // No signing a browser in from another page's form or script (login CSRF):
  // a JSON body needs a CORS preflight, which this server never grants.
  if (!from_this_origin(request) || !is_json_media_type(request.header("Content-Type"))) {
    return done(error_response(403, "forbidden",
                               "sign in from the console, with a JSON body (application/json)"));
  }
  JsonBody body(request.body);
  body.only({"api_key"});
  const auto key = body.text("api_key", 128);
  if (body.problem()) return done(bad_request(*body.problem()));
  with_key(
      *key, request.client_address,
      [this, key = *key](const Principal& principal, const Respond& answer) {
        if (principal.role == Role::kAgent) {
          return answer(error_response(403, "forbidden",
                                       "an agent key cannot sign in to the console", "api_key"));
        }
        auto opened = parts_.sessions.open(key, owner_of(principal));
        if (const auto* failure = std::get_if<BrowserSessions::Failure>(&opened))
          return answer(session_refusal(*failure));
        const auto& session = std::get<BrowserSessions::Opened>(opened);
        answer(session_cookie(session_view(201, principal, session.csrf, session.expires_at),
                              session.token, BrowserSessions::kLifetime));
      },
      std::move(done));
}

// The session as the page sees it: who is signed in and the CSRF token. Same
// origin only: no CORS headers are ever sent, so no other site reads it.
HttpResponse FrontDoor::session_view(unsigned status, const Principal& principal,
                                     const std::string& csrf,
                                     std::chrono::system_clock::time_point expires_at) {
  const auto expires =
      std::chrono::duration_cast<std::chrono::seconds>(expires_at.time_since_epoch());
  HttpResponse answer = json(status, [&](Writer& w) {
    field(w, "account_id", principal.account);
    field(w, "role", to_string(principal.role));
    field(w, "csrf_token", csrf);
    field(w, "expires_at", static_cast<std::int64_t>(expires.count()));
  });
  answer.headers.emplace_back("Cache-Control", "no-store");
  return answer;
}

HttpResponse FrontDoor::session_cookie(HttpResponse answer, std::string_view value,
                                       std::chrono::seconds max_age) const {
  std::string cookie =
      std::string(kSessionCookie) + "=" + std::string(value) +
      "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" + std::to_string(max_age.count());
  if (parts_.secure_cookies) cookie += "; Secure";
  answer.headers.emplace_back("Set-Cookie", std::move(cookie));
  return answer;
}

}  // namespace spotgrid::gateway
