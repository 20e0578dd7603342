#include "request_guards.hpp"

#include "spotgrid/util/pg_session.hpp"
#include "spotgrid/util/thread_role.hpp"

#include <openssl/evp.h>

#include <array>
#include <charconv>
#include <pqxx/pqxx>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "spotgrid/util/hex.hpp"
#include "spotgrid/util/json.hpp"
namespace spotgrid::gateway {

namespace {

std::string hex_digest(const EVP_MD* algorithm, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned length = 0;
  EVP_Digest(data.data(), data.size(), digest.data(), &length, algorithm, nullptr);
  return util::to_hex(digest.data(), length);
}

// The secrets a route may answer with: shown once, never stored.
constexpr std::array<std::string_view, 3> kSecretFields = {"api_key", "agent_key", "secret"};

std::string held_name(const std::string& scope, const std::string& key) {
  return scope + '\n' + key;
}

}  // namespace

LocalBuckets::LocalBuckets(std::uint32_t per_second, std::uint32_t burst)
    : per_second_(per_second), burst_milli_(std::int64_t{std::max(burst, 1u)} * 1'000) {}

std::uint32_t LocalBuckets::take(std::string_view name, std::uint32_t tokens) {
  if (per_second_ == 0) return 0;
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  auto it = buckets_.find(std::string(name));
  if (it == buckets_.end()) {
    if (buckets_.size() >= kMaxBuckets) evict(now);
    it = buckets_.emplace(std::string(name), Bucket{burst_milli_, now}).first;
  }
  Bucket& bucket = it->second;
  // milli-tokens per microsecond = per_second / 1000. Only whole milli-tokens
  // are added and `at` moves by the time they took, so frequent callers lose
  // no fraction; a long idle is capped at a full refill (no overflow).
  const std::int64_t full_us = (burst_milli_ - bucket.milli_tokens) * 1'000 / per_second_ + 1;
  const std::int64_t elapsed_us = std::min<std::int64_t>(
      full_us, std::chrono::duration_cast<std::chrono::microseconds>(now - bucket.at).count());
  const std::int64_t added = elapsed_us * per_second_ / 1'000;
  bucket.milli_tokens = std::min(burst_milli_, bucket.milli_tokens + added);
  bucket.at = elapsed_us >= full_us
                  ? now
                  : bucket.at + std::chrono::microseconds(added * 1'000 / per_second_);
  const std::int64_t cost = std::int64_t{tokens} * 1'000;
  if (bucket.milli_tokens >= cost) {
    bucket.milli_tokens -= cost;
    return 0;
  }
  const std::int64_t missing = cost - bucket.milli_tokens;
  return static_cast<std::uint32_t>(
      std::max<std::int64_t>(1, (missing + per_second_ - 1) / per_second_));
}

void LocalBuckets::evict(std::chrono::steady_clock::time_point now) {
  std::erase_if(buckets_, [&](const auto& entry) {
    const auto idle_us =
        std::chrono::duration_cast<std::chrono::microseconds>(now - entry.second.at).count();
    return idle_us >= (burst_milli_ - entry.second.milli_tokens) * 1'000 / per_second_;
  });
  if (buckets_.size() >= kMaxBuckets) buckets_.clear();
}

RateLimiter::RateLimiter(Redis& redis, std::uint32_t per_second, std::uint32_t burst)
    : redis_(redis), per_second_(per_second), local_(per_second, burst) {}

std::uint32_t RateLimiter::take(std::string_view bucket) {
  if (per_second_ == 0) return 0;
  const auto now = std::chrono::steady_clock::now();
  const std::string name(bucket);
  {
    const std::lock_guard lock(mutex_);
    if (const auto blocked = blocked_until_.find(name); blocked != blocked_until_.end()) {
      if (now < blocked->second) {
        // Refused, and its token spent all the same: a bucket must not fill
        // up while the key is blocked and pour it all out when the second ends.
        local_.take(bucket);
        return static_cast<std::uint32_t>(
            std::chrono::ceil<std::chrono::milliseconds>(blocked->second - now).count());
      }
      blocked_until_.erase(blocked);
    }
  }
  const std::uint32_t wait_ms = local_.take(bucket);
  if (wait_ms != 0) return wait_ms;
  const std::lock_guard lock(mutex_);
  if (taken_.size() < LocalBuckets::kMaxBuckets || taken_.contains(name)) ++taken_[name];
  return 0;
}

void RateLimiter::share_through_redis() {
  if (per_second_ == 0 || !redis_.configured()) return;
  std::unordered_map<std::string, std::uint32_t> taken;
  {
    const std::lock_guard lock(mutex_);
    taken.swap(taken_);
  }
  if (taken.empty()) return;
  // One counter per bucket and wall-clock second, shared by every gateway.
  const auto second = std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::system_clock::now().time_since_epoch());
  std::string suffix(1, ':');
  suffix += std::to_string(second.count());
  std::vector<std::string> names;
  std::vector<std::vector<std::string>> commands;
  std::uint64_t requests = 0;
  for (const auto& [name, count] : taken) {
    std::string key = "spotgrid:rate:";
    key += name;
    key += suffix;
    commands.push_back({"INCRBY", key, std::to_string(count)});
    commands.push_back({"EXPIRE", key, "2"});
    names.push_back(name);
    requests += count;
  }
  const auto replies = redis_.pipeline(commands);
  if (!replies || replies->size() != commands.size()) {
    local_fallbacks_ += requests;  // this process's own buckets decided alone
    return;
  }
  // Until the end of the counted second (the reply may come after it ended).
  const auto wall = std::chrono::system_clock::now().time_since_epoch();
  const auto left = second + std::chrono::seconds(1) - wall;
  if (left <= decltype(left)::zero()) return;
  const auto blocked_until = std::chrono::steady_clock::now() +
                             std::chrono::duration_cast<std::chrono::steady_clock::duration>(left);
  const std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < names.size(); ++i) {
    // Together the gateways may pass per_second in a second; the burst is
    // each process's own (its bucket).
    const RedisReply& total = (*replies)[2 * i];
    if (total.type == RedisReply::Type::kInteger &&
        total.integer > static_cast<long long>(per_second_)) {
      blocked_until_[names[i]] = blocked_until;
    }
  }
  if (blocked_until_.size() > LocalBuckets::kMaxBuckets) blocked_until_.clear();
}

IdempotencyStore::IdempotencyStore(std::string conninfo, std::chrono::seconds ttl)
    : database_(std::make_unique<util::PgSession>(std::move(conninfo))), ttl_(ttl) {}

IdempotencyStore::~IdempotencyStore() = default;

IdempotencyClaim IdempotencyStore::claim(const std::string& scope, const std::string& key,
                                         const std::string& fingerprint) {
  util::assert_may_block();
  // Held first, so that two requests with one key never both look it up and run.
  {
    std::lock_guard lock(held_mutex_);
    if (!held_.insert(held_name(scope, key)).second)
      return {IdempotencyClaim::Kind::kInProgress, {}};
  }
  std::optional<IdempotencyClaim> answered;
  bool unavailable = false;
  try {
    answered = database_->run(
        [&](pqxx::connection& connection) { return stored(connection, scope, key, fingerprint); });
  } catch (const std::exception&) {
    unavailable = true;
  }
  if (!unavailable && !answered) return {IdempotencyClaim::Kind::kProceed, {}};
  release(scope, key);
  if (unavailable) return {IdempotencyClaim::Kind::kUnavailable, {}};
  return *std::move(answered);
}

void IdempotencyStore::release(const std::string& scope, const std::string& key) {
  std::lock_guard lock(held_mutex_);
  held_.erase(held_name(scope, key));
}

std::optional<IdempotencyClaim> IdempotencyStore::stored(pqxx::connection_base& connection,
                                                         const std::string& scope,
                                                         const std::string& key,
                                                         const std::string& fingerprint) {
  pqxx::nontransaction txn(connection, "idempotency");
  // Expired keys go in bulk, at most once a minute (index on created_at).
  if (const auto now = std::chrono::steady_clock::now(); now >= next_cleanup_) {
    next_cleanup_ = now + std::chrono::minutes(1);
    txn.exec_params(
        "DELETE FROM idempotency_keys WHERE created_at <= now() - make_interval(secs => $1)",
        static_cast<long long>(ttl_.count()));
  }
  // Rows older than the key lifetime are as good as gone; a new command with
  // the key replaces them.
  const pqxx::result rows = txn.exec_params(
      "SELECT fingerprint, status, response FROM idempotency_keys"
      " WHERE scope = $1 AND idempotency_key = $2 AND status IS NOT NULL"
      " AND created_at > now() - make_interval(secs => $3)",
      scope, key, static_cast<long long>(ttl_.count()));
  if (rows.empty()) return std::nullopt;
  if (rows[0][0].as<std::string>() != fingerprint)
    return IdempotencyClaim{IdempotencyClaim::Kind::kConflict, {}};
  IdempotencyClaim replayed{IdempotencyClaim::Kind::kReplay, {}};
  replayed.replay.status = rows[0][1].as<unsigned>();
  replayed.replay.body = rows[0][2].as<std::string>();
  replayed.replay.headers.emplace_back("Idempotent-Replayed", "true");
  return replayed;
}

std::string redact_secrets(std::string_view body) {
  rapidjson::Document document;
  if (util::parse_json(document, body, limits::kMaxJsonBytes) || !document.IsObject())
    return std::string(body);
  bool changed = false;
  for (const std::string_view name : kSecretFields) {
    // kSecretFields are literals: data() ends with NUL.
    if (!document.HasMember(name.data())) continue;
    document[name.data()].SetString("(shown once, in the first answer; never stored)");
    changed = true;
  }
  if (!changed) return std::string(body);
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  document.Accept(writer);
  return {buffer.GetString(), buffer.GetSize()};
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
