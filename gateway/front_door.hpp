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
};

class FrontDoor {
 public:
  explicit FrontDoor(FrontDoorParts parts) : parts_(parts) {}

  // A /v1 request; `path` is its target without the query.
  void authenticated(HttpRequest&& request, std::string_view path, Respond done);
  // 429 with Retry-After in whole seconds, counted.
  HttpResponse limited(std::uint32_t wait_ms, std::string_view why);
  std::uint64_t rate_limited() const { return rate_limited_.load(); }
  // 401 (with WWW-Authenticate) or 503 for a key that did not pass.
  static HttpResponse refused(AuthFailure failure);
  // Whose share of the worker pool a request uses, and the scope of its
  // idempotency keys: the account, or for platform roles the API key.
  static std::string owner_of(const Principal& principal);

 private:
  void with_caller(const std::variant<Principal, AuthFailure>& caller, HttpRequest&& request,
                   std::string_view path, Respond done);
  void idempotent(const Principal& principal, HttpRequest&& request, std::string_view path,
                  const std::string& idempotency_key, Respond done);

  FrontDoorParts parts_;
  std::atomic<std::uint64_t> rate_limited_{0};
};

}  // namespace spotgrid::gateway
