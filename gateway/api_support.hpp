#pragma once
// Helpers shared by the /v1 routes: JSON answers, the error answers every
// route gives the same way, and ids in paths.
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <charconv>
#include <optional>
#include <string>
#include <string_view>

#include "json_body.hpp"
#include "spotgrid/engine/types.hpp"
#include "spotgrid/gateway/http.hpp"
#include "spotgrid/ledger/durable_market.hpp"

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
      status, std::string(buffer.GetString(), buffer.GetSize()), "application/json", {}};
}

inline void key(Writer& writer, std::string_view name) {
  writer.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
}
inline void text(Writer& writer, std::string_view value) {
  writer.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

inline HttpResponse bad_request(const FieldProblem& problem) {
  return error_response(
      400, problem.field.empty() ? "invalid_json" : "invalid_field",
      problem.field.empty() ? problem.message : problem.field + " " + problem.message,
      problem.field);
}

inline HttpResponse forbidden() {
  return error_response(403, "forbidden", "this key's role may not do that");
}

inline HttpResponse not_committed(ledger::Outcome outcome) {
  if (outcome == ledger::Outcome::kOverloaded)
    return error_response(429, "overloaded", "the market is busy; retry shortly");
  if (outcome == ledger::Outcome::kOutcomeUnknown) {
    return error_response(503, "outcome_unknown",
                          "storage failed while committing: the command may or may not have "
                          "been applied; check before retrying");
  }
  return error_response(503, "unavailable", "storage is unavailable: nothing was applied");
}

// "/v1/accounts/17/deposits" → 17 when `path` is prefix + id + suffix.
template <typename Id = AccountId>
inline std::optional<Id> id_between(std::string_view path, std::string_view prefix,
                                    std::string_view suffix) {
  if (path.size() <= prefix.size() + suffix.size() || path.substr(0, prefix.size()) != prefix ||
      path.substr(path.size() - suffix.size()) != suffix) {
    return std::nullopt;
  }
  const std::string_view digits =
      path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
  Id id = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
  if (error != std::errc{} || end != digits.data() + digits.size() || id == 0) return std::nullopt;
  return id;
}

}  // namespace spotgrid::gateway
