// The webhook dispatcher: sender threads that claim a due delivery, POST it
// signed, and record what happened. Everything it knows is in PostgreSQL, so
// a restart (or another gateway) carries on where it stopped.
#include <algorithm>
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

// How long a claim holds a delivery: connect, the TLS handshake, write and
// read each have `timeout`; resolving a name is not cancellable (glibc gives
// up within 30 s by default), so a name gets its own allowance; then slack.
constexpr std::int64_t kTimedStepsPerAttempt = 4;
constexpr std::int64_t kResolveAllowanceSeconds = 30;
constexpr std::int64_t kClaimSlackSeconds = 5;
constexpr std::size_t kReplyLimit = std::size_t{64} * 1'024;  // a receiver's answer, at most
constexpr std::int64_t kPurgeEverySeconds = 3'600;
constexpr int kPurgeRowsAtOnce = 10'000;
constexpr int kPurgeBatchesAtMost = 100;  // a million rows an hour per sender

struct Claimed {
  std::int64_t endpoint_id = 0;
  std::int64_t event_id = 0;
  std::string type;
  std::string payload;
  std::int64_t attempts = 0;  // this one included: the claim's token
  std::int64_t claimed_at = 0;
  std::int64_t claimed_until = 0;  // the endpoint's busy_until while this claim holds it
  std::string url;
  std::string secret;
};

struct Outcome {
  bool delivered = false;
  std::optional<int> status_code;
  std::string error;  // when not delivered
};

// An error as the log keeps it: printable ASCII (a host name's bytes, cut
// anywhere, would not be valid UTF-8), at most kMaxErrorBytes.
std::string clipped(std::string text) {
  if (text.size() > kMaxErrorBytes) text.resize(kMaxErrorBytes);
  for (char& c : text) {
    if (c < ' ' || c > '~') c = '?';
  }
  return text;
}

}  // namespace

struct Dispatcher::Impl {
  explicit Impl(DispatcherOptions given) : options(std::move(given)) {
    try {
      for (unsigned i = 0; i < options.senders; ++i)
        threads.emplace_back([this] { run(); });
    } catch (...) {
      stop();
      throw;
    }
  }

  ~Impl() { stop(); }

  // Waits for attempts in flight (each bounded by its timeouts).
  void stop() {
    {
      const std::lock_guard lock(mutex);
      stopping = true;
    }
    wake.notify_all();
    for (std::thread& thread : threads) {
      if (thread.joinable()) thread.join();
    }
  }

  void run() {
    util::PgSession session(options.conninfo);
    bool failing = false;  // logged once a spell (PostgreSQL down, say)
    std::int64_t next_purge = 0;
    while (!stopped()) {
      try {
        if (!options.ready()) {
          idle();
          continue;
        }
        purge_now_and_then(session, next_purge);
        if (!deliver_one(session)) idle();
        failing = false;
      } catch (const std::exception& error) {
        // A claim whose result was not recorded lapses, and is sent again.
        if (!failing)
          util::log::warn("webhook_sender_failed", {{"cause", std::string_view(error.what())}});
        failing = true;
        idle();
      }
    }
  }

  // Claims, sends and records one delivery; whether there was one.
  bool deliver_one(util::PgSession& session) {
    const std::optional<Claimed> claimed = claim(session);
    if (!claimed) return false;
    record(session, *claimed, send(*claimed));
    return true;
  }

  bool stopped() {
    const std::lock_guard lock(mutex);
    return stopping;
  }

  void idle() {
    std::unique_lock lock(mutex);
    wake.wait_for(lock, options.idle_poll, [this] { return stopping; });
  }

  std::int64_t claim_seconds(const std::string& url) const {
    const auto endpoint = client::parse_endpoint_url(url);
    const bool named = !endpoint || !client::address_is_public(endpoint->target.host).has_value();
    return kTimedStepsPerAttempt * options.timeout.count() +
           (named ? kResolveAllowanceSeconds : 0) + kClaimSlackSeconds;
  }

