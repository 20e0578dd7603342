#include "spotgrid/gateway/settings.hpp"

#include <gtest/gtest.h>

#include <map>

namespace spotgrid::gateway {
namespace {

using Env = std::map<std::string, std::string>;

std::variant<Settings, SettingsError> parse(const std::string& json, const Env& env = {}) {
  return parse_settings(json, "spotgridd.json", [&](const char* name) -> const char* {
    const auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

SettingsError error_of(const std::variant<Settings, SettingsError>& result) {
  EXPECT_TRUE(std::holds_alternative<SettingsError>(result));
  return std::holds_alternative<SettingsError>(result) ? std::get<SettingsError>(result)
                                                       : SettingsError{};
}

constexpr const char* kMinimal = R"({"postgres": {"conninfo": "host=127.0.0.1"}})";

TEST(Settings, DefaultsFillWhatTheFileLeavesOut) {
  const auto result = parse(kMinimal);
  ASSERT_TRUE(std::holds_alternative<Settings>(result));
  const Settings& settings = std::get<Settings>(result);
  EXPECT_EQ(settings.listen_address, "127.0.0.1");
  EXPECT_EQ(settings.listen_port, 8080);
  EXPECT_EQ(settings.postgres_conninfo, "host=127.0.0.1");
  EXPECT_EQ(settings.platform_fee_bp, 500);
}

TEST(Settings, ReadsEverySection) {
  const auto result = parse(R"({"listen": {"port": 9000, "threads": 4},
    "limits": {"body_bytes": 2048, "request_timeout_ms": 250},
    "postgres": {"conninfo": "x"}, "market": {"config_dir": "/etc/spotgrid"}})");
  ASSERT_TRUE(std::holds_alternative<Settings>(result));
  const Settings& settings = std::get<Settings>(result);
  EXPECT_EQ(settings.listen_port, 9000);
  EXPECT_EQ(settings.listen_threads, 4u);
  EXPECT_EQ(settings.body_limit, 2048u);
  EXPECT_EQ(settings.request_timeout, std::chrono::milliseconds(250));
  EXPECT_EQ(settings.market_config_dir, "/etc/spotgrid");
}

TEST(Settings, TheEnvironmentOverridesTheFile) {
  const auto result =
      parse(R"({"listen": {"port": 9000}})",
            {{"SPOTGRID_LISTEN_PORT", "9100"}, {"SPOTGRID_POSTGRES_CONNINFO", "host=db"}});
  ASSERT_TRUE(std::holds_alternative<Settings>(result));
  EXPECT_EQ(std::get<Settings>(result).listen_port, 9100);
  EXPECT_EQ(std::get<Settings>(result).postgres_conninfo, "host=db");
}

TEST(Settings, RefusalsNameTheSetting) {
  EXPECT_EQ(error_of(parse(R"({"listen": {"prot": 1}})")).setting, "listen.prot");
  EXPECT_EQ(error_of(parse(R"({"listen": {"prot": 1}})")).problem, "unknown setting");
  EXPECT_EQ(error_of(parse(R"({"listen": {"port": 70000}})")).message(),
            "spotgridd.json: listen.port: must be an integer in [0, 65535]");
  EXPECT_EQ(error_of(parse(R"({"listen": {"port": "80"}})")).setting, "listen.port");
  EXPECT_EQ(error_of(parse(R"({"listen": {"address": ""}})")).setting, "listen.address");
  EXPECT_EQ(error_of(parse(R"({"listen": 5})")).setting, "listen");
  EXPECT_EQ(error_of(parse(R"({"market": {"platform_fee_bp": -1}})")).setting,
            "market.platform_fee_bp");
  EXPECT_EQ(error_of(parse("{}")).setting, "postgres.conninfo");
  EXPECT_NE(error_of(parse("{nope")).problem.find("not valid JSON"), std::string::npos);
  const SettingsError env = error_of(parse(kMinimal, {{"SPOTGRID_LIMITS_BODY_BYTES", "12x"}}));
  EXPECT_EQ(env.source, "environment SPOTGRID_LIMITS_BODY_BYTES");
  EXPECT_EQ(env.setting, "limits.body_bytes");
}

}  // namespace
}  // namespace spotgrid::gateway
