#pragma once
// API keys and roles (docs/architecture.md#security). A key is "sg_<key id>_<secret>": the id
// (64 random bits, hex) is public and indexes the key; only SHA-256 of the secret
// (256 random bits, hex) is stored, compared in constant time.
#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

#include "spotgrid/engine/types.hpp"
#include "spotgrid/ledger/durable_market.hpp"

namespace spotgrid::util {
class PgSession;
}

namespace spotgrid::gateway {

// kPublic: no key at all, for the market data anyone may read; counted and
// rate-limited by client address. No key ever has it.
enum class Role : std::uint8_t { kBuyer, kSupplier, kFinance, kOperator, kAgent, kPublic };
std::string_view to_string(Role role);
std::optional<Role> role_from(std::string_view name);
// Roles that act for the platform rather than for an account of their own.
inline bool is_platform_role(Role role) {
  return role == Role::kOperator || role == Role::kFinance;
}

// Whose share of quotas and pools a caller uses: their account, except for
// callers without one (platform roles, the public), counted by key_id.
inline bool counted_by_key(Role role) {
  return is_platform_role(role) || role == Role::kPublic;
}

// What a key may do within its role: everything, only read (GET), or only
// read money (GET of billing, the ledger and the account).
enum class KeyScope : std::uint8_t { kFull, kRead, kBilling };
std::string_view to_string(KeyScope scope);
std::optional<KeyScope> scope_from(std::string_view name);

struct Principal {
  std::string key_id;     // for the public: "address-<client address>"
  AccountId account = 0;  // 0 for platform roles and the public
  Role role = Role::kBuyer;
  KeyScope scope = KeyScope::kFull;
};

// Whose share of the worker pool a request uses, and the scope of its
// idempotency keys: the account, else the key (or the public's address).
inline std::string owner_of(const Principal& principal) {
  return counted_by_key(principal.role) ? "key-" + principal.key_id
                                        : "account-" + std::to_string(principal.account);
}

struct ApiKey {
  std::string key_id;  // 16 hex digits
  std::string secret;  // 64 hex digits
  std::string token() const { return "sg_" + key_id + "_" + secret; }
};

ApiKey generate_api_key();                  // from OpenSSL's CSPRNG
std::string random_hex(std::size_t bytes);  // `bytes` from OpenSSL's CSPRNG, as hex
// Who a caller without a key is, for quotas and pools: its client address.
std::string address_owner(std::string_view client_address);
Principal public_caller(std::string_view client_address);
std::optional<ApiKey> parse_api_key(std::string_view token);
using SecretHash = std::array<unsigned char, 32>;
SecretHash hash_secret(std::string_view secret);

// An API key as its account sees it: never its secret. Times are unix
// seconds; 0 for "never".
struct KeyInfo {
  std::string key_id;
  std::string label;
  std::string role;
  std::string scope;
  std::int64_t created_at = 0;
  std::int64_t expires_at = 0;
  std::int64_t revoked_at = 0;
  std::int64_t last_used_at = 0;  // to the flush (about a second)
  std::string last_used_from;     // the client address
};

enum class AuthFailure : std::uint8_t {
  kMissing,      // no Authorization: Bearer header
  kInvalid,      // malformed, unknown, revoked or wrong secret: all look the same
  kUnavailable,  // PostgreSQL did not answer
};

// Keys and accounts in PostgreSQL, with verified keys cached in memory. The
// cache answers on any thread without waiting; a key it does not know is
// looked up (on a thread that may wait), and recheck_cached() confirms every
// cached key once a second, so a revocation takes effect within about one.
class KeyStore {
 public:
  // `operator_key` (from configuration) authenticates without the database.
  KeyStore(std::string conninfo, std::optional<ApiKey> operator_key);
  ~KeyStore();
  KeyStore(const KeyStore&) = delete;
  KeyStore& operator=(const KeyStore&) = delete;

