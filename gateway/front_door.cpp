#include "front_door.hpp"

#include <memory>
#include <utility>

namespace spotgrid::gateway {

// A /v1 request: the key from memory on this thread when the cache knows it,
// else looked up on a worker; then the rate limit (memory) and the route.
void FrontDoor::authenticated(HttpRequest&& request, std::string_view path, Respond done) {
  // Cheap and before any key lookup: one address cannot flood the key store.
  if (const std::uint32_t wait_ms = parts_.address_limiter.take(request.client_address);
      wait_ms > 0)
    return done(limited(wait_ms, "too many requests from this address"));
  if (auto known = parts_.keys.authenticate_from_memory(request.header("Authorization")))
    return with_caller(*known, std::move(request), path, std::move(done));
  const std::string owner = "address-" + request.client_address;
  run_on_worker(
      parts_.key_lookups, owner,
      [this, request = std::move(request)](const Respond& answer) mutable {
        const auto caller = parts_.keys.authenticate(request.header("Authorization"));
        const std::string target(path_of(request.target));
        with_caller(caller, std::move(request), target, answer);
      },
      std::move(done));
}

void FrontDoor::with_caller(const std::variant<Principal, AuthFailure>& caller,
                            HttpRequest&& request, std::string_view path, Respond done) {
  if (const auto* failure = std::get_if<AuthFailure>(&caller)) return done(refused(*failure));
  const Principal& principal = std::get<Principal>(caller);
  if (const std::uint32_t wait_ms = parts_.rate_limiter.take(principal.key_id); wait_ms > 0)
    return done(limited(wait_ms, "too many requests for this key"));
  const std::string_view idempotency_key = request.header("Idempotency-Key");
  if (request.method == "POST" && request.header_count("Idempotency-Key") > 1) {
    return done(
        error_response(400, "invalid_header", "send one Idempotency-Key", "Idempotency-Key"));
  }
  if (request.method != "POST" || idempotency_key.empty())
    return handle_v1(parts_.api, principal, std::move(request), path, std::move(done));
  if (!valid_idempotency_key(idempotency_key)) {
    return done(error_response(400, "invalid_header",
                               "Idempotency-Key must be 1 to 255 printable ASCII characters",
                               "Idempotency-Key"));
  }
  // The claim asks PostgreSQL: on a worker.
  run_on_worker(
      parts_.workers, owner_of(principal),
      [this, principal, request = std::move(request)](const Respond& answer) mutable {
        const std::string target(path_of(request.target));
        const std::string key(request.header("Idempotency-Key"));
        idempotent(principal, std::move(request), target, key, answer);
      },
      std::move(done));
}

HttpResponse FrontDoor::refused(AuthFailure failure) {
  if (failure == AuthFailure::kUnavailable)
    return error_response(503, "unavailable", "cannot check the API key now");
  HttpResponse answer =
      error_response(401, "unauthorized",
                     failure == AuthFailure::kMissing ? "send Authorization: Bearer <API key>"
                                                      : "the API key is not valid",
                     "Authorization");
  answer.headers.emplace_back("WWW-Authenticate", "Bearer");
  return answer;
}

// Platform roles have no account of their own: they are counted by API key.
std::string FrontDoor::owner_of(const Principal& principal) {
  return is_platform_role(principal.role) ? "key-" + principal.key_id
                                          : "account-" + std::to_string(principal.account);
}

// 429 with Retry-After in whole seconds, counted for /metrics.
HttpResponse FrontDoor::limited(std::uint32_t wait_ms, std::string_view why) {
  ++rate_limited_;
  HttpResponse answer = error_response(429, "rate_limited", why);
  answer.headers.emplace_back("Retry-After", std::to_string((wait_ms + 999) / 1000));
  return answer;
}

// A POST with an Idempotency-Key: runs once per key; repeats get the first answer.
void FrontDoor::idempotent(const Principal& principal, HttpRequest&& request, std::string_view path,
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
  handle_v1(keyed, principal, std::move(request), path, std::move(release));
}

}  // namespace spotgrid::gateway
