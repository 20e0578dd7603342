#include "spotgrid/gateway/auth.hpp"

#include "spotgrid/util/clock.hpp"
#include "spotgrid/util/pg_session.hpp"
#include "spotgrid/util/thread_role.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include "spotgrid/ledger/request_keys.hpp"
#include "spotgrid/util/hex.hpp"

#include <algorithm>
#include <cctype>
#include <memory>
#include <pqxx/pqxx>
#include <stdexcept>

namespace spotgrid::gateway {

namespace {

// Role::kPublic is last and is no key's role: role_from never answers it.
constexpr std::array<std::string_view, 6> kRoleNames = {"buyer",    "supplier", "finance",
                                                        "operator", "agent",    "public"};
constexpr std::string_view kBearer = "Bearer ";

}  // namespace

std::string random_hex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1)
    throw std::runtime_error("OpenSSL RAND_bytes failed");
  return util::to_hex(reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
}

namespace {

bool is_hex(std::string_view text, std::size_t length) {
  return text.size() == length && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace

std::string address_owner(std::string_view client_address) {
  return "address-" + std::string(client_address);
}

Principal public_caller(std::string_view client_address) {
  return Principal{address_owner(client_address), 0, Role::kPublic};
}

std::string_view to_string(Role role) {
  return kRoleNames[static_cast<std::size_t>(role)];
}

namespace {
constexpr std::array<std::string_view, 3> kScopeNames = {"full", "read", "billing"};
}  // namespace

std::string_view to_string(KeyScope scope) {
  return kScopeNames[static_cast<std::size_t>(scope)];
}

std::optional<KeyScope> scope_from(std::string_view name) {
  for (std::size_t i = 0; i < kScopeNames.size(); ++i) {
    if (kScopeNames[i] == name) return static_cast<KeyScope>(i);
  }
  return std::nullopt;
}

std::optional<Role> role_from(std::string_view name) {
  for (std::size_t i = 0; i + 1 < kRoleNames.size(); ++i) {
    if (kRoleNames[i] == name) return static_cast<Role>(i);
  }
  return std::nullopt;
}

ApiKey generate_api_key() {
  return ApiKey{random_hex(8), random_hex(32)};
}

std::optional<ApiKey> parse_api_key(std::string_view token) {
  // sg_ + 16 + _ + 64
  if (token.size() != 3 + 16 + 1 + 64 || token.substr(0, 3) != "sg_" || token[19] != '_')
    return std::nullopt;
  const std::string_view key_id = token.substr(3, 16);
  const std::string_view secret = token.substr(20);
  if (!is_hex(key_id, 16) || !is_hex(secret, 64)) return std::nullopt;
  return ApiKey{std::string(key_id), std::string(secret)};
}

SecretHash hash_secret(std::string_view secret) {
  // Fetched once, and one context per thread, reused: EVP_Digest looks the
  // algorithm up and allocates a context on every call, which was ~4 % of
  // spotgridd's time serving a book GET with a key.
  static const std::unique_ptr<EVP_MD, decltype(&EVP_MD_free)> sha256{
      EVP_MD_fetch(nullptr, "SHA256", nullptr), &EVP_MD_free};
  thread_local const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context{
      EVP_MD_CTX_new(), &EVP_MD_CTX_free};
  SecretHash hash{};
  unsigned int length = 0;
  if (!sha256 || !context || EVP_DigestInit_ex2(context.get(), sha256.get(), nullptr) != 1 ||
      EVP_DigestUpdate(context.get(), secret.data(), secret.size()) != 1 ||
      EVP_DigestFinal_ex(context.get(), hash.data(), &length) != 1 || length != hash.size()) {
    throw std::runtime_error("OpenSSL SHA-256 failed");
  }
  return hash;
}

KeyStore::KeyStore(std::string conninfo, std::optional<ApiKey> operator_key)
    : database_(std::make_unique<util::PgSession>(std::move(conninfo))) {
  if (operator_key) {
    operator_ = Known{
        hash_secret(operator_key->secret), Principal{operator_key->key_id, 0, Role::kOperator}, {}};
  }
}

KeyStore::~KeyStore() = default;

void KeyStore::remember(const Known& known) {
  const std::lock_guard lock(cache_mutex_);
  if (cache_.size() >= kMaxCachedKeys) evict_some(cache_);
  cache_[known.principal.key_id] = known;
  unknown_.erase(known.principal.key_id);
}

std::optional<std::variant<Principal, AuthFailure>> KeyStore::authenticate_from_memory(
    std::string_view header) {
  if (header.substr(0, kBearer.size()) != kBearer) return AuthFailure::kMissing;
  const auto key = parse_api_key(header.substr(kBearer.size()));
  if (!key) return AuthFailure::kInvalid;
  const SecretHash presented = hash_secret(key->secret);
  if (operator_ && key->key_id == operator_->principal.key_id)
    return verified(*operator_, presented);
  const auto now = std::chrono::steady_clock::now();
  const std::lock_guard lock(cache_mutex_);
  // Known keys stay good while recheck_cached() confirms them (each second);
  // unknown or revoked ids are not asked about again for kUnknownKeyMemory, so
  // a flood of made-up keys costs no queries.
  if (const auto known = cache_.find(key->key_id);
      known != cache_.end() && now - known->second.checked_at < kKeyGrace) {
    return verified(known->second, presented);
  }
  if (const auto refused = unknown_.find(key->key_id);
      refused != unknown_.end() && now - refused->second < kUnknownKeyMemory) {
    return AuthFailure::kInvalid;
  }
  return std::nullopt;  // only PostgreSQL can tell
}

std::variant<Principal, AuthFailure> KeyStore::authenticate(std::string_view header) {
  util::assert_may_block();  // even when memory answers: callers must be on a worker
  if (auto answer = authenticate_from_memory(header)) return *answer;
  const auto key = parse_api_key(header.substr(kBearer.size()));  // well-formed: checked above
  const auto now = std::chrono::steady_clock::now();
  std::optional<Known> found;
  try {
    found = database_->run([&](pqxx::connection& connection) -> std::optional<Known> {
      pqxx::read_transaction txn(connection, "authenticate");
      const pqxx::result rows = txn.exec_params(
          "SELECT secret_hash, account_id, role::text, scope::text FROM api_keys"
          " WHERE key_id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > "
          "now())",
          key->key_id);
      const auto role = rows.empty() ? std::nullopt : role_from(rows[0][2].as<std::string>());
      const auto scope = rows.empty() ? std::nullopt : scope_from(rows[0][3].as<std::string>());
      const pqxx::binarystring stored =
          rows.empty() ? pqxx::binarystring("") : pqxx::binarystring(rows[0][0]);
      if (!role || !scope || stored.size() != SecretHash{}.size()) return std::nullopt;
      Known known{{}, Principal{key->key_id, rows[0][1].as<AccountId>(), *role, *scope}, now};
      std::copy(stored.begin(), stored.end(), known.hash.begin());
      return known;
    });
  } catch (const pqxx::failure&) {
    return AuthFailure::kUnavailable;
  }
  const std::lock_guard lock(cache_mutex_);
  if (!found) {
    if (unknown_.size() >= kMaxCachedKeys) evict_some(unknown_);
    unknown_[key->key_id] = now;
    return AuthFailure::kInvalid;
  }
  if (cache_.size() >= kMaxCachedKeys) evict_some(cache_);
  cache_[key->key_id] = *found;
  return verified(*found, hash_secret(key->secret));
}

std::variant<Principal, AuthFailure> KeyStore::verified(const Known& known,
                                                        const SecretHash& presented) {
  if (CRYPTO_memcmp(presented.data(), known.hash.data(), presented.size()) != 0)
    return AuthFailure::kInvalid;
  return known.principal;
}

void KeyStore::note_use(const Principal& caller, std::string_view address) {
  if (caller.role == Role::kPublic) return;  // no key: nothing to record
  const std::lock_guard lock(uses_mutex_);
  if (uses_.size() >= kMaxCachedKeys && !uses_.contains(caller.key_id)) return;  // next second
  uses_[caller.key_id] = Use{util::unix_now(), std::string(address.substr(0, 64))};
}

// One statement for every key used since the last flush; its values escaped by
// the library. A failed flush loses only "last used" times.
void KeyStore::flush_uses() {
  std::unordered_map<std::string, Use> uses;
  {
    const std::lock_guard lock(uses_mutex_);
    uses.swap(uses_);
  }
  if (uses.empty()) return;
  try {
    database_->run([&](pqxx::connection& connection) {
      pqxx::work txn(connection, "key_uses");
      std::string values;
      for (const auto& [id, use] : uses) {
        // libpq escapes (txn.esc); quote() itself trips GCC 12's -Wrestrict.
        values.append(values.empty() ? "('" : ",('")
            .append(txn.esc(id))
            .append("',")
            .append(std::to_string(use.at))
            .append("::bigint,'")
            .append(txn.esc(use.from))
            .append("')");
      }
      // Rows locked in key order and skipped when busy (a rotation or a
      // revocation holds them): no waiting, no deadlock. A key's use is
      // written at most once a minute.
      std::string update = "WITH v(id, at, addr) AS (VALUES ";
      update.append(values).append(
          "), locked AS (SELECT a.key_id FROM api_keys a JOIN v ON a.key_id = v.id"
          " WHERE a.last_used_at IS NULL OR a.last_used_at < to_timestamp(v.at) - interval '60 s'"
          " ORDER BY a.key_id FOR UPDATE OF a SKIP LOCKED)"
          " UPDATE api_keys k SET last_used_at = to_timestamp(v.at), last_used_from = v.addr"
          " FROM v, locked WHERE k.key_id = v.id AND k.key_id = locked.key_id");
      txn.exec(update);
      txn.commit();
    });
  } catch (const pqxx::failure&) {
    // The next use is recorded again.
  }
}

void KeyStore::recheck_cached() {
  confirm_cached();
  flush_uses();  // after: a slow write never delays a revocation
}

void KeyStore::confirm_cached() {
  std::vector<std::string> ids;
  {
    const std::lock_guard lock(cache_mutex_);
    ids.reserve(cache_.size());
    for (const auto& [id, known] : cache_)
      ids.push_back(id);
  }
  if (ids.empty()) return;
  const auto asked_at = std::chrono::steady_clock::now();
  // A PostgreSQL blip must not sign everyone out: unconfirmed keys stay good
  // until kKeyGrace after their last confirmation (revocation then takes that
  // long, not a second).
  const auto valid = valid_among(ids);
  if (!valid) return;
  const std::lock_guard lock(cache_mutex_);
  for (const std::string& id : ids) {
    const auto known = cache_.find(id);
    if (known == cache_.end()) continue;
    if (valid->contains(id)) {
      known->second.checked_at = std::max(known->second.checked_at, asked_at);
    } else {
      cache_.erase(known);
      unknown_[id] = asked_at;
    }
  }
}

std::pair<AccountId, ApiKey> KeyStore::create_account(
    std::string_view name, Role role, const ledger::RequestKey* request_key,
    const std::function<ledger::StoredAnswer(AccountId)>& answer) {
  util::assert_may_block();
  const ApiKey key = generate_api_key();
  const AccountId account = database_->run([&](pqxx::connection& connection) {
    pqxx::work txn(connection, "create_account");
    const auto created = txn.exec_params1(
                                "INSERT INTO accounts (name, role) VALUES ($1, $2::api_role)"
                                " RETURNING account_id",
                                std::string(name), std::string(to_string(role)))[0]
                             .as<AccountId>();
    txn.exec_params(
        "INSERT INTO api_keys (key_id, secret_hash, account_id, role)"
        " VALUES ($1, $2, $3, $4::api_role)",
        key.key_id, pqxx::binarystring(hash_secret(key.secret).data(), SecretHash{}.size()),
        static_cast<long long>(created), std::string(to_string(role)));
    if (request_key != nullptr) ledger::insert_request_key(txn, *request_key, answer(created), 0);
    txn.commit();
    return created;
  });
  // Known at once here (other gateways look it up on first use).
  remember(Known{hash_secret(key.secret), Principal{key.key_id, account, role},
                 std::chrono::steady_clock::now()});
  return {account, key};
}

namespace {

// An account's unrevoked keys, locked in one order (so two key changes of one
// account at once queue rather than deadlock): id, whether it expires, whether
// it is still good.
struct LiveKey {
  std::string key_id;
  bool expires = false;
  bool good = false;
};

std::vector<LiveKey> lock_keys_of(pqxx::work& txn, AccountId account);

// Takes the account's key rows (one key change of an account at a time) and
// says whether it already has as many usable keys as it may.
bool lock_keys_at_cap(pqxx::work& txn, AccountId account, std::size_t cap) {
  const std::vector<LiveKey> keys = lock_keys_of(txn, account);
  return static_cast<std::size_t>(std::count_if(
             keys.begin(), keys.end(), [](const LiveKey& key) { return key.good; })) >= cap;
}

std::vector<LiveKey> lock_keys_of(pqxx::work& txn, AccountId account) {
  std::vector<LiveKey> keys;
  for (const pqxx::row& row : txn.exec_params(
           "SELECT key_id, expires_at IS NOT NULL, expires_at IS NULL OR expires_at > now()"
           " FROM api_keys WHERE account_id = $1 AND revoked_at IS NULL ORDER BY key_id FOR UPDATE",
           static_cast<long long>(account))) {
    keys.push_back({row[0].as<std::string>(), row[1].as<bool>(), row[2].as<bool>()});
  }
  return keys;
}

}  // namespace

std::variant<ApiKey, KeyStore::KeyRefusal> KeyStore::create_key(
    const Principal& owner, std::string_view label, std::optional<std::int64_t> expires_in_seconds,
    KeyScope scope, const ledger::RequestKey* request_key,
    const std::function<ledger::StoredAnswer(const ApiKey&)>& answer) {
  if (owner.scope != KeyScope::kFull) scope = owner.scope;  // never wider than its creator
  util::assert_may_block();
  ApiKey key = generate_api_key();  // not const: returned by move
  const auto refusal =
      database_->run([&](pqxx::connection& connection) -> std::optional<KeyRefusal> {
        pqxx::work txn(connection, "create_key");
        if (lock_keys_at_cap(txn, owner.account, kMaxKeysPerAccount)) return KeyRefusal::kTooMany;
        // A key that expires makes only keys that expire with it or sooner: a
        // leaked short-lived key cannot mint a lasting one.
        const pqxx::result inserted = txn.exec_params(
            "INSERT INTO api_keys (key_id, secret_hash, account_id, role, label, expires_at,"
            " scope)"
            " SELECT $1, $2, $3, $4::api_role, $5, CASE"
            "  WHEN c.expires_at IS NULL THEN now() + $6::bigint * interval '1 second'"
            "  ELSE least(c.expires_at, coalesce(now() + $6::bigint * interval '1 second',"
            "   c.expires_at)) END, $8::api_key_scope"
            " FROM api_keys c WHERE c.key_id = $7",
            key.key_id, pqxx::binarystring(hash_secret(key.secret).data(), SecretHash{}.size()),
            static_cast<long long>(owner.account), std::string(to_string(owner.role)),
            std::string(label), expires_in_seconds, owner.key_id, std::string(to_string(scope)));
        if (inserted.affected_rows() != 1)
          throw std::runtime_error("create_key: the creating key is not in api_keys");
        if (request_key != nullptr) ledger::insert_request_key(txn, *request_key, answer(key), 0);
        txn.commit();
        return std::nullopt;
      });
  if (refusal) return *refusal;
  remember(Known{hash_secret(key.secret), Principal{key.key_id, owner.account, owner.role, scope},
                 std::chrono::steady_clock::now()});
  return key;
}

std::variant<ApiKey, KeyStore::Rotated> KeyStore::rotate(
    const Principal& caller, std::string_view key_id, std::int64_t grace_seconds,
    const ledger::RequestKey* request_key,
    const std::function<ledger::StoredAnswer(const ApiKey&)>& answer) {
  util::assert_may_block();
  ApiKey key = generate_api_key();  // not const: returned by move
  std::optional<KeyScope> scope;
  const auto refusal = database_->run([&](pqxx::connection& connection) -> std::optional<Rotated> {
    pqxx::work txn(connection, "rotate_key");
    if (lock_keys_at_cap(txn, caller.account, kMaxKeysPerAccount)) return Rotated::kTooMany;
    const pqxx::result old = txn.exec_params(
        "SELECT replaced_by IS NOT NULL FROM api_keys WHERE key_id = $1 AND account_id = $2"
        " AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())"
        // A key that expires may rotate only itself: a leaked short-lived key
        // cannot mint a lasting one.
        " AND (key_id = $3 OR EXISTS (SELECT 1 FROM api_keys c WHERE c.key_id = $3"
        "  AND c.expires_at IS NULL AND c.revoked_at IS NULL))",
        std::string(key_id), static_cast<long long>(caller.account), caller.key_id);
    if (old.empty()) return Rotated::kNoSuchKey;
    if (old[0][0].as<bool>()) return Rotated::kAlreadyRotated;
    // The new key takes the old one's label, scope and expiry; the old one
    // expires after the grace (or at its own expiry, if sooner).
    scope = scope_from(
        txn.exec_params1("INSERT INTO api_keys (key_id, secret_hash, account_id, role, label,"
                         " expires_at, scope)"
                         " SELECT $1, $2, account_id, role, label, expires_at, scope"
                         " FROM api_keys WHERE key_id = $3 RETURNING scope::text",
                         key.key_id,
                         pqxx::binarystring(hash_secret(key.secret).data(), SecretHash{}.size()),
                         std::string(key_id))[0]
            .as<std::string>());
    txn.exec_params(
        "UPDATE api_keys SET replaced_by = $3, expires_at = least(coalesce(expires_at,"
        " 'infinity'), now() + $2::bigint * interval '1 second') WHERE key_id = $1",
        std::string(key_id), grace_seconds, key.key_id);
    if (request_key != nullptr) ledger::insert_request_key(txn, *request_key, answer(key), 0);
    txn.commit();
    return std::nullopt;
  });
  if (refusal) return *refusal;
  remember(Known{hash_secret(key.secret),
                 Principal{key.key_id, caller.account, caller.role, scope.value_or(caller.scope)},
                 std::chrono::steady_clock::now()});
  return key;
}

std::vector<KeyInfo> KeyStore::keys_of(AccountId account) {
  util::assert_may_block();
  return database_->run([&](pqxx::connection& connection) {
    pqxx::read_transaction txn(connection, "list_keys");
    std::vector<KeyInfo> keys;
    for (const pqxx::row& row : txn.exec_params(
             "SELECT key_id, label, role::text, scope::text,"
             " extract(epoch FROM created_at)::bigint,"
             " coalesce(extract(epoch FROM expires_at)::bigint, 0),"
             " coalesce(extract(epoch FROM revoked_at)::bigint, 0),"
             " coalesce(extract(epoch FROM last_used_at)::bigint, 0), coalesce(last_used_from, '')"
             " FROM api_keys WHERE account_id = $1 ORDER BY created_at DESC, key_id LIMIT $2",
             static_cast<long long>(account), static_cast<long long>(kMaxKeysListed))) {
      keys.push_back({row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>(),
                      row[3].as<std::string>(), row[4].as<std::int64_t>(),
                      row[5].as<std::int64_t>(), row[6].as<std::int64_t>(),
                      row[7].as<std::int64_t>(), row[8].as<std::string>()});
    }
    return keys;
  });
}

KeyStore::Revoked KeyStore::revoke(const Principal& caller, std::string_view key_id) {
  util::assert_may_block();
  const Revoked outcome = database_->run([&](pqxx::connection& connection) {
    pqxx::work txn(connection, "revoke_key");
    const std::vector<LiveKey> live = lock_keys_of(txn, caller.account);
    const auto find = [&](std::string_view id) {
      return std::find_if(live.begin(), live.end(),
                          [&](const LiveKey& k) { return k.key_id == id; });
    };
    if (find(key_id) == live.end()) return Revoked::kNoSuchKey;
    // A key that expires may end itself, not the keys that outlast it.
    const auto own = find(caller.key_id);
    if (key_id != caller.key_id && own != live.end() && own->expires) return Revoked::kNotAllowed;
    // The account keeps a lasting key: without one it would be locked out.
    const bool lasting_left = std::any_of(live.begin(), live.end(), [&](const LiveKey& k) {
      return k.key_id != key_id && k.good && !k.expires;
    });
    if (!lasting_left) return Revoked::kLastKey;
    txn.exec_params("UPDATE api_keys SET revoked_at = now() WHERE key_id = $1",
                    std::string(key_id));
    txn.commit();
    return Revoked::kRevoked;
  });
  if (outcome == Revoked::kRevoked) {
    // At once here; every other gateway within a recheck (half a second).
    const std::lock_guard lock(cache_mutex_);
    cache_.erase(std::string(key_id));
    if (unknown_.size() >= kMaxCachedKeys) evict_some(unknown_);
    unknown_[std::string(key_id)] = std::chrono::steady_clock::now();
  }
  return outcome;
}

std::optional<std::unordered_set<std::string>> KeyStore::valid_among(
    const std::vector<std::string>& key_ids) {
  util::assert_may_block();
  std::unordered_set<std::string> valid;
  std::vector<std::string> asked;
  for (const std::string& id : key_ids) {
    if (operator_ && id == operator_->principal.key_id) {
      valid.insert(id);  // from the configuration: valid while it is configured
    } else {
      asked.push_back(id);
    }
  }
  if (asked.empty()) return valid;
  // An array literal of key ids: each is 16 hex digits (parse_api_key made
  // sure), so none needs quoting; anything else is left out.
  std::string array = "{";
  for (const std::string& id : asked) {
    if (id.size() != 16 || !std::all_of(id.begin(), id.end(), ::isxdigit)) continue;
    if (array.size() > 1) array += ',';
    array += id;
  }
  array += '}';
  try {
    database_->run([&](pqxx::connection& connection) {
      pqxx::read_transaction txn(connection, "valid_keys");
      for (const pqxx::row& row :
           txn.exec_params("SELECT key_id FROM api_keys WHERE key_id = ANY($1::text[])"
                           " AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())",
                           array)) {
        valid.insert(row[0].as<std::string>());
      }
    });
  } catch (const pqxx::failure&) {
    return std::nullopt;
  }
  return valid;
}

std::optional<bool> KeyStore::account_exists(AccountId account) {
  try {
    return database_->run([&](pqxx::connection& connection) {
      pqxx::read_transaction txn(connection, "account_exists");
      return !txn.exec_params("SELECT 1 FROM accounts WHERE account_id = $1",
                              static_cast<long long>(account))
                  .empty();
    });
  } catch (const pqxx::failure&) {
    return std::nullopt;
  }
}

}  // namespace spotgrid::gateway
