// An account's webhook endpoints in PostgreSQL.
#include <algorithm>
#include <pqxx/pqxx>

#include "spotgrid/ledger/request_keys.hpp"
#include "spotgrid/util/pg_session.hpp"
#include "spotgrid/webhooks/webhooks.hpp"

namespace spotgrid::webhooks {

namespace {

using Int = long long;  // pqxx converts long long, not every fixed-width alias

EndpointInfo endpoint_of(const pqxx::row& row) {
  EndpointInfo info;
  info.endpoint_id = row[0].as<std::int64_t>();
  info.url = row[1].as<std::string>();
  // The names are known words without commas (checked when registered).
  const std::string events = row[2].as<std::string>();
  for (std::size_t start = 0; start < events.size();) {
    const std::size_t comma = std::min(events.find(',', start), events.size());
    info.events.push_back(events.substr(start, comma - start));
    start = comma + 1;
  }
  info.balance_low_micros = row[3].as<std::int64_t>();
  info.created_at = row[4].as<std::int64_t>();
  info.consecutive_failures = row[5].as<std::int64_t>();
  return info;
}

std::string joined(const std::vector<std::string>& words) {
  std::string text;
  for (const std::string& word : words)
    text.append(text.empty() ? "" : ",").append(word);
  return text;
}

constexpr const char* kEndpointColumns =
    "endpoint_id, url, array_to_string(event_types, ','), balance_low_micros, created_at, "
    "consecutive_failures";

}  // namespace

struct WebhookStore::Impl {
  explicit Impl(std::string conninfo) : session(std::move(conninfo)) {}
  util::PgSession session;
};

WebhookStore::WebhookStore(std::string conninfo)
    : impl_(std::make_unique<Impl>(std::move(conninfo))) {}

WebhookStore::~WebhookStore() = default;

std::optional<EndpointInfo> WebhookStore::create(
    std::int64_t account, const std::string& url, const std::vector<std::string>& events,
    std::int64_t balance_low_micros, const std::string& secret, std::int64_t now,
    const ledger::RequestKey* request_key,
    const std::function<ledger::StoredAnswer(const EndpointInfo&)>& answer) {
  return impl_->session.run([&](pqxx::connection& connection) -> std::optional<EndpointInfo> {
    pqxx::work txn(connection, "webhook_create");
    // One account's endpoints are counted and added one at a time (a lock of
    // its own: the senders' per-account lock is another).
    txn.exec_params("SELECT pg_advisory_xact_lock(hashtext('spotgrid-webhook-endpoints'), $1::int)",
                    static_cast<int>(account % 2'147'483'647));
    const auto count = txn.exec_params1(
                              "SELECT count(*) FROM webhook_endpoints WHERE account_id = $1 AND "
                              "disabled_at IS NULL",
                              static_cast<Int>(account))[0]
                           .as<std::int64_t>();
    if (count >= static_cast<std::int64_t>(kMaxEndpointsPerAccount)) return std::nullopt;
    const pqxx::row row =
        txn.exec_params1(std::string("INSERT INTO webhook_endpoints (account_id, url, event_types,"
                                     " balance_low_micros, secret, created_at)"
                                     " VALUES ($1, $2, string_to_array($3, ','), $4, $5, $6)"
                                     " RETURNING ") +
                             kEndpointColumns,
                         static_cast<Int>(account), url, joined(events),
                         static_cast<Int>(balance_low_micros), secret, static_cast<Int>(now));
    EndpointInfo created = endpoint_of(row);
    if (request_key != nullptr) ledger::insert_request_key(txn, *request_key, answer(created), 0);
    txn.commit();
    return created;
  });
}

std::vector<EndpointInfo> WebhookStore::active(std::int64_t account) {
  return impl_->session.run([&](pqxx::connection& connection) {
    pqxx::read_transaction txn(connection);
    std::vector<EndpointInfo> endpoints;
    for (const pqxx::row& row :
         txn.exec_params(std::string("SELECT ") + kEndpointColumns +
                             " FROM webhook_endpoints WHERE account_id = $1 AND disabled_at IS NULL"
                             " ORDER BY endpoint_id",
                         static_cast<Int>(account))) {
      endpoints.push_back(endpoint_of(row));
    }
    return endpoints;
  });
}

bool WebhookStore::disable(std::int64_t account, std::int64_t endpoint, std::int64_t now) {
  return impl_->session.run([&](pqxx::connection& connection) {
    pqxx::work txn(connection, "webhook_disable");
    const pqxx::result done = txn.exec_params(
        "UPDATE webhook_endpoints SET disabled_at = $3"
        " WHERE endpoint_id = $1 AND account_id = $2 AND disabled_at IS NULL RETURNING 1",
        static_cast<Int>(endpoint), static_cast<Int>(account), static_cast<Int>(now));
    if (done.empty()) return false;
    txn.exec_params(
        "UPDATE webhook_deliveries SET status = 'failed', last_error = 'endpoint deleted'"
        " WHERE endpoint_id = $1 AND status = 'pending'",
        static_cast<Int>(endpoint));
    txn.commit();
    return true;
  });
}

}  // namespace spotgrid::webhooks
