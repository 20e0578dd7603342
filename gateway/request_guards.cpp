#include "request_guards.hpp"

#include <openssl/evp.h>

#include <array>
#include <charconv>
#include <pqxx/pqxx>

#include "spotgrid/util/hex.hpp"
namespace spotgrid::gateway {

namespace {

std::string hex_digest(const EVP_MD* algorithm, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned length = 0;
  EVP_Digest(data.data(), data.size(), digest.data(), &length, algorithm, nullptr);
  return util::to_hex(digest.data(), length);
}

// A token bucket in one hash per key, refilled from Redis's own clock so that
// every gateway process agrees. Returns {allowed, milliseconds to wait}.
constexpr std::string_view kTokenBucket = R"lua(
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) * 1000 / rate) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {wait == 0 and 1 or 0, wait}
)lua";

std::string redis_key(std::string_view scope, std::string_view key) {
  std::string out = "spotgrid:idem:";
  out += scope;
  out += ':';
  out += key;
  return out;
}

// An answer that applied nothing, so the key may be used again.
bool nothing_applied(const HttpResponse& response) {
  if (response.status == 429) return true;
  return response.status == 503 && response.body.find("\"outcome_unknown\"") == std::string::npos;
}

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// "D <fingerprint> <status> <body>" or "P <fingerprint>".
IdempotencyClaim decide(std::string_view stored, std::string_view fingerprint) {
  IdempotencyClaim replayed;
  if (stored.size() < 2 + fingerprint.size() || stored.substr(2, fingerprint.size()) != fingerprint)
    return {IdempotencyClaim::Kind::kConflict, {}, {}};
  if (stored[0] != 'D') return {IdempotencyClaim::Kind::kInProgress, {}, {}};
  std::string_view rest = stored.substr(2 + fingerprint.size());
  unsigned status = 0;
  if (rest.size() < 5) return {IdempotencyClaim::Kind::kInProgress, {}, {}};
  std::from_chars(rest.data() + 1, rest.data() + 4, status);
  replayed.kind = IdempotencyClaim::Kind::kReplay;
  replayed.replay.status = status;
  replayed.replay.body = std::string(rest.substr(5));
  replayed.replay.headers.emplace_back("Idempotent-Replayed", "true");
  return replayed;
}

std::string recorded(std::string_view fingerprint, const HttpResponse& response) {
  std::string value = "D ";
  value += fingerprint;
  value += ' ';
  value += std::to_string(response.status);
  value += ' ';
  value += response.body;
  return value;
}

}  // namespace

RateLimiter::RateLimiter(Redis& redis, std::uint32_t per_second, std::uint32_t burst)
    : redis_(redis),
      per_second_(per_second == 0 ? std::string() : std::to_string(per_second)),
      burst_(std::to_string(std::max(burst, 1u))) {}

std::uint32_t RateLimiter::take(std::string_view bucket) {
  if (per_second_.empty() || !redis_.configured()) return 0;
  static const std::string sha = hex_digest(EVP_sha1(), kTokenBucket);
  std::string key = "spotgrid:rate:";
  key += bucket;
  auto reply = redis_.command({"EVALSHA", sha, "1", key, per_second_, burst_});
  if (reply && reply->is_error() && reply->text.rfind("NOSCRIPT", 0) == 0)
    reply = redis_.command({"EVAL", kTokenBucket, "1", key, per_second_, burst_});
  if (!reply || reply->type != RedisReply::Type::kArray || reply->elements.size() != 2) {
    ++fail_open_;
    return 0;
  }
  if (reply->elements[0].integer == 1) return 0;
  return static_cast<std::uint32_t>(std::max(1LL, reply->elements[1].integer));
}

struct IdempotencyStore::Database {
  explicit Database(const std::string& conninfo) : connection(conninfo) {}
  pqxx::connection connection;
};

IdempotencyStore::IdempotencyStore(Redis& redis, std::string conninfo, std::chrono::seconds ttl)
    : redis_(redis), conninfo_(std::move(conninfo)), ttl_(ttl) {}

IdempotencyStore::~IdempotencyStore() = default;