  // From memory only: nothing when only PostgreSQL can tell.
  std::optional<std::variant<Principal, AuthFailure>> authenticate_from_memory(
      std::string_view authorization_header);
  // Asks PostgreSQL when memory cannot tell: a thread that may wait.
  std::variant<Principal, AuthFailure> authenticate(std::string_view authorization_header);
  // Confirms the cached keys with one query; revoked ones are forgotten at once.
  void recheck_cached();
  // A new account of `role` and its first key; throws when PostgreSQL fails.
  // With `request_key`, the idempotency key and `answer(account)` (what a retry is
  // answered, without the secret) commit with the account.
  std::pair<AccountId, ApiKey> create_account(
      std::string_view name, Role role, const ledger::RequestKey* request_key = nullptr,
      const std::function<ledger::StoredAnswer(AccountId)>& answer = {});
  // Keys of an account (issue 14). Another key with the owner's account and
  // role, a label and an optional lifetime (never past the creating key's
  // expiry), at most kMaxKeysPerAccount unrevoked; with `request_key`, the
  // Idempotency-Key and `answer(key)` commit with it. The account's keys,
  // newest first (at most kMaxKeysListed). A revocation: refused when it
  // would leave no lasting (non-expiring) key, and a key that expires may
  // revoke only itself. All throw when PostgreSQL fails.
  static constexpr std::size_t kMaxKeysPerAccount = 100;
  static constexpr std::size_t kMaxKeysListed = 1'000;
  enum class KeyRefusal : std::uint8_t { kTooMany };
  // A key is of `scope`, never wider than its creator's.
  std::variant<ApiKey, KeyRefusal> create_key(
      const Principal& owner, std::string_view label,
      std::optional<std::int64_t> expires_in_seconds, KeyScope scope = KeyScope::kFull,
      const ledger::RequestKey* request_key = nullptr,
      const std::function<ledger::StoredAnswer(const ApiKey&)>& answer = {});
  // A new key in place of `key_id` (same label, scope and expiry); the old one
  // keeps working for `grace_seconds` more (or until its own expiry, if sooner).
  // A key is rotated once; a key that expires rotates only itself.
  static constexpr std::int64_t kMinRotationGrace = 60;  // a lost answer must not lock out
  static constexpr std::int64_t kMaxRotationGrace = std::int64_t{7} * 86'400;
  enum class Rotated : std::uint8_t { kNoSuchKey, kAlreadyRotated, kTooMany };
  std::variant<ApiKey, Rotated> rotate(
      const Principal& caller, std::string_view key_id, std::int64_t grace_seconds,
      const ledger::RequestKey* request_key = nullptr,
      const std::function<ledger::StoredAnswer(const ApiKey&)>& answer = {});
  // A key was used from `address`: kept in memory, written by recheck_cached().
  void note_use(const Principal& caller, std::string_view address);
  std::vector<KeyInfo> keys_of(AccountId account);
  enum class Revoked : std::uint8_t { kRevoked, kNoSuchKey, kLastKey, kNotAllowed };
  Revoked revoke(const Principal& caller, std::string_view key_id);
  // Which of `key_ids` are valid now (not revoked, not expired), asking PostgreSQL once;
  // nothing when it did not answer.
  std::optional<std::unordered_set<std::string>> valid_among(
      const std::vector<std::string>& key_ids);
  // Whether `account` was created here; nothing when PostgreSQL did not answer.
  std::optional<bool> account_exists(AccountId account);

 private:
  // A cached key is good this long after recheck_cached() last confirmed it
  // (it confirms each second while PostgreSQL answers).
  static constexpr std::chrono::seconds kKeyGrace{30};
  static constexpr std::chrono::seconds kUnknownKeyMemory{5};
  static constexpr std::size_t kMaxCachedKeys = 65'536;  // each map; cleared when full

  struct Known {
    SecretHash hash;
    Principal principal;
    std::chrono::steady_clock::time_point checked_at;
  };

  void remember(const Known& known);  // takes cache_mutex_
  // A full map loses an eighth of its entries (whichever come first), not all.
  template <typename Map>
  static void evict_some(Map& map) {
    auto it = map.begin();
    for (std::size_t n = map.size() / 8 + 1; n > 0 && it != map.end(); --n)
      it = map.erase(it);
  }
  static std::variant<Principal, AuthFailure> verified(const Known& known,
                                                       const SecretHash& presented);

  std::optional<Known> operator_;
  std::unique_ptr<util::PgSession> database_;  // never held by a memory lookup
  std::mutex cache_mutex_;                     // cache_ and unknown_
  std::unordered_map<std::string, Known> cache_;
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> unknown_;
  struct Use {
    std::int64_t at = 0;  // unix seconds
    std::string from;
  };
  void confirm_cached();  // recheck_cached()'s validity half
  void flush_uses();
  std::mutex uses_mutex_;
  std::unordered_map<std::string, Use> uses_;  // since the last flush, at most kMaxCachedKeys
};

}  // namespace spotgrid::gateway
