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

TEST(Settings, RedisRateLimitTlsAndStreams) {
  const Settings s =
      std::get<Settings>(parse(kMinimal, {{"SPOTGRID_REDIS_PORT", "6380"},
                                          {"SPOTGRID_RATE_LIMIT_PER_SECOND", "50"},
                                          {"SPOTGRID_RATE_LIMIT_BURST", "100"},
                                          {"SPOTGRID_TLS_CERTIFICATE_FILE", "/c.pem"},
                                          {"SPOTGRID_TLS_PRIVATE_KEY_FILE", "/k.pem"},
                                          {"SPOTGRID_STREAM_SEND_BUFFER_BYTES", "65536"}}));
  EXPECT_EQ(s.redis_port, 6380);
  EXPECT_EQ(s.rate_per_second, 50u);
  EXPECT_EQ(s.rate_burst, 100u);
  EXPECT_EQ(s.tls_certificate_file, "/c.pem");
  EXPECT_EQ(s.tls_private_key_file, "/k.pem");
  EXPECT_EQ(s.stream_send_buffer, 65'536u);
  // A certificate without its key (or the reverse) is refused, naming the pair.
  EXPECT_EQ(error_of(parse(kMinimal, {{"SPOTGRID_TLS_CERTIFICATE_FILE", "/c.pem"}})).setting,
            "tls.private_key_file");
  EXPECT_EQ(error_of(parse(kMinimal, {{"SPOTGRID_STREAM_SEND_BUFFER_BYTES", "10"}})).setting,
            "stream.send_buffer_bytes");
  EXPECT_EQ(error_of(parse(kMinimal, {{"SPOTGRID_IDEMPOTENCY_TTL_SECONDS", "1"}})).setting,
            "idempotency.ttl_seconds");
}

}  // namespace
}  // namespace spotgrid::gateway
