// The webhook dispatcher: sender threads that claim a due delivery, POST it
// signed, and record what happened. Everything it knows is in PostgreSQL, so
// a restart (or another gateway) carries on where it stopped.
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <pqxx/pqxx>
#include <thread>

#include "spotgrid/client/client.hpp"
#include "spotgrid/util/clock.hpp"
#include "spotgrid/util/hmac.hpp"
#include "spotgrid/util/log.hpp"
#include "spotgrid/util/pg_session.hpp"
#include "spotgrid/webhooks/webhooks.hpp"

namespace spotgrid::webhooks {

namespace {

using Int = long long;  // pqxx converts long long, not every fixed-width alias

// Slack beyond an attempt's timeouts (resolve, connect, TLS, write, read each
// have `timeout`) before a claim lapses and another sender may try.
constexpr std::int64_t kClaimSlackSeconds = 5;
constexpr std::int64_t kTimedStepsPerAttempt = 3;  // connect + handshake, write, read
constexpr std::size_t kReplyLimit =
    std::size_t{64} * 1'024;  // a receiver's answer is not read further

struct Claimed {
  std::int64_t endpoint_id = 0;
  std::int64_t event_id = 0;
  std::string type;
  std::int64_t created_at = 0;
  std::string payload;
  std::int64_t attempts = 0;  // this one included
  std::int64_t endpoint_failures = 0;
  std::string url;
  std::string secret;
};

struct Outcome {
  bool delivered = false;
  std::optional<unsigned> status_code;
  std::string error;  // when not delivered
};

std::string clipped(std::string text) {
  if (text.size() > kMaxErrorBytes) text.resize(kMaxErrorBytes);
  return text;
}

}  // namespace

struct Dispatcher::Impl {
  explicit Impl(DispatcherOptions given) : options(std::move(given)) {
    for (unsigned i = 0; i < options.senders; ++i)
      threads.emplace_back([this] { run(); });
  }

  ~Impl() {
    {
      const std::lock_guard lock(mutex);
      stopping = true;
    }
    wake.notify_all();
    for (std::thread& thread : threads)
      thread.join();
  }

  void run() {
    util::PgSession session(options.conninfo);
    bool failing = false;  // logged once a spell (PostgreSQL down, schema not there yet)
    while (!stopped()) {
      if (!options.ready()) {
        idle();
        continue;
      }
      std::optional<Claimed> claimed;
      try {
        claimed = claim(session);
        failing = false;
      } catch (const std::exception& error) {
        if (!failing)
          util::log::warn("webhook_claim_failed", {{"cause", std::string_view(error.what())}});
        failing = true;
      }
      if (!claimed) {
        idle();
        continue;
      }
      const Outcome outcome = send(*claimed);
      try {
        record(session, *claimed, outcome);
      } catch (const std::exception& error) {
        // The claim lapses and the delivery is sent again: at least once.
        util::log::warn("webhook_record_failed", {{"cause", std::string_view(error.what())}});
      }
    }
  }

  bool stopped() {
    const std::lock_guard lock(mutex);
    return stopping;
  }

  void idle() {
    std::unique_lock lock(mutex);
    wake.wait_for(lock, options.idle_poll, [this] { return stopping; });
  }

  std::int64_t claim_seconds() const {
    return kTimedStepsPerAttempt * options.timeout.count() + kClaimSlackSeconds;
  }

