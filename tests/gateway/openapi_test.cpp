// The OpenAPI document is the contract: it lists exactly the routes spotgridd
// serves, every operation is named and answers, every path parameter is
// declared, and each route reads exactly the query parameters it declares.
#include <rapidjson/document.h>

#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

#include "api.hpp"
#include "front_door.hpp"
#include "spotgrid/gateway/service.hpp"

namespace spotgrid::gateway {
namespace {

rapidjson::Document load() {
  std::ifstream file(SPOTGRID_SOURCE_DIR "/openapi/spotgrid.json");
  std::stringstream text;
  text << file.rdbuf();
  rapidjson::Document document;
  document.Parse(text.str().c_str());
  return document;
}

std::string upper(std::string text) {
  for (char& c : text)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

std::string lower(std::string text) {
  for (char& c : text)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

TEST(OpenApi, ListsExactlyTheRoutesTheServerServes) {
  const rapidjson::Document document = load();
  ASSERT_FALSE(document.HasParseError());
  std::set<std::pair<std::string, std::string>> documented;
  for (const auto& path : document["paths"].GetObject()) {
    for (const auto& operation : path.value.GetObject())
      documented.emplace(upper(operation.name.GetString()), path.name.GetString());
  }
  const auto routes = served_routes();
  const std::set<std::pair<std::string, std::string>> served(routes.begin(), routes.end());
  for (const auto& [method, path] : served)
    EXPECT_TRUE(documented.contains({method, path})) << "undocumented: " << method << ' ' << path;
  for (const auto& [method, path] : documented)
    EXPECT_TRUE(served.contains({method, path})) << "not served: " << method << ' ' << path;
}

TEST(OpenApi, EveryOperationIsNamedAnswersAndDeclaresItsParameters) {
  const rapidjson::Document document = load();
  ASSERT_FALSE(document.HasParseError());
  EXPECT_STREQ(document["openapi"].GetString(), "3.1.0");
  const auto& parameters = document["components"]["parameters"];
  std::set<std::string> operation_ids;
  for (const auto& path : document["paths"].GetObject()) {
    const std::string name = path.name.GetString();
    for (const auto& operation : path.value.GetObject()) {
      const auto& op = operation.value;
      ASSERT_TRUE(op.HasMember("operationId")) << name;
      EXPECT_TRUE(operation_ids.insert(op["operationId"].GetString()).second) << name;
      EXPECT_TRUE(op.HasMember("responses") && op["responses"].MemberCount() > 0) << name;
      // Each "{x}" in the path is a declared path parameter of the operation.
      for (std::size_t at = name.find('{'); at != std::string::npos; at = name.find('{', at + 1)) {
        const std::string wanted = name.substr(at + 1, name.find('}', at) - at - 1);
        bool declared = false;
        for (const auto& ref : op["parameters"].GetArray()) {
          const std::string target = ref["$ref"].GetString();
          const std::string component = target.substr(target.rfind('/') + 1);
          declared = declared || (parameters.HasMember(component.c_str()) &&
                                  wanted == parameters[component.c_str()]["name"].GetString());
        }
        EXPECT_TRUE(declared) << name << " does not declare " << wanted;
      }
    }
  }
}

// The query parameters an operation documents.
std::set<std::string> documented_query(const rapidjson::Document& document,
                                       const std::string& method, const std::string& path) {
  const auto& components = document["components"]["parameters"];
  const auto& operation = document["paths"][path.c_str()][lower(method).c_str()];
  std::set<std::string> names;
  if (!operation.HasMember("parameters")) return names;
  for (const auto& given : operation["parameters"].GetArray()) {
    const std::string target = given.HasMember("$ref") ? given["$ref"].GetString() : "";
    const auto& parameter =
        target.empty() ? given : components[target.substr(target.rfind('/') + 1).c_str()];
    if (std::string_view(parameter["in"].GetString()) == "query")
      names.insert(parameter["name"].GetString());
  }
  return names;
}

// The front door refuses a query parameter a route does not read (the table's
// v1_route_query; the stream's ticket; none elsewhere), so what it reads must be
// what the document says.
TEST(OpenApi, EveryRouteTakesExactlyTheQueryParametersItDocuments) {
  const rapidjson::Document document = load();
  ASSERT_FALSE(document.HasParseError());
  const auto table = v1_routes();
  for (std::size_t i = 0; i < table.size(); ++i) {
    const auto& [method, path] = table[i];
    std::set<std::string> read;
    std::istringstream names{std::string(v1_route_query(i))};
    for (std::string name; names >> name;)
      read.insert(name);
    EXPECT_EQ(read, documented_query(document, method, path)) << method << ' ' << path;
  }
  const std::set<std::pair<std::string, std::string>> in_table(table.begin(), table.end());
  for (const auto& [method, path] : served_routes()) {
    if (in_table.contains({method, path})) continue;
    const std::set<std::string> read =
        path == "/v1/stream" ? std::set<std::string>{std::string(FrontDoor::kStreamTicket)}
                             : std::set<std::string>{};
    EXPECT_EQ(read, documented_query(document, method, path)) << method << ' ' << path;
  }
}

}  // namespace
}  // namespace spotgrid::gateway
