#pragma once
// What the gateway checks around a request with Redis: a token bucket per API
// key (429 with Retry-After), and idempotency keys on POST (the same key and
// body answer the first response again; another body gets 422). Both fail
// open on a Redis outage: the rate limit lets requests through, idempotency
// falls back to PostgreSQL.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "redis.hpp"
#include "spotgrid/gateway/http.hpp"

namespace spotgrid::gateway {

class RateLimiter {
 public:
  // per_second == 0: no limit.
  RateLimiter(Redis& redis, std::uint32_t per_second, std::uint32_t burst);
  // Milliseconds until a token is available, or 0 when one was taken (or
  // Redis did not answer: counted in fail_open()).
  std::uint32_t take(std::string_view bucket);
  std::uint64_t fail_open() const { return fail_open_.load(); }

 private:
  Redis& redis_;
  std::string per_second_;
  std::string burst_;
  std::atomic<std::uint64_t> fail_open_{0};
};

enum class IdempotencyBackend : std::uint8_t { kRedis, kPostgres, kBoth };

struct IdempotencyClaim {
  enum class Kind : std::uint8_t {
    kProceed,      // first use: run the request, then finish()
    kReplay,       // answered before: send `replay`
    kConflict,     // the key was used with another request: 422
    kInProgress,   // the first request with this key is still running: 409
    kUnavailable,  // neither Redis nor PostgreSQL answered: 503
  };
  Kind kind = Kind::kUnavailable;
  HttpResponse replay;
  IdempotencyBackend backend = IdempotencyBackend::kRedis;
};

class IdempotencyStore {
 public:
  IdempotencyStore(Redis& redis, std::string conninfo, std::chrono::seconds ttl);
  ~IdempotencyStore();
  IdempotencyStore(const IdempotencyStore&) = delete;
  IdempotencyStore& operator=(const IdempotencyStore&) = delete;

  // `scope` keeps callers apart; `fingerprint` identifies the request (method,
  // path and body).
  IdempotencyClaim claim(std::string_view scope, std::string_view key,
                         std::string_view fingerprint);
  // Records the answer; one that applied nothing (429, or 503 other than an
  // unknown outcome) frees the key so that the client may retry with it.
  void finish(std::string_view scope, std::string_view key, std::string_view fingerprint,
              IdempotencyBackend backend, const HttpResponse& response);
  std::uint64_t postgres_fallbacks() const { return postgres_fallbacks_.load(); }

  struct Database;

 private:
  IdempotencyClaim claim_in_postgres(std::string_view scope, std::string_view key,
                                     std::string_view fingerprint);
  void finish_in_postgres(std::string_view scope, std::string_view key,
                          const HttpResponse* response);

  Redis& redis_;
  std::string conninfo_;
  std::chrono::seconds ttl_;
  std::mutex mutex_;  // the PostgreSQL connection
  std::unique_ptr<Database> database_;
  // Until when a claim made in Redis is also checked in PostgreSQL: keys taken
  // there during an outage stay binding after Redis is back.
  std::atomic<std::int64_t> postgres_checked_until_{0};
  std::atomic<std::uint64_t> postgres_fallbacks_{0};
};

// SHA-256 (hex) of method, path and body: what an idempotency key is bound to.
std::string request_fingerprint(std::string_view method, std::string_view target,
                                std::string_view body);
// An Idempotency-Key must be 1 to 255 printable ASCII characters.
bool valid_idempotency_key(std::string_view key);

}  // namespace spotgrid::gateway
