#pragma once
// Helpers shared by the /v1 routes: JSON answers, the error answers every
// route gives the same way, and ids in paths.
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <charconv>
#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "api.hpp"
#include "json_body.hpp"
#include "read_store.hpp"
#include "refusals.hpp"
#include "request_guards.hpp"
#include "spotgrid/engine/engine.hpp"
#include "spotgrid/engine/types.hpp"
#include "spotgrid/gateway/http.hpp"
#include "spotgrid/ledger/durable_market.hpp"
#include "spotgrid/ledger/request_keys.hpp"

namespace spotgrid::gateway {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

// A JSON object response built by `fill`.
template <typename Fill>
HttpResponse json(unsigned status, Fill&& fill) {
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  writer.StartObject();
  fill(writer);
  writer.EndObject();
  return HttpResponse{
      status, std::string(buffer.GetString(), buffer.GetSize()), "application/json", {}, {}};
}

inline void key(Writer& writer, std::string_view name) {
  writer.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
}
inline void text(Writer& writer, std::string_view value) {
  writer.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

// One member: `name` and its value (a bool, an integer, signed or not, or a string).
template <typename T>
void field(Writer& writer, std::string_view name, const T& value) {
  key(writer, name);
  if constexpr (std::is_same_v<T, bool>) {
    writer.Bool(value);
  } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    writer.Int64(value);
  } else if constexpr (std::is_integral_v<T>) {
    writer.Uint64(value);
  } else {
    text(writer, std::string_view(value));
  }
}

inline HttpResponse bad_request(const FieldProblem& problem) {
  return error_response(
      400, problem.field.empty() ? "invalid_json" : "invalid_field",
      problem.field.empty() ? problem.message : problem.field + " " + problem.message,
      problem.field);
}

inline HttpResponse recovering() {
  return error_response(503, "unavailable", "the market is recovering");
}

// A read answered from the committed read model names the sequence it
// reflects (every command up to it, at least).
inline HttpResponse as_of(std::uint64_t committed_seq, HttpResponse answer) {
  answer.headers.emplace_back("X-Spotgrid-Committed-Seq", std::to_string(committed_seq));
  return answer;
}

// A read PostgreSQL answered (a JSON body), or the 503 when it did not.
inline HttpResponse from_store(const std::optional<std::string>& body) {
  if (!body) return error_response(503, "unavailable", "storage is unavailable");
  return HttpResponse{200, *body, "application/json", {}, {}};
}

// An id, a cursor or a count: a positive decimal that fits `Id`, or nothing.
template <typename Id>
std::optional<Id> id_of(std::string_view text) {
  Id id = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (error != std::errc{} || end != text.data() + text.size() || id <= 0) return std::nullopt;
  return id;
}

// `length` decimal digits at `at`, if they are all digits.
inline std::optional<int> digits(std::string_view text, std::size_t at, std::size_t length) {
  int value = 0;
  const char* first = text.data() + at;
  const auto [end, error] = std::from_chars(first, first + length, value);
  if (error != std::errc{} || end != first + length) return std::nullopt;
  return value;
}

// A time a query names: Unix seconds, "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SSZ" (UTC).
inline std::optional<UnixSeconds> parse_instant(std::string_view text) {
  UnixSeconds seconds = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (error == std::errc{} && end == text.data() + text.size() && seconds >= 0) return seconds;
  const bool date_only = text.size() == 10;
  const bool date_time =
      text.size() == 20 && text[10] == 'T' && text[13] == ':' && text[16] == ':' && text[19] == 'Z';
  if ((!date_only && !date_time) || text[4] != '-' || text[7] != '-') return std::nullopt;
  const auto year = digits(text, 0, 4);
  const auto month = digits(text, 5, 2);
  const auto day = digits(text, 8, 2);
  const auto hour = date_time ? digits(text, 11, 2) : 0;
  const auto minute = date_time ? digits(text, 14, 2) : 0;
  const auto second = date_time ? digits(text, 17, 2) : 0;
  if (!year || !month || !day || !hour || !minute || !second) return std::nullopt;
  const std::chrono::year_month_day date{std::chrono::year{*year},
                                         std::chrono::month{static_cast<unsigned>(*month)},
                                         std::chrono::day{static_cast<unsigned>(*day)}};
  if (!date.ok() || *hour > 23 || *minute > 59 || *second > 59) return std::nullopt;
  return std::chrono::sys_seconds{std::chrono::sys_days{date}}.time_since_epoch().count() +
         UnixSeconds{*hour} * 3'600 + UnixSeconds{*minute} * 60 + *second;
}

// Keys and webhook endpoints belong to accounts (buyers, suppliers):
// platform roles' keys come from configuration or the operator, and agents
// use node keys.
inline bool holds_an_account(const Principal& caller) {
  return caller.role == Role::kBuyer || caller.role == Role::kSupplier;
}

inline HttpResponse storage_unchanged() {
  return error_response(503, "unavailable", "storage is unavailable: nothing was changed");
}

// The request's Idempotency-Key, to commit with what a route creates in
// its own transaction (a key, an endpoint).
inline std::optional<ledger::RequestKey> request_key_of(const Api& api) {
  if (!api.idempotency) return std::nullopt;
  return ledger::RequestKey{api.idempotency->scope, api.idempotency->key,
                            api.idempotency->fingerprint, api.idempotency->lifetime_seconds,
                            nullptr};
}

inline HttpResponse forbidden() {
  return error_response(403, "forbidden", "this key's role may not do that");
}

inline HttpResponse not_committed(ledger::Outcome outcome) {
  if (outcome == ledger::Outcome::kOverloaded)
    return error_response(429, "overloaded", "the market is busy; retry shortly");
  if (outcome == ledger::Outcome::kRefused) {
    return error_response(400, "invalid_content",
                          "storage refused what this request holds: nothing was applied");
  }
  if (outcome == ledger::Outcome::kOutcomeUnknown) {
    return error_response(503, "outcome_unknown",
                          "storage failed while committing: the command may or may not have "
                          "been applied; check before retrying");
  }
  return error_response(503, "unavailable", "storage is unavailable: nothing was applied");
}

// 404 for an id the caller cannot see (the engine treats someone else's order,
// listing or lease as unknown), 422 for anything else the market refused.
inline HttpResponse rejected(engine::Reject reason, const char* what) {
  const bool unknown =
      reason == engine::Reject::kUnknownOrder || reason == engine::Reject::kUnknownLease ||
      reason == engine::Reject::kUnknownListing || reason == engine::Reject::kUnknownNode;
  const Refusal refusal = refusal_of(reason);
  return error_response(unknown ? 404 : 422, std::string(to_string(reason)),
                        std::string(what) + ": " + std::string(refusal.explain), refusal.field);
}

// Submits `command`; once committed, answers with `answer(completion)`, or with
// the refusal (`refused` says what was refused) or the storage error. With an
// Idempotency-Key, the key and the answer (secrets redacted) commit with the
// command.
template <typename Answer>
void submit_then(const Api& api, const engine::CommandBody& command, Respond respond,
                 const char* refused, Answer answer) {
  auto render = [refused, answer = std::move(answer)](const ledger::Completion& done) {
    if (done.rejected) return rejected(*done.rejected, refused);
    return answer(done);
  };
  std::shared_ptr<ledger::RequestKey> key;
  if (api.idempotency) {
    key = std::make_shared<ledger::RequestKey>(ledger::RequestKey{
        api.idempotency->scope, api.idempotency->key, api.idempotency->fingerprint,
        api.idempotency->lifetime_seconds, [render](const ledger::Completion& done) {
          const HttpResponse response = render(done);
          return ledger::StoredAnswer{response.status, redact_secrets(response.body)};
        }});
  }
  api.market.submit(
      command,
      [respond = std::move(respond), render](ledger::Completion&& done) {
        if (done.outcome != ledger::Outcome::kCommitted)
          return respond(not_committed(done.outcome));
        respond(render(done));
      },
      std::move(key));
}

// ?from=&to=: Unix seconds or UTC dates, to exclusive, at most
// billing.max_export_days apart; nullopt when answered with the problem.
std::optional<std::pair<UnixSeconds, UnixSeconds>> time_range(const Api& api,
                                                              const HttpRequest& request,
                                                              const Respond& respond);
// Whose rows a finance read shows: the caller's own, or for finance and the
// operator every account's (nullopt) or the one named by ?account=. False when
// answered with the problem.
bool accounts_shown(const Principal& caller, const HttpRequest& request, const Respond& respond,
                    std::optional<AccountId>& account);

// ?cursor=&limit=&pool=&state=&from=&to= of a history route; `states` maps
// each state the route offers to the table's words ("open" ->
// "accepted,deferred,resting"). nullopt when answered with the problem.
struct StateWords {
  std::string_view state;
  std::string_view statuses;
};
std::optional<HistoryPage> history_page(const Api& api, const HttpRequest& request,
                                        const Respond& respond, std::span<const StateWords> states);

// The first event of type T in a completion, if any: the whole event (its
// sequence and time) or its body.
template <typename T>
const engine::Event* first_event_of(const ledger::Completion& done) {
  for (const engine::Event& event : done.events) {
    if (std::holds_alternative<T>(event.body)) return &event;
  }
  return nullptr;
}
template <typename T>
const T* first_event(const ledger::Completion& done) {
  const engine::Event* event = first_event_of<T>(done);
  return event == nullptr ? nullptr : &std::get<T>(event->body);
}

// "asks" and "bids": a book's depth, best price first (the REST book and the
// book stream say the same).
inline void write_depth(Writer& w, const engine::BookView& book) {
  const auto side = [&](std::string_view name, const std::vector<engine::BookLevel>& levels) {
    key(w, name);
    w.StartArray();
    for (const engine::BookLevel& level : levels) {
      w.StartObject();
      field(w, "price_micros_per_hour", level.price_micros_per_hour);
      field(w, "cards", level.cards);
      field(w, "entries", level.entries);
      w.EndObject();
    }
    w.EndArray();
  };
  side("asks", book.asks);
  side("bids", book.bids);
}

// "leases": the trades a command made.
inline void write_leases(Writer& w, const ledger::Completion& done) {
  key(w, "leases");
  w.StartArray();
  for (const engine::Event& event : done.events) {
    if (const auto* lease = std::get_if<engine::LeaseStarted>(&event.body)) {
      w.StartObject();
      field(w, "lease_id", lease->lease);
      field(w, "order_id", lease->order);
      field(w, "listing_id", lease->listing);
      field(w, "node_id", lease->node);
      field(w, "cards", lease->cards);
      field(w, "price_micros_per_card_hour", lease->price_micros_per_card_hour);
      field(w, "start", lease->start);
      field(w, "planned_end", lease->planned_end);
      w.EndObject();
    }
  }
  w.EndArray();
}

}  // namespace spotgrid::gateway
