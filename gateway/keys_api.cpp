#include "keys_api.hpp"

#include <algorithm>

#include "api_support.hpp"

namespace spotgrid::gateway {

namespace {

// Keys belong to accounts: platform roles' keys come from configuration or
// the operator, and agents use node keys.
bool manages_keys(const Principal& caller) {
  return caller.role == Role::kBuyer || caller.role == Role::kSupplier;
}

HttpResponse unavailable() {
  return error_response(503, "unavailable", "storage is unavailable: nothing was changed");
}

}  // namespace

// POST /v1/keys {label?, expires_in_days?}: another key for the caller's account.
void create_key(Api& api, const Principal& caller, const HttpRequest& request,
                const Respond& respond) {
  if (!manages_keys(caller)) return respond(forbidden());
  JsonBody body(request.body.empty() ? std::string_view("{}") : std::string_view(request.body));
  body.only({"label", "expires_in_days"});
  const auto label = body.has("label") ? body.text("label", 64) : std::optional<std::string>("");
  constexpr std::int64_t kMaxDays = 3'660;
  const auto days = body.has("expires_in_days") ? body.integer("expires_in_days", 1, kMaxDays)
                                                : std::optional<std::int64_t>(0);
  if (body.problem()) return respond(bad_request(*body.problem()));
  const std::optional<std::int64_t> lifetime =
      *days > 0 ? std::optional<std::int64_t>(*days * 86'400) : std::nullopt;
  const auto answer = [&](const ApiKey& key, bool with_secret) {
    return json(201, [&](Writer& w) {
      field(w, "key_id", key.key_id);
      // Shown once; only its hash is stored (a replay answers without it).
      field(w, "api_key", with_secret ? key.token() : std::string());
      field(w, "label", *label);
      field(w, "expires_in_days", *days);
    });
  };
  std::optional<ledger::RequestKey> request_key;
  if (api.idempotency) {
    request_key = ledger::RequestKey{api.idempotency->scope, api.idempotency->key,
                                     api.idempotency->fingerprint,
                                     api.idempotency->lifetime_seconds, nullptr};
  }
  try {
    const auto created = api.keys.create_key(
        caller, *label, lifetime, request_key ? &*request_key : nullptr, [&](const ApiKey& key) {
          const HttpResponse stored = answer(key, false);
          return ledger::StoredAnswer{stored.status, redact_secrets(stored.body)};
        });
    if (std::holds_alternative<KeyStore::KeyRefusal>(created)) {
      return respond(error_response(
          409, "too_many_keys", "the account has 100 keys; revoke one it no longer uses first"));
    }
    respond(answer(std::get<ApiKey>(created), true));
  } catch (const std::exception&) {
    respond(error_response(503, "outcome_unknown",
                           "storage failed while creating the key: GET /v1/keys shows whether it "
                           "exists; revoke it if so"));
  }
}

// GET /v1/keys: the account's keys, never a secret.
void list_keys(Api& api, const Principal& caller, const Respond& respond) {
  if (!manages_keys(caller)) return respond(forbidden());
  try {
    const std::vector<KeyInfo> keys = api.keys.keys_of(caller.account);
    respond(json(200, [&](Writer& w) {
      key(w, "keys");
      w.StartArray();
      for (const KeyInfo& info : keys) {
        w.StartObject();
        field(w, "key_id", info.key_id);
        field(w, "label", info.label);
        field(w, "role", info.role);
        field(w, "created_at", info.created_at);
        field(w, "expires_at", info.expires_at);
        field(w, "revoked_at", info.revoked_at);
        key(w, "this_key");
        w.Bool(info.key_id == caller.key_id);
        w.EndObject();
      }
      w.EndArray();
    }));
  } catch (const std::exception&) {
    respond(error_response(503, "unavailable", "storage is unavailable"));
  }
}

// DELETE /v1/keys/{key_id}: refused for the account's last usable key.
void revoke_key(Api& api, const Principal& caller, std::string_view key_id,
                const Respond& respond) {
  if (!manages_keys(caller)) return respond(forbidden());
  const bool well_formed =
      key_id.size() == 16 && std::all_of(key_id.begin(), key_id.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
      });
  const auto no_such_key = [] {
    return error_response(404, "not_found",
                          "no key with this id belongs to your account; GET /v1/keys lists yours",
                          "key_id");
  };
  if (!well_formed) return respond(no_such_key());
  try {
    switch (api.keys.revoke(caller, key_id)) {
      case KeyStore::Revoked::kNoSuchKey:
        return respond(no_such_key());
      case KeyStore::Revoked::kLastKey:
        return respond(error_response(
            409, "last_key",
            "the account would have no lasting key left: create one without an expiry first",
            "key_id"));
      case KeyStore::Revoked::kNotAllowed:
        return respond(error_response(
            403, "forbidden", "a key that expires may revoke only itself: use a lasting key",
            "key_id"));
      case KeyStore::Revoked::kRevoked:
        break;
    }
    respond(json(200, [&](Writer& w) {
      field(w, "key_id", key_id);
      key(w, "revoked");
      w.Bool(true);
    }));
  } catch (const std::exception&) {
    respond(unavailable());
  }
}

}  // namespace spotgrid::gateway