  // The oldest due delivery of an active endpoint, claimed.
  std::optional<Claimed> claim(util::PgSession& session) {
    return session.run([&](pqxx::connection& connection) -> std::optional<Claimed> {
      pqxx::work txn(connection, "webhook_claim");
      const Int now = util::unix_now();
      const pqxx::result rows = txn.exec_params(
          "UPDATE webhook_deliveries d SET next_attempt_at = $1 + $2,"
          " attempts = d.attempts + 1"
          " FROM (SELECT d2.endpoint_id, d2.event_id FROM webhook_deliveries d2"
          " JOIN webhook_endpoints w2 ON w2.endpoint_id = d2.endpoint_id"
          " WHERE d2.status = 'pending' AND d2.next_attempt_at <= $1 AND w2.disabled_at IS NULL"
          " ORDER BY d2.next_attempt_at, d2.event_id LIMIT 1 FOR UPDATE OF d2 SKIP LOCKED) c,"
          " webhook_endpoints w"
          " WHERE d.endpoint_id = c.endpoint_id AND d.event_id = c.event_id"
          " AND w.endpoint_id = d.endpoint_id"
          " RETURNING d.endpoint_id, d.event_id, d.type, d.created_at, d.payload, d.attempts,"
          " w.consecutive_failures, w.url, w.secret",
          now, static_cast<Int>(claim_seconds()));
      txn.commit();
      if (rows.empty()) return std::nullopt;
      const pqxx::row row = rows[0];
      return Claimed{
          row[0].as<std::int64_t>(), row[1].as<std::int64_t>(), row[2].as<std::string>(),
          row[3].as<std::int64_t>(), row[4].as<std::string>(),  row[5].as<std::int64_t>(),
          row[6].as<std::int64_t>(), row[7].as<std::string>(),  row[8].as<std::string>()};
    });
  }

  Outcome send(const Claimed& delivery) const {
    auto endpoint = client::parse_endpoint_url(delivery.url);
    if (!endpoint || (!options.insecure_targets && !endpoint->target.tls))
      return Outcome{false, std::nullopt, "the endpoint's URL is not https"};
    client::Target& target = endpoint->target;
    target.timeout = options.timeout;
    target.ca_file = options.ca_file;
    target.public_addresses_only = !options.insecure_targets;
    target.reply_limit = kReplyLimit;
    const std::int64_t timestamp = util::unix_now();
    client::Request request;
    request.method = "POST";
    request.target = endpoint->path;
    request.body = delivery.payload;
    request.headers = {
        {"User-Agent", "spotgrid-webhooks/1"},
        {"Spotgrid-Event-Id", "evt_" + std::to_string(delivery.event_id)},
        {"Spotgrid-Event-Type", delivery.type},
        {"Spotgrid-Delivery-Attempt", std::to_string(delivery.attempts)},
        {"Spotgrid-Signature", signature_header(delivery.secret, timestamp, delivery.payload)}};
    const client::Result result = client::Client(std::move(target)).call(request);
    if (const auto* failure = std::get_if<client::Failure>(&result))
      return Outcome{false, std::nullopt, clipped(failure->problem)};
    const auto& reply = std::get<client::Reply>(result);
    if (reply.status / 100 == 2) return Outcome{true, reply.status, {}};
    return Outcome{false, reply.status,
                   "answered HTTP " + std::to_string(reply.status) + " (2xx acknowledges)"};
  }

