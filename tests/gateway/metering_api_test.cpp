// Metering over HTTP against a real PostgreSQL: node registration hands out
// the agent key and takes a probe report; batches are checked, stored once and
// counted; simulated agents are billed by the second, and when one dies its
// buyer fails over to another node.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <pqxx/pqxx>
#include <thread>

#include "metering_harness.hpp"
#include "spotgrid/metering/agent.hpp"
#include "spotgrid/metering/uplink.hpp"

namespace spotgrid::gateway {
namespace {

std::string temporary_directory() {
  std::string pattern = (std::filesystem::temp_directory_path() / "spotgrid-agent-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return pattern;
}

// A simulated agent on its own thread: samples, spools and sends once a second.
class RunningAgent {
 public:
  // The WebSocket with its HTTP fallback (as spotgrid-agent runs), or HTTP alone.
  RunningAgent(NodeId node, const std::string& key, std::uint32_t cards, std::uint16_t port,
               bool websocket, const std::string& tls_ca_file = "")
      : directory_(temporary_directory()),
        spool_(directory_, 64 << 20),
        agent_(node, key, std::make_unique<metering::SimulatedSource>(node, cards), spool_),
        uplink_(websocket ? metering::agent_uplink({"127.0.0.1", port, 2'000ms, node, key,
                                                    !tls_ca_file.empty(), tls_ca_file})
                          : metering::http_uplink({"127.0.0.1", port, 2'000ms, node, key,
                                                   !tls_ca_file.empty(), tls_ca_file})) {}
  ~RunningAgent() {
    stop();
    std::filesystem::remove_all(directory_);
  }

  void start() {
    stop_ = false;
    thread_ = std::thread([this] {
      while (!stop_) {
        const UnixSeconds now = now_seconds();
        agent_.sample_once(now);
        agent_.flush(*uplink_, 64);
        last_sample_ = now;
        std::this_thread::sleep_for(1s);
      }
    });
  }
  // Like a killed agent: no more samples, nothing said to the server.
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  UnixSeconds last_sample() const { return last_sample_; }
  const metering::Agent& agent() const { return agent_; }

 private:
  std::string directory_;
  metering::Spool spool_;
  metering::Agent agent_;
  std::unique_ptr<metering::Uplink> uplink_;
  std::atomic<bool> stop_{false};
  std::atomic<UnixSeconds> last_sample_{0};
  std::thread thread_;
};

TEST_F(MeteringApi, registration_answers_the_agent_key_and_takes_a_probe_report) {
  const auto supplier = account("supplier").second;
  const Reply node = call(http::verb::post, "/v1/nodes", supplier,
                          R"({"pool": "H100-SXM-80G", "region": "eu-west", "cards": 8,
          "probe": {"device": {"name": "H100"}, "gemm": {"size": 8192, "bf16_tflops": 900.0,
                    "fp16_tflops": 910.0}, "memory_bandwidth_gbps": 3000,
                    "burn_in": {"seconds": 10.0, "passes": 5, "checked": 100, "wrong": 0, "ok": true}}})");
  ASSERT_EQ(node.status, 201u) << node.body;
  // The catalog's 3.17 CU scaled by 900 of the datasheet's 989 TFLOP/s.
  EXPECT_EQ(node.json["measured_cu_milli"].GetInt64(), 3'170LL * 900'000 / 989'000);
  EXPECT_STREQ(node.json["measured_cu_source"].GetString(), "probe");
  // A supplier's own word on CU or reliability is refused: buyers filter on them.
  for (const char* claim : {R"("measured_cu_milli": 9000)", R"("reliability_bp": 10000)"}) {
    const Reply claimed = call(
        http::verb::post, "/v1/nodes", supplier,
        std::string(R"({"pool": "H100-SXM-80G", "region": "eu-west", "cards": 8, )") + claim + "}");
    EXPECT_EQ(claimed.status, 400u) << claimed.body;
  }
  EXPECT_EQ(std::string(node.json["agent_key"].GetString()),
            metering::node_key(kSecret, node.json["node_id"].GetUint64()));

  const Reply failed = call(http::verb::post, "/v1/nodes", supplier,
                            R"({"pool": "H100-SXM-80G", "region": "eu-west", "cards": 8,
                                "probe": {"gemm": {"bf16_tflops": 900.0}, "burn_in": {"ok": false}}})");
  EXPECT_EQ(failed.status, 400u);
  EXPECT_EQ(std::string(failed.json["error"]["field"].GetString()), "probe") << failed.body;
  // Asked for again: the node's supplier and an operator get it, nobody else.
  const std::string path =
      "/v1/nodes/" + std::to_string(node.json["node_id"].GetUint64()) + "/agent-key";
  const Reply again = call(http::verb::get, path, supplier);
  ASSERT_EQ(again.status, 200u) << again.body;
  EXPECT_EQ(std::string(again.json["agent_key"].GetString()),
            std::string(node.json["agent_key"].GetString()));
  EXPECT_EQ(call(http::verb::get, path, operator_key_.token()).status, 200u);
  EXPECT_EQ(call(http::verb::get, path, account("supplier").second).status, 404u);
  EXPECT_EQ(call(http::verb::get, path, buyer().second).status, 403u);
  EXPECT_EQ(call(http::verb::get, "/v1/nodes/987654/agent-key", supplier).status, 404u);

  const Reply no_gemm = call(http::verb::post, "/v1/nodes", supplier,
                             R"({"pool": "H100-SXM-80G", "region": "eu-west", "cards": 8,
                                 "probe": {"burn_in": {"ok": true}}})");
  EXPECT_EQ(no_gemm.status, 400u) << no_gemm.body;
}

TEST_F(MeteringApi, batches_are_checked_stored_once_and_bad_ones_counted) {
  const auto supplier = account("supplier").second;
  const Node node = register_node(supplier, 2);
  const UnixSeconds now = now_seconds();
  const std::vector<metering::Sample> first = {sample(node.id, 1, 0, now - 1),
                                               sample(node.id, 2, 1, now - 1)};
  const Reply stored = post_samples(first, node.agent_key);
  ASSERT_EQ(stored.status, 200u) << stored.body;
  EXPECT_EQ(stored.json["samples_stored"].GetUint(), 2u);
  EXPECT_EQ(stored.json["acknowledged_seq"].GetUint64(), 2u);
  EXPECT_FALSE(stored.json["duplicate"].GetBool());
  // Each card's latest reading, under dcgm-exporter's names.
  const Reply metrics = call(http::verb::get, "/metrics", "");
  const std::string card =
      "DCGM_FI_DEV_GPU_UTIL{node=\"" + std::to_string(node.id) + "\",gpu=\"1\"";
  EXPECT_NE(metrics.body.find(card), std::string::npos) << metrics.body.substr(0, 2000);
  EXPECT_NE(metrics.body.find("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{node=\"" +
                              std::to_string(node.id) + "\",gpu=\"0\""),
            std::string::npos);

  const Reply again = post_samples(first, node.agent_key);
  ASSERT_EQ(again.status, 200u) << again.body;
  EXPECT_TRUE(again.json["duplicate"].GetBool());
  EXPECT_EQ(again.json["samples_stored"].GetUint(), 0u);
  EXPECT_EQ(stored_samples(node.id), 2);

  const auto refused = [&](const Reply& reply, unsigned status, const std::string& code) {
    EXPECT_EQ(reply.status, status) << reply.body;
    if (reply.json.IsObject() && reply.json.HasMember("error")) {
      EXPECT_EQ(std::string(reply.json["error"]["code"].GetString()), code) << reply.body;
    }
  };
  const std::vector<metering::Sample> next = {sample(node.id, 3, 0, now)};
  refused(post_samples(next, "not-the-node-key-at-all"), 401, "bad_signature");
  refused(post_batch(node.id, metering::batch_json(next), ""), 401, "bad_signature");
  refused(post_samples({sample(999'999, 1, 0, now)}, metering::node_key(kSecret, 999'999)), 404,
          "unknown_node");
  refused(post_samples({sample(node.id, 3, 2, now)}, node.agent_key), 403, "foreign_card");
  metering::Sample swapped = sample(node.id, 3, 0, now);
  swapped.card_uuid = "GPU-someone-elses";
  refused(post_samples({swapped}, node.agent_key), 403, "foreign_card");
  metering::Sample hot = sample(node.id, 3, 0, now);
  hot.utilization_pct = 101;
  const Reply out_of_range = post_samples({hot}, node.agent_key);
  refused(out_of_range, 400, "invalid_batch");
  EXPECT_EQ(std::string(out_of_range.json["error"]["field"].GetString()),
            "samples[0].utilization_pct");
  refused(post_samples({sample(node.id, 3, 0, now + 3'600)}, node.agent_key), 400, "invalid_batch");
  refused(post_batch(node.id, R"({"samples": []})",
                     metering::sign(node.agent_key, R"({"samples": []})")),
          400, "invalid_batch");
  const std::string cut = "{\"samples\": [";
  refused(post_batch(node.id, cut, metering::sign(node.agent_key, cut)), 400, "invalid_batch");
  // Signed by one node, naming another's samples: refused.
  const std::string foreign = metering::batch_json({sample(999'999, 1, 0, now)});
  refused(post_batch(node.id, foreign, metering::sign(node.agent_key, foreign)), 400,
          "invalid_batch");
  EXPECT_EQ(stored_samples(node.id), 2) << "nothing refused was stored";

  EXPECT_EQ(metric_line("spotgrid_metering_rejected_bad_signature_total"),
            "spotgrid_metering_rejected_bad_signature_total 1")
      << "the request without a signature is refused before it reaches the ingest";
  EXPECT_EQ(metric_line("spotgrid_metering_rejected_unknown_node_total"),
            "spotgrid_metering_rejected_unknown_node_total 1");
  EXPECT_EQ(metric_line("spotgrid_metering_rejected_foreign_card_total"),
            "spotgrid_metering_rejected_foreign_card_total 2");
  EXPECT_EQ(metric_line("spotgrid_metering_rejected_invalid_total"),
            "spotgrid_metering_rejected_invalid_total 5");
  EXPECT_EQ(metric_line("spotgrid_metering_batches_duplicate_total"),
            "spotgrid_metering_batches_duplicate_total 1");

  // The same over the agents' WebSocket: stored, re-sent, refused.
  const auto websocket = metering::websocket_uplink(
      {"127.0.0.1", service_.port(), 2'000ms, node.id, node.agent_key, false, ""});
  const auto line = [&](const std::vector<metering::Sample>& samples, const std::string& key) {
    const std::string body = metering::batch_json(samples);
    return metering::SpooledBatch{samples.front().seq, samples.back().seq,
                                  metering::sign(key, body) + " " + body};
  };
  const auto over_stream = websocket->send(line({sample(node.id, 3, 0, now)}, node.agent_key));
  EXPECT_EQ(over_stream.kind, metering::UplinkAnswer::Kind::kStored) << over_stream.problem;
  EXPECT_EQ(over_stream.acknowledged_seq, 3u);
  EXPECT_EQ(websocket->send(line({sample(node.id, 3, 0, now)}, node.agent_key)).kind,
            metering::UplinkAnswer::Kind::kStored)
      << "a re-send is acknowledged";
  const auto forged = websocket->send(line({sample(node.id, 4, 0, now)}, "not-the-key-at-all"));
  EXPECT_EQ(forged.kind, metering::UplinkAnswer::Kind::kRefused);
  EXPECT_NE(forged.problem.find("bad_signature"), std::string::npos) << forged.problem;
  EXPECT_EQ(stored_samples(node.id), 3);

  // A re-send overlapping what was stored keeps only the new samples.
  const Reply overlap =
      post_samples({sample(node.id, 3, 0, now), sample(node.id, 4, 1, now)}, node.agent_key);
  ASSERT_EQ(overlap.status, 200u) << overlap.body;
  EXPECT_EQ(overlap.json["samples_stored"].GetUint(), 1u) << overlap.body;
  EXPECT_EQ(stored_samples(node.id), 4);

  // A refused batch binds nothing: its new card stays free for its real UUID.
  const Node other = register_node(supplier, 2);
  ASSERT_EQ(post_samples({sample(other.id, 1, 0, now)}, other.agent_key).status, 200u);
  metering::Sample swapped_first = sample(other.id, 3, 0, now);
  swapped_first.card_uuid = "GPU-not-this-one";
  metering::Sample would_bind = sample(other.id, 2, 1, now);
  would_bind.card_uuid = "GPU-also-not";
  EXPECT_EQ(post_samples({would_bind, swapped_first}, other.agent_key).status, 403u);
  const Reply real = post_samples({sample(other.id, 2, 1, now)}, other.agent_key);
  EXPECT_EQ(real.status, 200u) << real.body;
  EXPECT_EQ(stored_samples(other.id), 2);
}

TEST_F(MeteringApi, simulated_agents_are_billed_by_the_second_and_a_dead_one_fails_over) {
  const auto [buyer_id, buyer_key] = buyer();
  fund(buyer_id, 100'000'000);
  const auto first_supplier = account("supplier").second;
  const auto second_supplier = account("supplier").second;
  const Node cheap = register_node(first_supplier, 1);
  const Node spare = register_node(second_supplier, 1);
  list(first_supplier, cheap.id, 1, 1'000'000);
  list(second_supplier, spare.id, 1, 1'100'000);
  RunningAgent cheap_agent(cheap.id, cheap.agent_key, 1, service_.port(), true);
  RunningAgent spare_agent(spare.id, spare.agent_key, 1, service_.port(), false);
  cheap_agent.start();
  spare_agent.start();

  const Reply order = call(http::verb::post, "/v1/orders", buyer_key,
                           R"({"pool": "H100-SXM-80G", "cards": 1, "duration_seconds": 3600,
                               "limit_micros_per_hour": 2000000, "strategy": "time_first"})");
  ASSERT_EQ(order.status, 201u) << order.body;

  // Billed while the agent reports: charged grows, never past price x seconds x peak.
  long long charged = 0;
  UnixSeconds started = 0;
  for (int i = 0; i < 100 && charged == 0; ++i) {
    std::this_thread::sleep_for(100ms);
    const auto list = leases(buyer_key);
    if (list["leases"].Empty()) continue;
    EXPECT_EQ(list["leases"][0]["node_id"].GetUint64(), cheap.id);
    charged = list["leases"][0]["charged_micros"].GetInt64();
    started = list["leases"][0]["started_at"].GetInt64();
  }
  ASSERT_GT(charged, 0) << "no settlement reached the ledger in 10 s: "
                        << call(http::verb::get, "/v1/leases", buyer_key).body;
  EXPECT_LE(charged, 1'000'000 * (now_seconds() - started) * 2 / 3'600);
  EXPECT_GT(cheap_agent.agent().stats().batches_sent, 0u);
  // The answer that names the lease reaches the agent's thread about when its
  // settlement reaches the ledger: give it a moment on a busy machine.
  const std::uint64_t lease_id = leases(buyer_key)["leases"][0]["lease_id"].GetUint64();
  for (int i = 0; i < 50 && cheap_agent.agent().lease_of(0) != lease_id; ++i)
    std::this_thread::sleep_for(100ms);
  EXPECT_EQ(cheap_agent.agent().lease_of(0), lease_id)
      << "the server's answers told the agent which lease holds its card";

  // The agent dies. The lease is interrupted and the buyer's remainder finds the spare node.
  cheap_agent.stop();
  const UnixSeconds last_sample = cheap_agent.last_sample();
  UnixSeconds replaced_at = 0;
  for (int i = 0; i < 400 && replaced_at == 0; ++i) {
    std::this_thread::sleep_for(100ms);
    const auto list = leases(buyer_key);
    if (list["leases"].Size() >= 2 && list["leases"][0]["node_id"].GetUint64() == spare.id)
      replaced_at = list["leases"][0]["started_at"].GetInt64();
  }
  ASSERT_NE(replaced_at, 0) << "no replacement lease within 40 s";
  const Seconds failover = replaced_at - last_sample;
  std::printf("{\"failover_seconds\": %lld}\n", static_cast<long long>(failover));
  RecordProperty("failover_seconds", static_cast<int>(failover));
  EXPECT_LT(failover, 30);
  EXPECT_GE(failover, 10) << "not before the heartbeat timeout";

  const auto list = leases(buyer_key);
  const auto& interrupted = list["leases"][1];
  EXPECT_EQ(std::string(interrupted["end_reason"].GetString()), "interrupted");
  EXPECT_LE(interrupted["billable_end"].GetInt64(), last_sample + 1);
  const long long final_charge = interrupted["charged_micros"].GetInt64();

  // The agent comes back: its samples are kept, and the ended lease bills nothing more.
  const long long rows_before = stored_samples(cheap.id);
  cheap_agent.start();
  std::this_thread::sleep_for(2500ms);
  cheap_agent.stop();
  EXPECT_GT(stored_samples(cheap.id), rows_before);
  EXPECT_EQ(leases(buyer_key)["leases"][1]["charged_micros"].GetInt64(), final_charge);
  EXPECT_NE(metric_line("spotgrid_metering_interruptions_total"),
            "spotgrid_metering_interruptions_total 0");
  spare_agent.stop();
}

// The second line of defence in the ingest: a batch whose content PostgreSQL
// refuses (here a CHECK the test adds, standing for any gap in the checks) is
// refused alone, for good (400), while the batches that shared its group
// commit are stored.
TEST_F(MeteringApi, a_batch_storage_refuses_is_refused_alone) {
  {
    pqxx::connection connection(db_.conninfo());
    pqxx::work txn(connection);
    txn.exec("ALTER TABLE usage_samples ADD CONSTRAINT test_refuses_777 CHECK (power_mw <> 777)");
    txn.commit();
  }
  const auto supplier = account("supplier").second;
  const Node honest = register_node(supplier, 1);
  const Node poisoned = register_node(supplier, 1);
  const UnixSeconds now = now_seconds() - 30;
  constexpr int kBatches = 40;
  std::atomic<int> honest_stored{0};
  std::thread sender([&] {
    for (int seq = 1; seq <= kBatches; ++seq) {
      if (post_samples({sample(honest.id, static_cast<std::uint64_t>(seq), 0, now)},
                       honest.agent_key)
              .status == 200)
        ++honest_stored;
    }
  });
  Reply refused;
  for (int seq = 1; seq <= kBatches / 4; ++seq) {
    metering::Sample bad = sample(poisoned.id, static_cast<std::uint64_t>(seq), 0, now);
    bad.power_mw = 777;
    refused = post_samples({bad}, poisoned.agent_key);
    EXPECT_EQ(refused.status, 400u) << refused.body;
  }
  sender.join();
  EXPECT_STREQ(refused.json["error"]["code"].GetString(), "invalid_batch");
  EXPECT_EQ(honest_stored.load(), kBatches);
  EXPECT_EQ(stored_samples(honest.id), kBatches);
  EXPECT_EQ(stored_samples(poisoned.id), 0);
}

// One node may send only its share (KiB per second, checked after its
// signature, so nobody can spend another node's share): beyond it 429
// overloaded, which the agent keeps and retries; other nodes are unaffected.
class MeteringShare : public MeteringApi {
 protected:
  MeteringShare()
      : MeteringApi([](Settings& s) {
          s.metering_node_kib_per_second = 1;
          s.metering_node_kib_burst = 4;
        }) {}
};

TEST_F(MeteringShare, ANodeBeyondItsShareGets429AndOthersGoOn) {
  const auto supplier = account("supplier").second;
  const Node busy = register_node(supplier, 4);
  const Node quiet = register_node(supplier, 4);
  const UnixSeconds now = now_seconds() - 30;
  Reply last;
  int stored = 0;
  for (std::uint64_t seq = 1; seq <= 10; ++seq) {
    last = post_samples({sample(busy.id, seq, 0, now)}, busy.agent_key);
    if (last.status != 200) break;
    ++stored;
  }
  EXPECT_GE(stored, 2);
  EXPECT_LT(stored, 10);
  EXPECT_EQ(last.status, 429u) << last.body;
  EXPECT_STREQ(last.json["error"]["code"].GetString(), "overloaded");
  EXPECT_EQ(last.raw.header("Retry-After"), "1");
  // A forged batch naming the quiet node spends nothing of its share.
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(post_samples({sample(quiet.id, 1, 0, now)}, "forged-key-000000").status, 401u);
  EXPECT_EQ(post_samples({sample(quiet.id, 1, 0, now)}, quiet.agent_key).status, 200u);
}

// Certificates made before the service starts (bases are built in order): the
// server's, for 127.0.0.1, and an unrelated one an agent must not trust.
struct Certificates {
  Certificates() {
    std::string pattern = "/tmp/spotgrid-agent-tls.XXXXXX";
    dir = mkdtemp(pattern.data());
    for (const char* name : {"server", "stranger"}) {
      const std::string command =
          "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -addext "
          "subjectAltName=IP:127.0.0.1 -keyout " +
          dir + "/" + name + "-key.pem -out " + dir + "/" + name + ".pem >/dev/null 2>&1";
      EXPECT_EQ(std::system(command.c_str()), 0) << command;
    }
  }
  ~Certificates() { std::filesystem::remove_all(dir); }
  std::string dir;
};

// The agent over TLS to a spotgridd with tls.*: the certificate verified, so
// an agent that trusts another CA sends nothing.
class MeteringOverTls : public Certificates, public MeteringApi {
 protected:
  MeteringOverTls()
      : MeteringApi([this](Settings& s) {
          s.tls_certificate_file = dir + "/server.pem";
          s.tls_private_key_file = dir + "/server-key.pem";
        }) {
    tls_ = true;
  }
};

TEST_F(MeteringOverTls, TheAgentSendsOverVerifiedTlsOnly) {
  const auto supplier = account("supplier").second;
  const Node trusted = register_node(supplier, 1);
  const Node misled = register_node(supplier, 1);
  RunningAgent good(trusted.id, trusted.agent_key, 1, service_.port(), true, dir + "/server.pem");
  RunningAgent fooled(misled.id, misled.agent_key, 1, service_.port(), true, dir + "/stranger.pem");
  good.start();
  fooled.start();
  for (int i = 0; i < 100 && stored_samples(trusted.id) == 0; ++i)
    std::this_thread::sleep_for(100ms);
  good.stop();
  fooled.stop();
  EXPECT_GT(stored_samples(trusted.id), 0) << "nothing arrived over TLS";
  EXPECT_GT(good.agent().stats().batches_sent, 0u);
  EXPECT_EQ(stored_samples(misled.id), 0) << "an agent trusting another CA reached the server";
}

}  // namespace
}  // namespace spotgrid::gateway
