#pragma once
// What the gateway checks around a request: a token bucket per API key (429
// with Retry-After; decided in memory, shared through Redis), and idempotency keys on
// POST (the same key and body answer the first response again; another body
// gets 422).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

#include "redis.hpp"
#include "spotgrid/gateway/http.hpp"

namespace pqxx {
class connection_base;
}
namespace spotgrid::util {
class PgSession;
}

namespace spotgrid::gateway {

// Token buckets by name in this process (integer milli-tokens, no clock but
// the steady one). At most kMaxBuckets names: when full, the buckets that
// have refilled completely (their clients went quiet) are dropped first, and
// if none has, all of them (a flood of names must not grow memory).
class LocalBuckets {
 public:
  static constexpr std::size_t kMaxBuckets = 65'536;
  // per_second == 0: no limit.
  LocalBuckets(std::uint32_t per_second, std::uint32_t burst);
  // Milliseconds until `tokens` are available, or 0 when they were taken.
  std::uint32_t take(std::string_view name, std::uint32_t tokens = 1);

 private:
  struct Bucket {
    std::int64_t milli_tokens = 0;
    std::chrono::steady_clock::time_point at;
  };
  void evict(std::chrono::steady_clock::time_point now);

  std::int64_t per_second_;
  std::int64_t burst_milli_;
  std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
};

// A token bucket per API key, decided in memory on the request's thread (no
// Redis round trip per request). share_through_redis(), called every
// kShareEvery by a background thread, adds what this process let through to
// a per-second counter in Redis shared by every gateway; a key whose counter
// passes per_second is refused everywhere until that second ends. So one
// process keeps its own bucket exactly (bursts included), and several together
// pass per_second a second, overshooting by at most what each lets through in
// kShareEvery (plus each one's burst). Without Redis, each process's
// own bucket decides (counted in local_fallbacks()).
class RateLimiter {
 public:
  static constexpr std::chrono::milliseconds kShareEvery{100};
  // per_second == 0: no limit.
  RateLimiter(Redis& redis, std::uint32_t per_second, std::uint32_t burst);
  // Milliseconds until a token is available, or 0 when one was taken. Never waits.
  std::uint32_t take(std::string_view bucket);
  // May wait on Redis: a background thread.
  void share_through_redis();
  std::uint64_t local_fallbacks() const { return local_fallbacks_.load(); }

 private:
  Redis& redis_;
  std::uint32_t per_second_;
  LocalBuckets local_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::uint32_t> taken_;  // since the last share
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> blocked_until_;
  std::atomic<std::uint64_t> local_fallbacks_{0};
};

struct IdempotencyClaim {
  enum class Kind : std::uint8_t {
    kProceed,      // not answered before: run the request (the key is held until released)
    kReplay,       // answered before: send `replay`
    kConflict,     // the key was used with another request: 422
    kInProgress,   // the first request with this key is still running here: 409
    kUnavailable,  // PostgreSQL did not answer: 503, nothing applied
  };
  Kind kind = Kind::kUnavailable;
  HttpResponse replay;
};

// Idempotency keys on POST. PostgreSQL decides: a key is committed with the
// command it produced (ledger::RequestKey) and with the answer, so a retry
// after a restart of Redis or spotgridd finds the first answer, or finds
// nothing because nothing was committed. Redis plays no part. While a request
// runs its key is held in this process, so a concurrent retry gets 409 until
// the first answer; a crash drops every hold at once (nothing is stuck).
class IdempotencyStore {
 public:
  IdempotencyStore(std::string conninfo, std::chrono::seconds ttl);
  ~IdempotencyStore();
  IdempotencyStore(const IdempotencyStore&) = delete;
  IdempotencyStore& operator=(const IdempotencyStore&) = delete;

  // `scope` keeps callers apart; `fingerprint` identifies the request (method,
  // path and body). kProceed holds the key: release() it once answered.
  IdempotencyClaim claim(const std::string& scope, const std::string& key,
                         const std::string& fingerprint);
  void release(const std::string& scope, const std::string& key);
  std::chrono::seconds ttl() const { return ttl_; }

 private:
  // The stored answer for the key, if any (under database_'s lock).
  std::optional<IdempotencyClaim> stored(pqxx::connection_base& connection,
                                         const std::string& scope, const std::string& key,
                                         const std::string& fingerprint);

  std::unique_ptr<util::PgSession> database_;
  std::chrono::seconds ttl_;
  std::chrono::steady_clock::time_point next_cleanup_{};
  // Its own lock: release() runs on the persister thread, which must never
  // wait behind a lookup in PostgreSQL.
  std::mutex held_mutex_;
  std::set<std::string> held_;  // scope + '\n' + key, while in flight
};

// An idempotency key held while its request runs; released once, at the
// latest when destroyed.
class HeldKey {
 public:
  HeldKey(IdempotencyStore& store, std::string scope, std::string key)
      : store_(store), scope_(std::move(scope)), key_(std::move(key)) {}
  ~HeldKey() { release(); }
  HeldKey(const HeldKey&) = delete;
  HeldKey& operator=(const HeldKey&) = delete;
  void release() {
    if (!released_.exchange(true)) store_.release(scope_, key_);
  }

 private:
  IdempotencyStore& store_;
  std::string scope_;
  std::string key_;
  std::atomic<bool> released_{false};
};

// The answer as stored for a retry: any API key or agent key it shows is
// replaced by a note that the secret was shown once.
std::string redact_secrets(std::string_view body);

// SHA-256 (hex) of method, path and body: what an idempotency key is bound to.
std::string request_fingerprint(std::string_view method, std::string_view target,
                                std::string_view body);
// An Idempotency-Key must be 1 to 255 printable ASCII characters.
bool valid_idempotency_key(std::string_view key);

}  // namespace spotgrid::gateway
