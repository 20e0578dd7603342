#include "scenario.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <fstream>
#include <sstream>
#include "spotgrid/util/json.hpp"

namespace spotgrid::loadtest {

std::uint32_t Scenario::total_weight() const {
  std::uint32_t total = 0;
  for (const RequestTemplate& request : requests)
    total += request.weight;
  return total;
}

const RequestTemplate& Scenario::pick(std::uint64_t n) const {
  // Spread each kind through the run: the n-th slot of a cycle of total_weight().
  std::uint64_t slot = (n * 2'654'435'761ULL) % total_weight();
  for (const RequestTemplate& request : requests) {
    if (slot < request.weight) return request;
    slot -= request.weight;
  }
  return requests.back();
}

std::optional<Scenario> load_scenario(const std::string& path, std::string& problem) {
  std::ifstream file(path);
  if (!file) {
    problem = path + ": cannot be opened";
    return std::nullopt;
  }
  std::stringstream text;
  text << file.rdbuf();
  rapidjson::Document document;
  const bool unreadable =
      spotgrid::util::parse_json(document, text.str(), limits::kMaxJsonBytes).has_value();
  const auto fail = [&](const std::string& field, const std::string& why) {
    problem = path + ": " + field + ": " + why;
    return std::nullopt;
  };
  if (unreadable || !document.IsObject()) return fail("(file)", "not a JSON object");
  const rapidjson::Value& root = document;
  Scenario scenario;
  if (!root.HasMember("name") || !root["name"].IsString()) return fail("name", "must be a string");
  scenario.name = root["name"].GetString();
  if (root.HasMember("buyers")) {
    if (!root["buyers"].IsUint() || root["buyers"].GetUint() == 0 ||
        root["buyers"].GetUint() > 10'000)
      return fail("buyers", "must be an integer in [1, 10000]");
    scenario.buyers = root["buyers"].GetUint();
  }
  if (root.HasMember("deposit_micros")) {
    if (!root["deposit_micros"].IsInt64() || root["deposit_micros"].GetInt64() < 0)
      return fail("deposit_micros", "must be a non-negative integer");
    scenario.deposit_micros = root["deposit_micros"].GetInt64();
  }
  if (!root.HasMember("requests") || !root["requests"].IsArray() || root["requests"].Empty())
    return fail("requests", "must be a non-empty array");
  for (const rapidjson::Value& item : root["requests"].GetArray()) {
    RequestTemplate request;
    if (!item.IsObject() || !item.HasMember("method") || !item["method"].IsString() ||
        !item.HasMember("path") || !item["path"].IsString())
      return fail("requests[]", "each needs a method and a path");
    request.method = item["method"].GetString();
    if (request.method != "GET" && request.method != "POST" && request.method != "DELETE")
      return fail("requests[].method", "must be GET, POST or DELETE");
    request.path = item["path"].GetString();
    if (item.HasMember("weight")) {
      if (!item["weight"].IsUint() || item["weight"].GetUint() == 0 ||
          item["weight"].GetUint() > 1'000)
        return fail("requests[].weight", "must be an integer in [1, 1000]");
      request.weight = item["weight"].GetUint();
    }
    if (item.HasMember("body")) {
      rapidjson::StringBuffer buffer;
      rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
      item["body"].Accept(writer);
      request.body = buffer.GetString();
    }
    scenario.requests.push_back(std::move(request));
  }
  return scenario;
}

}  // namespace spotgrid::loadtest
