#include "webhooks_api.hpp"

#include <algorithm>

#include "api_support.hpp"
#include "spotgrid/ledger/webhook_outbox.hpp"
#include "spotgrid/util/clock.hpp"
#include "spotgrid/webhooks/webhooks.hpp"

namespace spotgrid::gateway {

namespace {

constexpr std::int64_t kMaxThresholdMicros = 1'000'000'000'000'000;  // $1e9

HttpResponse no_such_endpoint() {
  return error_response(
      404, "not_found",
      "no endpoint with this id belongs to your account; GET /v1/webhooks lists yours",
      "endpoint_id");
}

void write_endpoint(Writer& w, const webhooks::EndpointInfo& endpoint) {
  field(w, "endpoint_id", endpoint.endpoint_id);
  field(w, "url", endpoint.url);
  key(w, "events");
  w.StartArray();
  for (const std::string& type : endpoint.events)
    text(w, type);
  w.EndArray();
  field(w, "balance_low_micros", endpoint.balance_low_micros);
  field(w, "created_at", endpoint.created_at);
  field(w, "consecutive_failures", endpoint.consecutive_failures);
}

// The event types asked for, sorted, or the refusal.
std::variant<std::vector<std::string>, HttpResponse> event_types(std::vector<std::string> types) {
  std::sort(types.begin(), types.end());
  for (const std::string& type : types) {
    if (ledger::is_webhook_event_type(type)) continue;
    std::string message = "events: unknown type " + type + "; known:";
    for (std::string_view name : ledger::kWebhookEventTypes)
      message.append(" ").append(name);
    return error_response(400, "invalid_field", message, "events");
  }
  if (types.empty() || std::adjacent_find(types.begin(), types.end()) != types.end())
    return error_response(400, "invalid_field", "events must name at least one type, each once",
                          "events");
  return types;
}

}  // namespace

// POST /v1/webhooks {url, events, balance_low_micros?}
void create_webhook(Api& api, const Principal& caller, const HttpRequest& request,
                    const Respond& respond) {
  if (!holds_an_account(caller)) return respond(forbidden());
  JsonBody body(request.body);
  body.only({"url", "events", "balance_low_micros"});
  const auto url = body.text("url", webhooks::kMaxUrlBytes);
  const auto events = body.texts("events", ledger::kWebhookEventTypes.size(), 32);
  const auto threshold = body.has("balance_low_micros")
                             ? body.integer("balance_low_micros", 1, kMaxThresholdMicros)
                             : std::optional<std::int64_t>(0);
  if (body.problem()) return respond(bad_request(*body.problem()));
  if (auto problem = webhooks::url_problem(*url, api.settings.webhook_insecure_targets))
    return respond(error_response(400, "invalid_field", "url: " + *problem, "url"));
  auto checked = event_types(*events);
  if (auto* refusal = std::get_if<HttpResponse>(&checked)) return respond(std::move(*refusal));
  const auto& types = std::get<std::vector<std::string>>(checked);
  const bool balance_low = std::binary_search(types.begin(), types.end(), "balance.low");
  if (balance_low != (*threshold > 0)) {
    return respond(error_response(
        400, "invalid_field", "balance_low_micros is required with balance.low, and only with it",
        "balance_low_micros"));
  }
  // Shown once, here; the dispatcher signs with it. It is not stored hashed:
  // an HMAC needs the key itself (as every webhook sender's does).
  const std::string secret = "whsec_" + random_hex(32);
  const auto answer = [&](const webhooks::EndpointInfo& endpoint) {
    return json(201, [&](Writer& w) {
      write_endpoint(w, endpoint);
      field(w, "secret", secret);
    });
  };
  const auto request_key = request_key_of(api);
  try {
    const auto created = api.webhooks.create(
        caller.account, *url, types, *threshold, secret, util::unix_now(),
        request_key ? &*request_key : nullptr, [&](const webhooks::EndpointInfo& endpoint) {
          const HttpResponse stored = answer(endpoint);
          return ledger::StoredAnswer{stored.status, redact_secrets(stored.body)};
        });
    if (!created) {
      return respond(error_response(409, "too_many_endpoints",
                                    "the account has 16 endpoints; delete one first"));
    }
    respond(answer(*created));
  } catch (const std::exception&) {
    respond(error_response(503, "outcome_unknown",
                           "storage failed while registering the endpoint: GET /v1/webhooks shows "
                           "whether it exists (or retry with the same Idempotency-Key)"));
  }
}

// GET /v1/webhooks: the account's active endpoints, never a secret.
void list_webhooks(Api& api, const Principal& caller, const Respond& respond) {
  if (!holds_an_account(caller)) return respond(forbidden());
  try {
    const auto endpoints = api.webhooks.active(caller.account);
    respond(json(200, [&](Writer& w) {
      key(w, "endpoints");
      w.StartArray();
      for (const auto& endpoint : endpoints) {
        w.StartObject();
        write_endpoint(w, endpoint);
        w.EndObject();
      }
      w.EndArray();
    }));
  } catch (const std::exception&) {
    respond(storage_unchanged());
  }
}

// DELETE /v1/webhooks/{id}: no more deliveries; pending ones fail.
void delete_webhook(Api& api, const Principal& caller, std::int64_t endpoint,
                    const Respond& respond) {
  if (!holds_an_account(caller)) return respond(forbidden());
  try {
    const std::int64_t now = util::unix_now();
    if (!api.webhooks.disable(caller.account, endpoint, now)) return respond(no_such_endpoint());
    respond(json(200, [&](Writer& w) {
      field(w, "endpoint_id", endpoint);
      field(w, "deleted_at", now);
    }));
  } catch (const std::exception&) {
    respond(storage_unchanged());
  }
}

// GET /v1/webhooks/{id}/deliveries?state=&from=&to=&limit=&cursor=
void webhook_deliveries(Api& api, const Principal& caller, std::int64_t endpoint,
                        const HttpRequest& request, const Respond& respond) {
  if (!holds_an_account(caller)) return respond(forbidden());
  static constexpr StateWords kStates[] = {
      {"pending", "pending"}, {"delivered", "delivered"}, {"failed", "failed"}};
  const auto page = history_page(api, request, respond, kStates);
  if (!page) return;
  const auto answer = api.reads.webhook_deliveries(caller.account, endpoint, *page);
  if (answer && *answer == "{}") return respond(no_such_endpoint());
  respond(from_store(answer));
}

}  // namespace spotgrid::gateway
