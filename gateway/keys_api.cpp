#include "keys_api.hpp"

#include <algorithm>

#include "api_support.hpp"

namespace spotgrid::gateway {

namespace {

bool well_formed_key_id(std::string_view key_id) {
  return key_id.size() == 16 && std::all_of(key_id.begin(), key_id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

HttpResponse no_such_key() {
  return error_response(404, "not_found",
                        "no key with this id belongs to your account; GET /v1/keys lists yours",
                        "key_id");
}

// A new key's answer: its secret shown once (a replay answers without it).
HttpResponse new_key_answer(unsigned status, const ApiKey& key, bool with_secret,
                            const std::function<void(Writer&)>& more) {
  return json(status, [&](Writer& w) {
    field(w, "key_id", key.key_id);
    field(w, "api_key", with_secret ? key.token() : std::string());
    more(w);
  });
}

}  // namespace

// POST /v1/keys {label?, expires_in_days?, scope?}: another key for the caller's account.
void create_key(Api& api, const Principal& caller, const HttpRequest& request,
                const Respond& respond) {
  if (!holds_an_account(caller)) return respond(forbidden());
  JsonBody body(request.body.empty() ? std::string_view("{}") : std::string_view(request.body));
  body.only({"label", "expires_in_days", "scope"});
  const auto label = body.has("label") ? body.text("label", 64) : std::optional<std::string>("");
  constexpr std::int64_t kMaxDays = 3'660;
  const auto days = body.has("expires_in_days") ? body.integer("expires_in_days", 1, kMaxDays)
                                                : std::optional<std::int64_t>(0);
  const auto scope_name =
      body.has("scope") ? body.text("scope", 16) : std::optional<std::string>("full");
  if (body.problem()) return respond(bad_request(*body.problem()));
  const auto scope = scope_from(*scope_name);
  if (!scope) {
    return respond(
        error_response(400, "invalid_field", "scope must be full, read or billing", "scope"));
  }
  const std::optional<std::int64_t> lifetime =
      *days > 0 ? std::optional<std::int64_t>(*days * 86'400) : std::nullopt;
  const auto answer = [&](const ApiKey& key, bool with_secret) {
    return new_key_answer(201, key, with_secret, [&](Writer& w) {
      field(w, "label", *label);
      field(w, "expires_in_days", *days);
      field(w, "scope", to_string(*scope));
    });
  };
  const auto request_key = request_key_of(api);
  try {
    const auto created = api.keys.create_key(
        caller, *label, lifetime, *scope, request_key ? &*request_key : nullptr,
        [&](const ApiKey& key) {
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
  if (!holds_an_account(caller)) return respond(forbidden());
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
        field(w, "scope", info.scope);
        field(w, "created_at", info.created_at);
        field(w, "expires_at", info.expires_at);
        field(w, "revoked_at", info.revoked_at);
        field(w, "last_used_at", info.last_used_at);
        field(w, "last_used_from", info.last_used_from);
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
  if (!holds_an_account(caller)) return respond(forbidden());
  if (!well_formed_key_id(key_id)) return respond(no_such_key());
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
    respond(storage_unchanged());
  }
}

// POST /v1/keys/{key_id}/rotate {grace_seconds?}: a new key in its place; the
// old one keeps working for the grace (default a day, at most a week), so a
// deployment can switch without a gap.
void rotate_key(Api& api, const Principal& caller, std::string_view key_id,
                const HttpRequest& request, const Respond& respond) {
  if (!holds_an_account(caller)) return respond(forbidden());
  JsonBody body(request.body.empty() ? std::string_view("{}") : std::string_view(request.body));
  body.only({"grace_seconds"});
  const auto grace =
      body.has("grace_seconds")
          ? body.integer("grace_seconds", KeyStore::kMinRotationGrace, KeyStore::kMaxRotationGrace)
          : std::optional<std::int64_t>(86'400);
  if (body.problem()) return respond(bad_request(*body.problem()));
  if (!well_formed_key_id(key_id)) return respond(no_such_key());
  const auto answer = [&](const ApiKey& key, bool with_secret) {
    return new_key_answer(201, key, with_secret, [&](Writer& w) {
      field(w, "replaces", key_id);
      field(w, "old_key_expires_in_seconds", *grace);
    });
  };
  const auto request_key = request_key_of(api);
  try {
    const auto rotated = api.keys.rotate(
        caller, key_id, *grace, request_key ? &*request_key : nullptr, [&](const ApiKey& key) {
          const HttpResponse stored = answer(key, false);
          return ledger::StoredAnswer{stored.status, redact_secrets(stored.body)};
        });
    if (const auto* refused = std::get_if<KeyStore::Rotated>(&rotated)) {
      switch (*refused) {
        case KeyStore::Rotated::kNoSuchKey:
          return respond(no_such_key());
        case KeyStore::Rotated::kAlreadyRotated:
          return respond(error_response(
              409, "already_rotated",
              "this key was already rotated: use its replacement (GET /v1/keys)", "key_id"));
        case KeyStore::Rotated::kTooMany:
          return respond(
              error_response(409, "too_many_keys",
                             "the account has 100 keys; revoke one it no longer uses first"));
      }
    }
    respond(answer(std::get<ApiKey>(rotated), true));
  } catch (const std::exception&) {
    respond(error_response(503, "outcome_unknown",
                           "storage failed while rotating the key: GET /v1/keys shows whether a "
                           "new one exists; revoke it if so"));
  }
}

}  // namespace spotgrid::gateway