  // The oldest due delivery of the endpoint whose turn it is: active, not
  // backing off, of an account with no attempt in flight. The endpoint is
  // marked busy with the claim.
  std::optional<Claimed> claim(util::PgSession& session) {
    return session.run([&](pqxx::connection& connection) -> std::optional<Claimed> {
      pqxx::work txn(connection, "webhook_claim");
      const Int now = util::unix_now();
      const pqxx::result turn = txn.exec_params(
          "SELECT w.endpoint_id, w.url, w.secret, w.account_id FROM webhook_endpoints w"
          " WHERE w.disabled_at IS NULL AND w.retry_at <= $1 AND w.busy_until <= $1"
          " AND NOT EXISTS (SELECT 1 FROM webhook_endpoints b WHERE b.account_id = w.account_id"
          " AND b.disabled_at IS NULL AND b.busy_until > $1)"
          " AND EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.endpoint_id = w.endpoint_id"
          " AND d.status = 'pending' AND d.next_attempt_at <= $1)"
          " ORDER BY w.served_at, w.endpoint_id LIMIT 1 FOR UPDATE OF w SKIP LOCKED",
          now);
      if (turn.empty()) return std::nullopt;
      const auto endpoint = turn[0][0].as<Int>();
      // One attempt in flight per account: the account's lock for this
      // transaction, then a fresh look (another sender may have committed a
      // claim since this statement's snapshot).
      const auto account = turn[0][3].as<Int>();
      if (!txn.exec_params1("SELECT pg_try_advisory_xact_lock(hashtext('spotgrid-webhooks'),"
                            " $1::int)",
                            static_cast<int>(account % 2'147'483'647))[0]
               .as<bool>() ||
          !txn.exec_params("SELECT 1 FROM webhook_endpoints WHERE account_id = $1"
                           " AND disabled_at IS NULL AND busy_until > $2",
                           account, now)
               .empty())
        return std::nullopt;
      const Int until = now + static_cast<Int>(claim_seconds(turn[0][1].as<std::string>()));
      const pqxx::result rows = txn.exec_params(
          "UPDATE webhook_deliveries d SET next_attempt_at = $3, attempts = d.attempts + 1"
          " FROM (SELECT event_id FROM webhook_deliveries WHERE endpoint_id = $1"
          " AND status = 'pending' AND next_attempt_at <= $2"
          " ORDER BY next_attempt_at, event_id LIMIT 1 FOR UPDATE SKIP LOCKED) c"
          " WHERE d.endpoint_id = $1 AND d.event_id = c.event_id"
          " RETURNING d.event_id, d.type, d.payload, d.attempts",
          endpoint, now, until);
      if (rows.empty()) return std::nullopt;
      txn.exec_params(
          "UPDATE webhook_endpoints SET busy_until = $2, served_at = $3 WHERE endpoint_id = $1",
          endpoint, until, now);
      txn.commit();
      const pqxx::row row = rows[0];
      return Claimed{endpoint,
                     row[0].as<std::int64_t>(),
                     row[1].as<std::string>(),
                     row[2].as<std::string>(),
                     row[3].as<std::int64_t>(),
                     now,
                     until,
                     turn[0][1].as<std::string>(),
                     turn[0][2].as<std::string>()};
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
    client::Request request;
    request.method = "POST";
    request.target = endpoint->path;
    request.body = delivery.payload;
    request.headers = {{"User-Agent", "spotgrid-webhooks/1"},
                       {"Spotgrid-Event-Id", "evt_" + std::to_string(delivery.event_id)},
                       {"Spotgrid-Event-Type", delivery.type},
                       {"Spotgrid-Delivery-Attempt", std::to_string(delivery.attempts)},
                       {"Spotgrid-Signature",
                        signature_header(delivery.secret, util::unix_now(), delivery.payload)}};
    const client::Result result = client::Client(std::move(target)).call(request);
    if (const auto* failure = std::get_if<client::Failure>(&result))
      return Outcome{false, std::nullopt, clipped(failure->problem)};
    const auto status = static_cast<int>(std::get<client::Reply>(result).status);
    if (status / 100 == 2) return Outcome{true, status, {}};
    return Outcome{false, status,
                   "answered HTTP " + std::to_string(status) + " (2xx acknowledges)"};
  }

  // Records the attempt, if the claim still holds the row (its `attempts` is
  // the token: a late result of a lapsed claim, or of a deleted endpoint's
  // delivery, changes nothing).
  void record(util::PgSession& session, const Claimed& delivery, const Outcome& outcome) {
    session.run([&](pqxx::connection& connection) {
      pqxx::work txn(connection, "webhook_record");
      // Endpoint, then delivery: the order claims and deletions lock them in.
      txn.exec_params("SELECT 1 FROM webhook_endpoints WHERE endpoint_id = $1 FOR UPDATE",
                      static_cast<Int>(delivery.endpoint_id));
      if (outcome.delivered) {
        record_delivered(txn, delivery, outcome);
      } else {
        record_failed(txn, delivery, outcome);
      }
    });
  }

  void record_delivered(pqxx::work& txn, const Claimed& delivery, const Outcome& outcome) {
    const Int now = util::unix_now();
    const auto endpoint = static_cast<Int>(delivery.endpoint_id);
    const pqxx::result held = txn.exec_params(
        "UPDATE webhook_deliveries SET status = 'delivered', delivered_at = $4,"
        " last_attempt_at = $4, last_status_code = $5, last_error = NULL"
        " WHERE endpoint_id = $1 AND event_id = $2 AND status = 'pending' AND attempts = $3"
        " RETURNING 1",
        endpoint, static_cast<Int>(delivery.event_id), static_cast<Int>(delivery.attempts), now,
        outcome.status_code);
    if (held.empty()) return;
    txn.exec_params(
        "UPDATE webhook_endpoints SET consecutive_failures = 0, retry_at = 0,"
        " busy_until = CASE WHEN busy_until = $2 THEN 0 ELSE busy_until END"
        " WHERE endpoint_id = $1",
        endpoint, static_cast<Int>(delivery.claimed_until));
    txn.commit();
    delivered.fetch_add(1, std::memory_order_relaxed);
  }

  void record_failed(pqxx::work& txn, const Claimed& delivery, const Outcome& outcome) {
    const Int now = util::unix_now();
    const auto endpoint = static_cast<Int>(delivery.endpoint_id);
    const auto event = static_cast<Int>(delivery.event_id);
    const auto token = static_cast<Int>(delivery.attempts);
    const auto claimed_until = static_cast<Int>(delivery.claimed_until);
    // One failed probe backs the endpoint off, unless another attempt,
    // started at the same time, already did: then this one waits as well.
    const auto retry_at =
        txn.exec_params1(
               "UPDATE webhook_endpoints"
               " SET busy_until = CASE WHEN busy_until = $6 THEN 0 ELSE busy_until END,"
               " consecutive_failures = consecutive_failures + (retry_at <= $5)::int,"
               " retry_at = CASE WHEN retry_at <= $5 THEN $2 + least($3::bigint <<"
               " least(consecutive_failures, 30), $4::bigint) ELSE retry_at END"
               " WHERE endpoint_id = $1 RETURNING greatest(retry_at, $2::bigint)",
               endpoint, now, static_cast<Int>(options.retry_base_seconds),
               static_cast<Int>(options.retry_cap_seconds), static_cast<Int>(delivery.claimed_at),
               claimed_until)[0]
            .as<Int>();
    // Retried until an attempt fails at least the window after its event
    // (never less than the window). The delivery backs off by its own
    // attempts too: one its receiver always refuses, while others succeed,
    // waits longer each time.
    const auto window = static_cast<Int>(options.give_up_after_seconds);
    const pqxx::result held = txn.exec_params(
        "UPDATE webhook_deliveries SET last_attempt_at = $4, last_status_code = $5,"
        " last_error = $6, next_attempt_at = greatest($7, $4 + least($9::bigint <<"
        " least($3 - 1, 30)::int, $10::bigint)),"
        " status = CASE WHEN $4 - created_at >= $8 THEN 'failed'::webhook_status"
        " ELSE 'pending'::webhook_status END"
        " WHERE endpoint_id = $1 AND event_id = $2 AND status = 'pending' AND attempts = $3"
        " RETURNING status = 'failed'",
        endpoint, event, token, now, outcome.status_code, outcome.error, retry_at, window,
        static_cast<Int>(options.retry_base_seconds), static_cast<Int>(options.retry_cap_seconds));
    if (held.empty()) return;
    // The rest of a dead endpoint's backlog that is past the window fails
    // with it (not one probe at a time); claimed rows are left to their claim.
    const pqxx::result aged = txn.exec_params(
        "UPDATE webhook_deliveries SET status = 'failed',"
        " last_error = 'the endpoint failed until the retry window closed'"
        " WHERE endpoint_id = $1 AND status = 'pending' AND $2 - created_at >= $3"
        " AND next_attempt_at <= $2",
        endpoint, now, window);
    txn.commit();
    failed_attempts.fetch_add(1, std::memory_order_relaxed);
    const bool gave_up = held[0][0].as<bool>();
    given_up.fetch_add((gave_up ? 1 : 0) + static_cast<std::uint64_t>(aged.affected_rows()),
                       std::memory_order_relaxed);
    util::log::info("webhook_attempt_failed", {{"endpoint", delivery.endpoint_id},
                                               {"event", delivery.event_id},
                                               {"attempt", delivery.attempts},
                                               {"cause", std::string_view(outcome.error)}});
  }

  // Delivered and failed deliveries are kept `retention_days`, then deleted
  // a bounded number at a time (about once an hour per sender).
  void purge_now_and_then(util::PgSession& session, std::int64_t& next_purge) {
    const std::int64_t now = util::unix_now();
    if (now < next_purge) return;
    next_purge = now + kPurgeEverySeconds;
    session.run([&](pqxx::connection& connection) {
      // Deliveries an endpoint's deletion could not see (written by a batch
      // that read the endpoint before the deletion committed) fail now.
      pqxx::work orphans(connection, "webhook_orphans");
      orphans.exec(
          "UPDATE webhook_deliveries d SET status = 'failed', last_error = 'endpoint deleted'"
          " FROM webhook_endpoints w WHERE w.endpoint_id = d.endpoint_id"
          " AND w.disabled_at IS NOT NULL AND d.status = 'pending'");
      orphans.commit();
      for (int batch = 0; batch < kPurgeBatchesAtMost; ++batch) {
        pqxx::work txn(connection, "webhook_purge");
        const pqxx::result gone = txn.exec_params(
            "DELETE FROM webhook_deliveries WHERE ctid = ANY (ARRAY (SELECT ctid FROM"
            " webhook_deliveries WHERE status <> 'pending' AND created_at < $1 LIMIT $2))",
            static_cast<Int>(now - options.retention_days * 86'400), kPurgeRowsAtOnce);
        txn.commit();
        if (gone.affected_rows() < kPurgeRowsAtOnce) break;
      }
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

namespace {

// "localhost" and its subdomains (RFC 6761), with or without the root's dot:
// names every resolver keeps on this host. Other names reach their addresses
// only at delivery, which checks them there.
bool names_this_host(std::string_view host) {
  std::string name(host);
  for (char& c : name) {  // ASCII: a host is letters, digits, '-', '.' (parse_url)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  if (name.ends_with('.')) name.pop_back();
  return name == "localhost" || name.ends_with(".localhost");
}

}  // namespace

std::optional<std::string> url_problem(std::string_view url, bool insecure_targets) {
  if (url.size() > kMaxUrlBytes) return "url is longer than 2048 bytes";
  const auto endpoint = client::parse_endpoint_url(url);
  if (!endpoint) {
    return "url must be https://HOST[:PORT][/PATH][?QUERY], with no user name, fragment,"
           " space or control character";
  }
  if (insecure_targets) return std::nullopt;
  if (!endpoint->target.tls) return "url must be https://";
  if (client::address_is_public(endpoint->target.host) == false ||
      names_this_host(endpoint->target.host))
    return "url must not name a private, loopback or otherwise non-public address";
  return std::nullopt;
}

}  // namespace spotgrid::webhooks
