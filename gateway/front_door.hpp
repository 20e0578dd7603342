#pragma once
// What a /v1 request passes before its route (docs/architecture.md#data-flow):
// the client address's bucket, the API key (from memory, else looked up on the
// key-lookup pool), the key's bucket, and for a POST with an Idempotency-Key
// the claim in PostgreSQL (on the worker pool). Nothing here waits on the
// calling thread.
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "api.hpp"
#include "browser_sessions.hpp"
#include "request_guards.hpp"
#include "spotgrid/gateway/auth.hpp"
#include "spotgrid/gateway/http.hpp"
#include "worker_pool.hpp"

namespace spotgrid::gateway {

struct FrontDoorParts {
  KeyStore& keys;
  LocalBuckets& address_limiter;
  RateLimiter& rate_limiter;
  IdempotencyStore& idempotency;
  WorkerPool& workers;      // idempotency claims
  WorkerPool& key_lookups;  // keys the cache does not know
  Api& api;
  BrowserSessions& sessions;
  bool secure_cookies;  // TLS: cookies carry Secure
};

class FrontDoor {
 public:
  explicit FrontDoor(FrontDoorParts parts) : parts_(parts) {}

  // A /v1 request, matched to its route. The caller is its API key, else its
  // browser session, else the public.
  void authenticated(HttpRequest&& request, const V1Match& match, Respond done);
  // /v1/session and /v1/session/ticket: sign in, who am I, sign out, a
  // WebSocket ticket.
  void session(HttpRequest&& request, std::string_view path, Respond done);
  // Who a stream upgrade is: the Authorization header it stands for (its own,
  // else the key behind its ?ticket=, used up, else "": the public) and, for a
  // ticket, the console session that gave it.
  struct StreamCaller {
    std::string authorization;
    std::string browser_session;
  };
  StreamCaller stream_caller(const HttpRequest& request);
  // 429 with Retry-After in whole seconds, counted.
  HttpResponse limited(std::uint32_t wait_ms, std::string_view why);
  std::uint64_t rate_limited() const { return rate_limited_.load(); }
  // 401 (with WWW-Authenticate) or 503 for a key that did not pass.
  static HttpResponse refused(AuthFailure failure);
  // 400 for a /v1 request a proxy in front could read as another one (two
  // Authorization headers, a query parameter given twice) or with a query
  // parameter not among `reads` (its route's, space-separated; unchecked when
  // there is no route: the request gets its 404 or 405), as an unknown body
  // field is refused: a misspelt filter is not ignored.
  static std::optional<HttpResponse> request_refusal(const HttpRequest& request,
                                                     std::optional<std::string_view> reads);
  // The one query parameter of a stream upgrade (stream_caller).
  static constexpr std::string_view kStreamTicket = "ticket";

 private:
  // Puts the key of the request's session cookie in its Authorization header;
  // the refusal when the CSRF check fails. A cookie naming no live session
  // leaves the caller the public, and `done` then clears the cookie.
  std::optional<HttpResponse> from_session(HttpRequest& request, Respond& done);
  void sign_in(HttpRequest&& request, Respond done);
  void with_key(const std::string& api_key, const std::string& client_address,
                std::function<void(const Principal&, const Respond&)> then, Respond done);
  static HttpResponse session_view(unsigned status, const Principal& principal,
                                   const std::string& csrf,
                                   std::chrono::system_clock::time_point expires_at);
  HttpResponse session_cookie(HttpResponse answer, std::string_view value,
                              std::chrono::seconds max_age) const;
  void with_caller(const std::variant<Principal, AuthFailure>& caller, HttpRequest&& request,
                   const V1Match& match, Respond done);
  void idempotent(const Principal& principal, HttpRequest&& request, const V1Match& match,
                  const std::string& idempotency_key, Respond done);

  FrontDoorParts parts_;
  std::atomic<std::uint64_t> rate_limited_{0};
};

}  // namespace spotgrid::gateway