  void record(util::PgSession& session, const Claimed& delivery, const Outcome& outcome) {
    session.run([&](pqxx::connection& connection) {
      pqxx::work txn(connection, "webhook_record");
      const Int now = util::unix_now();
      const auto code = outcome.status_code
                            ? std::optional<int>(static_cast<int>(*outcome.status_code))
                            : std::nullopt;
      if (outcome.delivered) {
        txn.exec_params(
            "UPDATE webhook_deliveries SET status = 'delivered', delivered_at = $3,"
            " last_attempt_at = $3, last_status_code = $4, last_error = NULL"
            " WHERE endpoint_id = $1 AND event_id = $2",
            static_cast<Int>(delivery.endpoint_id), static_cast<Int>(delivery.event_id), now, code);
        txn.exec_params(
            "UPDATE webhook_endpoints SET consecutive_failures = 0 WHERE endpoint_id = $1",
            static_cast<Int>(delivery.endpoint_id));
        txn.commit();
        delivered.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      // The endpoint backs off as a whole: its other due deliveries wait for
      // the same retry, and those past the window fail.
      const std::int64_t failures = std::max(delivery.attempts, delivery.endpoint_failures + 1);
      const Int retry_at =
          now + retry_delay(failures, options.retry_base_seconds, options.retry_cap_seconds);
      const Int window = options.give_up_after_seconds;
      const pqxx::result gave_up = txn.exec_params(
          "UPDATE webhook_deliveries SET last_attempt_at = $3, last_status_code = $4,"
          " last_error = $5, next_attempt_at = $6,"
          " status = CASE WHEN $6 - created_at > $7 THEN 'failed'::webhook_status"
          " ELSE 'pending'::webhook_status END"
          " WHERE endpoint_id = $1 AND event_id = $2 RETURNING status = 'failed'",
          static_cast<Int>(delivery.endpoint_id), static_cast<Int>(delivery.event_id), now, code,
          outcome.error, retry_at, window);
      txn.exec_params(
          "UPDATE webhook_deliveries SET next_attempt_at = $3,"
          " status = CASE WHEN $3 - created_at > $4 THEN 'failed'::webhook_status"
          " ELSE 'pending'::webhook_status END,"
          " last_error = CASE WHEN $3 - created_at > $4"
          " THEN 'the endpoint failed until the retry window closed' ELSE last_error END"
          " WHERE endpoint_id = $1 AND status = 'pending' AND next_attempt_at < $3"
          " AND next_attempt_at <= $2",
          static_cast<Int>(delivery.endpoint_id), now, retry_at, window);
      txn.exec_params(
          "UPDATE webhook_endpoints SET consecutive_failures = consecutive_failures + 1"
          " WHERE endpoint_id = $1",
          static_cast<Int>(delivery.endpoint_id));
      txn.commit();
      failed_attempts.fetch_add(1, std::memory_order_relaxed);
      if (!gave_up.empty() && gave_up[0][0].as<bool>())
        given_up.fetch_add(1, std::memory_order_relaxed);
      util::log::info("webhook_attempt_failed", {{"endpoint", delivery.endpoint_id},
                                                 {"event", delivery.event_id},
                                                 {"attempt", delivery.attempts},
                                                 {"cause", std::string_view(outcome.error)}});
    });
  }

  DispatcherOptions options;
  std::mutex mutex;
  std::condition_variable wake;
  bool stopping = false;
  std::vector<std::thread> threads;
  std::atomic<std::uint64_t> delivered{0};
  std::atomic<std::uint64_t> failed_attempts{0};
  std::atomic<std::uint64_t> given_up{0};
};

Dispatcher::Dispatcher(DispatcherOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

Dispatcher::~Dispatcher() = default;

Dispatcher::Counts Dispatcher::counts() const {
  return Counts{impl_->delivered.load(std::memory_order_relaxed),
                impl_->failed_attempts.load(std::memory_order_relaxed),
                impl_->given_up.load(std::memory_order_relaxed)};
}

std::string signature_header(std::string_view secret, std::int64_t timestamp,
                             std::string_view body) {
  const std::string stamp = std::to_string(timestamp);
  std::string signed_text;
  signed_text.reserve(stamp.size() + 1 + body.size());
  signed_text.append(stamp).append(".").append(body);
  std::string header = "t=";
  header.append(stamp).append(",v1=").append(util::hmac_sha256_hex(secret, signed_text));
  return header;
}

std::int64_t retry_delay(std::int64_t failures, std::int64_t base, std::int64_t cap) {
  std::int64_t delay = base;
  for (std::int64_t i = 1; i < failures && delay < cap; ++i)
    delay *= 2;
  return std::min(delay, cap);
}

std::optional<std::string> url_problem(std::string_view url, bool insecure_targets) {
  if (url.size() > kMaxUrlBytes) return "url is longer than 2048 bytes";
  const auto endpoint = client::parse_endpoint_url(url);
  if (!endpoint) {
    return "url must be https://HOST[:PORT][/PATH][?QUERY], with no user name, fragment,"
           " space or control character";
  }
  if (!endpoint->target.tls && !insecure_targets) return "url must be https://";
  return std::nullopt;
}

}  // namespace spotgrid::webhooks
