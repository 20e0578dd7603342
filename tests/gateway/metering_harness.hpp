#pragma once
// A Service that meters (a metering secret, settlements every second), and
// what tests of metering and billing do with it: nodes with agent keys,
// listings, signed batches, stored samples, /metrics lines.
#include "service_harness.hpp"
#include "spotgrid/metering/sample.hpp"

namespace spotgrid::gateway {

inline constexpr const char* kSecret = "metering-test-secret-0123456789";

inline UnixSeconds now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class MeteringApi : public ServiceHarness {
 protected:
  // `adjust` changes the settings further.
  explicit MeteringApi(const std::function<void(Settings&)>& adjust = {})
      : ServiceHarness([&adjust](Settings& s) {
          s.metering_secret = kSecret;
          s.settle_every_seconds = 1;
          if (adjust) adjust(s);
        }) {}

  struct Node {
    NodeId id = 0;
    std::string agent_key;
  };

  Node register_node(const std::string& supplier_key, int cards, const std::string& extra = "") {
    const Reply node = call(http::verb::post, "/v1/nodes", supplier_key,
                            R"({"pool": "H100-SXM-80G", "region": "eu-west", "cards": )" +
                                std::to_string(cards) + extra + "}");
    EXPECT_EQ(node.status, 201u) << node.body;
    if (node.status != 201) return {};
    return {node.json["node_id"].GetUint64(), node.json["agent_key"].GetString()};
  }

  void list(const std::string& supplier_key, NodeId node, int cards, long long price) {
    const UnixSeconds now = now_seconds();
    const Reply listing =
        call(http::verb::post, "/v1/listings", supplier_key,
             R"({"node_id": )" + std::to_string(node) + R"(, "cards": )" + std::to_string(cards) +
                 R"(, "reserve_micros_per_card_hour": )" + std::to_string(price) +
                 R"(, "available_from": )" + std::to_string(now - 60) + R"(, "available_until": )" +
                 std::to_string(now + 7'200) + "}");
    ASSERT_EQ(listing.status, 201u) << listing.body;
  }

  // POSTs a batch as an agent would; retries while metering is still starting.
  Reply post_batch(NodeId node, const std::string& body, const std::string& signature) {
    Reply reply;
    for (int attempt = 0; attempt < 100; ++attempt) {
      reply =
          call(http::verb::post, "/v1/metering/batches", "", body,
               {{"X-Spotgrid-Signature", signature}, {"X-Spotgrid-Node", std::to_string(node)}});
      if (reply.status != 503) break;
      std::this_thread::sleep_for(50ms);
    }
    return reply;
  }
  Reply post_samples(const std::vector<metering::Sample>& samples, const std::string& key) {
    const std::string body = metering::batch_json(samples);
    return post_batch(samples.front().node, body, metering::sign(key, body));
  }

  long long stored_samples(NodeId node) {
    pqxx::connection connection(db_.conninfo());
    pqxx::read_transaction txn(connection);
    return txn
        .exec_params1("SELECT count(*) FROM usage_samples WHERE node = $1",
                      static_cast<long long>(node))[0]
        .as<long long>();
  }

  std::string metric_line(const std::string& name) {
    const Reply metrics = call(http::verb::get, "/metrics", "");
    const std::size_t at = metrics.body.find("\n" + name + " ");
    if (at == std::string::npos) return "";
    return metrics.body.substr(at + 1, metrics.body.find('\n', at + 1) - at - 1);
  }

  // The buyer's leases, newest first.
  rapidjson::Document leases(const std::string& buyer_key) {
    const Reply reply = call(http::verb::get, "/v1/leases", buyer_key);
    EXPECT_EQ(reply.status, 200u) << reply.body;
    rapidjson::Document document;
    document.Parse(reply.body.c_str());
    return document;
  }
};

inline metering::Sample sample(NodeId node, std::uint64_t seq, std::uint32_t card,
                               UnixSeconds second) {
  metering::Sample s;
  s.node = node;
  s.seq = seq;
  s.second = second;
  s.card_index = card;
  s.card_uuid = "GPU-test-" + std::to_string(node) + "-" + std::to_string(card);
  s.healthy = true;
  s.utilization_pct = 50;
  s.power_mw = 300'000;
  s.energy_mj = 300'000;
  return s;
}

}  // namespace spotgrid::gateway
