#include "json_body.hpp"

#include <cmath>

#include "spotgrid/util/json.hpp"
#include "spotgrid/util/text.hpp"

namespace spotgrid::gateway {

JsonBody::JsonBody(std::string_view text) {
  // Invalid UTF-8 and deep nesting are bad requests, not stored strings or a
  // stack overflow.
  if (auto error = util::parse_json(document_, text, limits::kMaxJsonBytes)) {
    problem_ = FieldProblem{"", "not valid JSON: " + *error};
  } else if (!document_.IsObject()) {
    problem_ = FieldProblem{"", "the body must be a JSON object"};
  }
}

void JsonBody::only(std::initializer_list<std::string_view> allowed) {
  if (problem_) return;
  const rapidjson::Value& object = document_;
  for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it) {
    const std::string_view name(it->name.GetString(), it->name.GetStringLength());
    bool known = false;
    for (const std::string_view candidate : allowed)
      known = known || candidate == name;
    if (!known) {
      problem_ = util::is_clean_text(name) && name.size() <= limits::kMaxTextBytes
                     ? FieldProblem{std::string(name), "unknown field"}
                     : FieldProblem{"", "a field name is not printable text or too long"};
      return;
    }
  }
  // Every name is an allowed one now: more members than allowed names means a
  // repeat, and otherwise there are few to compare.
  if (object.MemberCount() > allowed.size()) {
    problem_ = FieldProblem{"", "a field is given more than once"};
  } else if (const auto repeated = util::repeated_name(object)) {
    problem_ = FieldProblem{std::string(*repeated), "is given more than once"};
  }
}

const rapidjson::Value* JsonBody::member(const char* name) {
  if (problem_) return nullptr;
  const rapidjson::Value& object = document_;
  const auto it = object.FindMember(name);
  if (it == object.MemberEnd()) {
    fail(name, "is required");
    return nullptr;
  }
  return &it->value;
}

std::optional<std::int64_t> JsonBody::probe_bf16_milli_tflops(const char* name) {
  const rapidjson::Value* report = member(name);
  if (report == nullptr) return std::nullopt;
  if (!report->IsObject()) return fail(name, "must be the JSON object spotgrid-probe printed");
  const auto gemm = report->FindMember("gemm");
  const auto burn_in = report->FindMember("burn_in");
  if (gemm == report->MemberEnd() || !gemm->value.IsObject() || burn_in == report->MemberEnd() ||
      !burn_in->value.IsObject()) {
    return fail(name, "must hold gemm and burn_in (spotgrid-probe's report)");
  }
  const auto tflops = gemm->value.FindMember("bf16_tflops");
  if (tflops == gemm->value.MemberEnd() || !tflops->value.IsNumber() ||
      !(tflops->value.GetDouble() > 0.0) || tflops->value.GetDouble() > 100'000.0) {
    return fail(name, "gemm.bf16_tflops must be a number in (0, 100000]");
  }
  const auto ok = burn_in->value.FindMember("ok");
  if (ok == burn_in->value.MemberEnd() || !ok->value.IsBool() || !ok->value.GetBool())
    return fail(name, "the card failed its burn-in (burn_in.ok is not true)");
  // A measurement, not money: rounded to a thousandth of a TFLOP/s.
  return std::llround(tflops->value.GetDouble() * 1'000.0);
}

std::optional<std::int64_t> JsonBody::integer(const char* name, std::int64_t min,
                                              std::int64_t max) {
  const rapidjson::Value* value = member(name);
  if (value == nullptr) return std::nullopt;
  if (!value->IsInt64() || value->GetInt64() < min || value->GetInt64() > max) {
    return fail(name,
                "must be an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  return value->GetInt64();
}

std::optional<std::string> JsonBody::text(const char* name, std::size_t max_length) {
  const rapidjson::Value* value = member(name);
  if (value == nullptr) return std::nullopt;
  if (!value->IsString() || value->GetStringLength() == 0 || value->GetStringLength() > max_length)
    return fail(name, "must be a string of 1 to " + std::to_string(max_length) + " bytes");
  std::string out(value->GetString(), value->GetStringLength());
  // A lone surrogate's \u escape decodes to bytes that are not UTF-8 (util/text.hpp).
  if (!util::is_clean_text(out))
    return fail(name, "must be valid UTF-8 text without NUL or other control characters");
  return out;
}

std::optional<bool> JsonBody::boolean(const char* name) {
  const rapidjson::Value* value = member(name);
  if (value == nullptr) return std::nullopt;
  if (!value->IsBool()) return fail(name, "must be true or false");
  return value->GetBool();
}

std::optional<std::vector<std::string>> JsonBody::texts(const char* name, std::size_t max_items,
                                                        std::size_t max_length) {
  const rapidjson::Value* value = member(name);
  if (value == nullptr) return std::nullopt;
  const std::string problem = "must be a list of at most " + std::to_string(max_items) +
                              " strings of 1 to " + std::to_string(max_length) +
                              " bytes of valid UTF-8 text without control characters";
  if (!value->IsArray() || value->Size() > max_items) return fail(name, problem);
  std::vector<std::string> out;
  for (const rapidjson::Value& item : value->GetArray()) {
    if (!item.IsString() || item.GetStringLength() == 0 || item.GetStringLength() > max_length)
      return fail(name, problem);
    out.emplace_back(item.GetString(), item.GetStringLength());
    if (!util::is_clean_text(out.back())) return fail(name, problem);
  }
  return out;
}

bool JsonBody::has(const char* name) const {
  if (problem_) return false;
  const rapidjson::Value& object = document_;
  return object.HasMember(name);
}

}  // namespace spotgrid::gateway
