#include "webhooks_api.hpp"

#include <algorithm>

#include "api_support.hpp"
#include "spotgrid/ledger/webhook_outbox.hpp"
#include "spotgrid/util/clock.hpp"
#include "spotgrid/webhooks/webhooks.hpp"

namespace spotgrid::gateway {

namespace {

constexpr std::int64_t kMaxThresholdMicros = 1'000'000'000'000'000;  // $1e9

// Endpoints belong to accounts: buyers and suppliers.
bool has_endpoints(const Principal& caller) {
  return caller.role == Role::kBuyer || caller.role == Role::kSupplier;
}

HttpResponse storage_failed() {
  return error_response(503, "unavailable", "storage is unavailable: nothing was changed");
}

HttpResponse no_such_endpoint() {
  return error_response(404, "not_found",
                        "no endpoint with this id belongs to your account; GET /v1/webhooks lists "
                        "yours",
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

template <typename T>
void maybe_field(Writer& w, std::string_view name, const std::optional<T>& value) {
  if (value) {
    field(w, name, *value);
  } else {
    key(w, name);
    w.Null();
  }
}

}  // namespace

// POST /v1/webhooks {url, events, balance_low_micros?}
void create_webhook(Api& api, const Principal& caller, const HttpRequest& request,
                    const Respond& respond) {
  if (!has_endpoints(caller)) return respond(forbidden());
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
  std::vector<std::string> types = *events;
  std::sort(types.begin(), types.end());
  for (const std::string& type : types) {
    if (!ledger::is_webhook_event_type(type)) {
      std::string message = "events: unknown type " + type + "; known:";
      for (std::string_view name : ledger::kWebhookEventTypes)
        message.append(" ").append(name);
      return respond(error_response(400, "invalid_field", message, "events"));
    }
  }
  if (types.empty() || std::adjacent_find(types.begin(), types.end()) != types.end()) {
    return respond(error_response(400, "invalid_field",
                                  "events must name at least one type, each once", "events"));
  }
  const bool balance_low = std::binary_search(types.begin(), types.end(), "balance.low");
  if (balance_low != (*threshold > 0)) {
    return respond(error_response(
        400, "invalid_field", "balance_low_micros is required with balance.low, and only with it",
        "balance_low_micros"));
  }
  // Shown once, here; the dispatcher signs with it. It is not stored hashed:
  // an HMAC needs the key itself (as every webhook sender's does).
  const std::string secret = "whsec_" + random_hex(32);
  try {
    const auto created =
        api.webhooks.create(caller.account, *url, types, *threshold, secret, util::unix_now());
    if (!created) {
      return respond(error_response(409, "too_many_endpoints",
                                    "the account has 16 endpoints; delete one first"));
    }
    respond(json(201, [&](Writer& w) {
      write_endpoint(w, *created);
      field(w, "secret", secret);
    }));
  } catch (const std::exception&) {
    respond(error_response(503, "outcome_unknown",
                           "storage failed while registering the endpoint: GET /v1/webhooks shows "
                           "whether it exists"));
  }
}

// GET /v1/webhooks: the account's active endpoints, never a secret.
void list_webhooks(Api& api, const Principal& caller, const Respond& respond) {
  if (!has_endpoints(caller)) return respond(forbidden());
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
    respond(storage_failed());
  }
}

// DELETE /v1/webhooks/{id}: no more deliveries; pending ones fail.
void delete_webhook(Api& api, const Principal& caller, std::int64_t endpoint,
                    const Respond& respond) {
  if (!has_endpoints(caller)) return respond(forbidden());
  try {
    const std::int64_t now = util::unix_now();
    if (!api.webhooks.disable(caller.account, endpoint, now)) return respond(no_such_endpoint());
    respond(json(200, [&](Writer& w) {
      field(w, "endpoint_id", endpoint);
      field(w, "deleted_at", now);
    }));
  } catch (const std::exception&) {
    respond(storage_failed());
  }
}

// GET /v1/webhooks/{id}/deliveries?state=&from=&to=&limit=&cursor=
void webhook_deliveries(Api& api, const Principal& caller, std::int64_t endpoint,
                        const HttpRequest& request, const Respond& respond) {
  if (!has_endpoints(caller)) return respond(forbidden());
  if (query_value(request.target, "pool")) {
    return respond(error_response(400, "invalid_query", "deliveries have no pool", "pool"));
  }
  static constexpr StateWords kStates[] = {
      {"pending", "pending"}, {"delivered", "delivered"}, {"failed", "failed"}};
  const auto page = history_page(api, request, respond, kStates);
  if (!page) return;
  try {
    if (!api.webhooks.owns(caller.account, endpoint)) return respond(no_such_endpoint());
    auto rows = api.webhooks.deliveries(
        endpoint, {std::string(page->statuses), static_cast<std::int64_t>(page->before), page->from,
                   page->to, page->limit});
    const bool more = rows.size() > static_cast<std::size_t>(page->limit);
    if (more) rows.pop_back();
    respond(json(200, [&](Writer& w) {
      key(w, "deliveries");
      w.StartArray();
      for (const auto& row : rows) {
        w.StartObject();
        field(w, "event_id", "evt_" + std::to_string(row.event_id));
        field(w, "type", row.type);
        field(w, "created_at", row.created_at);
        field(w, "status", row.status);
        field(w, "attempts", row.attempts);
        maybe_field(w, "next_attempt_at",
                    row.status == "pending" ? std::optional(row.next_attempt_at) : std::nullopt);
        maybe_field(w, "last_attempt_at", row.last_attempt_at);
        maybe_field(w, "last_status_code", row.last_status_code);
        maybe_field(w, "last_error", row.last_error);
        maybe_field(w, "delivered_at", row.delivered_at);
        w.EndObject();
      }
      w.EndArray();
      maybe_field(w, "next_cursor",
                  more ? std::optional(std::to_string(rows.back().event_id)) : std::nullopt);
    }));
  } catch (const std::exception&) {
    respond(storage_failed());
  }
}

}  // namespace spotgrid::gateway