IdempotencyClaim IdempotencyStore::claim(std::string_view scope, std::string_view key,
                                         std::string_view fingerprint) {
  const std::string name = redis_key(scope, key);
  std::string pending = "P ";
  pending += fingerprint;
  const std::string ttl = std::to_string(ttl_.count());
  auto taken = redis_.command({"SET", name, pending, "NX", "EX", ttl});
  if (taken && taken->type == RedisReply::Type::kNil) {
    const auto stored = redis_.command({"GET", name});
    if (stored && stored->type == RedisReply::Type::kString) {
      return decide(stored->text, fingerprint);
    }
    // Expired between the two commands (rare): claim it again, once; taken
    // again by someone else meanwhile, it is theirs and in progress.
    taken = stored ? redis_.command({"SET", name, pending, "NX", "EX", ttl}) : std::nullopt;
    if (taken && taken->type == RedisReply::Type::kNil)
      return {IdempotencyClaim::Kind::kInProgress, {}, {}};
  }
  if (!taken || taken->is_error()) {
    ++postgres_fallbacks_;
    postgres_checked_until_.store(now_seconds() + ttl_.count());
    IdempotencyClaim fallback = claim_in_postgres(scope, key, fingerprint);
    fallback.backend = IdempotencyBackend::kPostgres;
    return fallback;
  }
  if (now_seconds() >= postgres_checked_until_.load())
    return {IdempotencyClaim::Kind::kProceed, {}, {}};
  // Claimed in Redis, but PostgreSQL may hold this key from an outage.
  IdempotencyClaim checked = claim_in_postgres(scope, key, fingerprint);
  if (checked.kind == IdempotencyClaim::Kind::kProceed) {
    checked.backend = IdempotencyBackend::kBoth;
  } else {
    redis_.command({"DEL", name});
  }
  return checked;
}

void IdempotencyStore::finish(std::string_view scope, std::string_view key,
                              std::string_view fingerprint, IdempotencyBackend backend,
                              const HttpResponse& response) {
  const bool release = nothing_applied(response);
  if (backend != IdempotencyBackend::kPostgres) {
    const std::string name = redis_key(scope, key);
    if (release) {
      redis_.command({"DEL", name});
    } else {
      redis_.command(
          {"SET", name, recorded(fingerprint, response), "EX", std::to_string(ttl_.count())});
    }
  }
  if (backend != IdempotencyBackend::kRedis)
    finish_in_postgres(scope, key, release ? nullptr : &response);
}

IdempotencyClaim IdempotencyStore::claim_in_postgres(std::string_view scope, std::string_view key,
                                                     std::string_view fingerprint) {
  std::lock_guard lock(mutex_);
  try {
    if (!database_ || !database_->connection.is_open())
      database_ = std::make_unique<Database>(conninfo_);
    pqxx::work txn(database_->connection, "idempotency");
    txn.exec_params(
        "DELETE FROM idempotency_keys WHERE scope = $1 AND idempotency_key = $2"
        " AND created_at < now() - make_interval(secs => $3)",
        std::string(scope), std::string(key), static_cast<long long>(ttl_.count()));
    const pqxx::result inserted = txn.exec_params(
        "INSERT INTO idempotency_keys (scope, idempotency_key, fingerprint) VALUES ($1, $2, $3)"
        " ON CONFLICT DO NOTHING",
        std::string(scope), std::string(key), std::string(fingerprint));
    IdempotencyClaim result{IdempotencyClaim::Kind::kProceed, {}, {}};
    if (inserted.affected_rows() == 0) {
      const pqxx::row row = txn.exec_params1(
          "SELECT fingerprint, status, response FROM idempotency_keys"
          " WHERE scope = $1 AND idempotency_key = $2",
          std::string(scope), std::string(key));
      std::string stored = row[1].is_null() ? "P " : "D ";
      stored += row[0].as<std::string>();
      if (!row[1].is_null()) {
        stored += ' ';
        stored += row[1].as<std::string>();
        stored += ' ';
        stored += row[2].as<std::string>();
      }
      result = decide(stored, fingerprint);
    }
    txn.commit();
    return result;
  } catch (const std::exception&) {
    database_.reset();
    return {IdempotencyClaim::Kind::kUnavailable, {}, {}};
  }
}

void IdempotencyStore::finish_in_postgres(std::string_view scope, std::string_view key,
                                          const HttpResponse* response) {
  std::lock_guard lock(mutex_);
  try {
    if (!database_ || !database_->connection.is_open())
      database_ = std::make_unique<Database>(conninfo_);
    pqxx::work txn(database_->connection, "idempotency");
    if (response == nullptr) {
      txn.exec_params("DELETE FROM idempotency_keys WHERE scope = $1 AND idempotency_key = $2",
                      std::string(scope), std::string(key));
    } else {
      txn.exec_params(
          "UPDATE idempotency_keys SET status = $3, response = $4"
          " WHERE scope = $1 AND idempotency_key = $2",
          std::string(scope), std::string(key), static_cast<int>(response->status), response->body);
    }
    txn.commit();
  } catch (const std::exception&) {
    // The key stays pending: a retry gets 409 until it expires, never a second execution.
    database_.reset();
  }
}

std::string request_fingerprint(std::string_view method, std::string_view target,
                                std::string_view body) {
  std::string data(method);
  data += '\n';
  data += target;
  data += '\n';
  data += body;
  return hex_digest(EVP_sha256(), data);
}

bool valid_idempotency_key(std::string_view key) {
  if (key.empty() || key.size() > 255) return false;
  for (const char c : key) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

}  // namespace spotgrid::gateway
