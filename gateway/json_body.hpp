#pragma once
// Strict reading of a JSON request body: an object, only the named fields,
// each of the right type and range; the first problem names its field.
#include <rapidjson/document.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace spotgrid::gateway {

struct FieldProblem {
  std::string field;
  std::string message;
};

class JsonBody {
 public:
  // Parses `text`; problem() is set when it is not a JSON object.
  explicit JsonBody(std::string_view text);
  const std::optional<FieldProblem>& problem() const { return problem_; }
  // Refuses any field not in `allowed`.
  void only(std::initializer_list<std::string_view> allowed);
  std::optional<std::int64_t> integer(const char* name, std::int64_t min, std::int64_t max);
  std::optional<std::string> text(const char* name, std::size_t max_length);
  std::optional<bool> boolean(const char* name);
  // A list of 0 to `max_items` strings of 1 to `max_length` characters.
  std::optional<std::vector<std::string>> texts(const char* name, std::size_t max_items,
                                                std::size_t max_length);
  bool has(const char* name) const;
  // A probe report (spotgrid-probe's JSON) as measured BF16 TFLOP/s, x1000; the
  // report must say its burn-in passed.
  std::optional<std::int64_t> probe_bf16_milli_tflops(const char* name);

 private:
  const rapidjson::Value* member(const char* name);
  // Records the first problem; converts to any empty optional.
  std::nullopt_t fail(const char* name, std::string message) {
    if (!problem_) problem_ = FieldProblem{name, std::move(message)};
    return std::nullopt;
  }

  rapidjson::Document document_;
  std::optional<FieldProblem> problem_;
};

}  // namespace spotgrid::gateway
