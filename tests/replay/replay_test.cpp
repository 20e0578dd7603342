// spotgrid-replay: messy traces read or counted, never dropped; the market and
// the baseline on traces small enough to work out by hand; conservation of
// jobs, card-seconds and money after a replay with faults; byte-identical
// reports for the same trace and seed.

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "spotgrid/engine/config.hpp"
#include "spotgrid/engine/limits.hpp"
#include "spotgrid/replay/command_line.hpp"
#include "spotgrid/replay/replay.hpp"

namespace spotgrid::replay {
namespace {

const std::string kConfig = std::string(SPOTGRID_SOURCE_DIR) + "/config";

class Replay : public ::testing::Test {
 protected:
  Replay()
      : catalog_(engine::load_catalog_file(kConfig + "/gpus.json").value()),
        tariffs_(engine::load_tariffs_file(kConfig + "/tariffs.json").value()) {}

  Trace trace(std::string_view jobs, std::string_view nodes, std::string_view map = "",
              TraceOptions options = {}) {
    auto parsed = parse_trace(catalog_, tariffs_, jobs, nodes, map, options);
    if (const auto* error = std::get_if<TraceError>(&parsed)) ADD_FAILURE() << error->message;
    return std::get<Trace>(std::move(parsed));
  }
  std::string json(const Trace& t, const ReplayOptions& options) {
    const auto runs = replay_all(catalog_, tariffs_, t, options);
    Report report{&catalog_, &tariffs_, &t, options, {}, std::nullopt};
    for (const RunResult& run : runs)
      report.runs.push_back(&run);
    return report_json(report);
  }

  engine::Catalog catalog_;
  engine::TariffBook tariffs_;
};

constexpr std::string_view kTwoLabs =
    "node_id,gpu_model,gpus,org,region\n"
    "na,A100-80G,8,lab-a,eu-west\n"
    "nb,A100-80G,8,lab-b,us-east\n";

constexpr std::string_view kNoOrgs =
    "node_id,gpu_model,gpus\n"
    "n1,A100-80G,8\n";

TEST_F(Replay, AMessyTraceIsReadOrCountedNeverDroppedSilently) {
  const std::string jobs =
      "\xEF\xBB\xBFJob_ID, submit_s ,duration_s,gpus,gpu_model,gpu_share,extra,strategy\r\n"
      "\"j,1\",10.0,3600,2,A100-80G,1,\"a \"\"quoted\"\" note\",\r\n"  // quoted id, fractional
                                                                       // seconds
      "j2,20,3600,0,A100-80G,0.5,,\r\n"                                // a fraction of a card
      "j3,30,3600,1,V100-32G,1,,\r\n"                                  // mapped, half the time
      "j4,40,3600,1,TPU-v9,1,,\r\n"                                    // nobody knows this model
      "j5,abc,3600,1,A100-80G,1,,\r\n"                                 // not a time
      "j6,50,0,1,A100-80G,1,,\r\n"                                     // no duration
      "j7,60,3600,1,A100-80G,1,,sometimes\r\n"                         // no such strategy
      "j8,70,5184000,1,,1,,cost_first\r\n"                             // 60 days, any model
      "\r\n";
  const std::string nodes =
      "node_id,gpu_model,gpus,region\n"
      "big,A100-80G,100,mars-north\n"  // more cards than a node may have; unknown region
      "v,V100-32G,4,eu-west\n"         // mapped
      "x,Z80,4,eu-west\n";             // unknown model
  TraceOptions three_orgs;
  three_orgs.orgs = 3;
  const Trace t = trace(jobs, nodes, "V100-32G,A100-80G,0.5\n", three_orgs);

  ASSERT_EQ(t.jobs.size(), 5u);  // j1 j2 j3 j4 j8
  EXPECT_EQ(t.jobs[0].id, "j,1");
  EXPECT_EQ(t.jobs[0].submit, 10);
  EXPECT_EQ(t.jobs[1].cards, 1u);
  EXPECT_TRUE(t.jobs[1].fractional);
  EXPECT_EQ(t.jobs[2].duration, 1'800);  // cu_scale 0.5
  EXPECT_TRUE(t.jobs[3].unknown_model);
  EXPECT_FALSE(t.jobs[4].pool.has_value());
  EXPECT_EQ(t.jobs[4].strategy, engine::Strategy::kCostFirst);

  const TraceCounts& c = t.counts;
  EXPECT_EQ(c.job_rows, 8u);
  EXPECT_EQ(c.job_rows_skipped.at("submit_s is not a time"), 1u);
  EXPECT_EQ(c.job_rows_skipped.at("duration_s is not a positive number of seconds"), 1u);
  EXPECT_EQ(c.job_rows_skipped.at("strategy is neither time_first nor cost_first"), 1u);
  EXPECT_EQ(c.jobs_fractional, 1u);
  EXPECT_EQ(c.jobs_model_mapped, 1u);
  EXPECT_EQ(c.jobs_unknown_model, 1u);
  EXPECT_EQ(c.jobs_any_model, 1u);
  EXPECT_EQ(c.jobs_longer_than_max_lease, 1u);
  EXPECT_EQ(c.first_skipped.at(0), "nodes.csv:4: unknown gpu_model (add it to --model-map)");
  EXPECT_EQ(c.first_skipped.at(1), "jobs.csv:6: submit_s is not a time");
  EXPECT_EQ(c.node_rows_skipped.at("unknown gpu_model (add it to --model-map)"), 1u);
  EXPECT_EQ(c.nodes_split, 1u);
  EXPECT_EQ(t.nodes.size(), 3u);  // 64 + 36 cards, and the mapped V100 node
  EXPECT_EQ(t.nodes[0].cards, 64u);
  EXPECT_EQ(t.nodes[1].cards, 36u);
  EXPECT_EQ(c.nodes_region_assigned, 1u);
  EXPECT_TRUE(c.orgs_assigned);
  EXPECT_EQ(t.orgs.size(), 3u);

  // Every job is run or says why not: the 60-day job runs in two leases of at most 30 days.
  const RunResult market = run_market(catalog_, tariffs_, t, ReplayOptions{});
  EXPECT_EQ(market.jobs[3].reason, "unknown_model");
  for (std::size_t i : {0u, 1u, 2u, 4u}) {
    EXPECT_EQ(market.jobs[i].reason, "") << t.jobs[i].id;
    EXPECT_EQ(market.jobs[i].card_seconds, t.jobs[i].duration * t.jobs[i].cards) << t.jobs[i].id;
  }
  // The 60-day job: two back-to-back leases of 30 days on one card.
  EXPECT_EQ(market.jobs[4].start, t.jobs[4].submit);
  EXPECT_EQ(market.jobs[4].end, t.jobs[4].submit + 60 * 86'400);
  EXPECT_EQ(market.leases, 5u);
}

TEST_F(Replay, AFileThatIsNotATraceIsAnErrorThatSaysWhy) {
  for (const auto& [jobs, nodes, expected] :
       {std::tuple{"", std::string(kNoOrgs), "jobs.csv: empty"},
        std::tuple{"job_id,submit_s,gpus,gpu_model,gpu_share\n", std::string(kNoOrgs),
                   "jobs.csv:1: the header has no column duration_s"},
        std::tuple{"job_id,submit_s,duration_s,gpus,gpu_model,gpu_share\n", std::string(kTwoLabs),
                   "an org column in one of jobs.csv and nodes.csv but not the other"},
        std::tuple{"job_id,submit_s,duration_s,gpus,gpu_model,gpu_share\n",
                   std::string("node,gpu_model,gpus\n"),
                   "nodes.csv:1: the header has no column node_id"}}) {
    const auto parsed = parse_trace(catalog_, tariffs_, jobs, nodes, "", {});
    ASSERT_TRUE(std::holds_alternative<TraceError>(parsed)) << expected;
    EXPECT_NE(std::get<TraceError>(parsed).message.find(expected), std::string::npos)
        << std::get<TraceError>(parsed).message;
  }
  const auto bad_map =
      parse_trace(catalog_, tariffs_, "job_id,submit_s,duration_s,gpus,gpu_model,gpu_share\n",
                  kNoOrgs, "V100,NotInCatalog\n", {});
  EXPECT_TRUE(std::holds_alternative<TraceError>(bad_map));
}

// Lab A submits two 8-card hours at once; lab B's node is idle. Siloed, the
// second job waits an hour for lab A's only node; in the market it starts at
// once on lab B's node, and lab B earns from it.
TEST_F(Replay, IdleCardsOfOneLabServeTheQueueOfAnother) {
  const Trace t = trace(
      "job_id,submit_s,duration_s,gpus,gpu_model,gpu_share,org\n"
      "j1,0,3600,8,A100-80G,1,lab-a\n"
      "j2,0,3600,8,A100-80G,1,lab-a\n",
      kTwoLabs);
  const RunResult baseline = run_baseline(catalog_, t, ReplayOptions{}, false);
  EXPECT_EQ(baseline.jobs[0].start, 0);
  EXPECT_EQ(baseline.jobs[1].start, 3'600);
  const RunResult market = run_market(catalog_, tariffs_, t, ReplayOptions{});
  EXPECT_EQ(market.jobs[0].start, 0);
  EXPECT_EQ(market.jobs[1].start, 0);
  EXPECT_GT(market.supplier_revenue, 0);
  // Hour 0: lab A's node busy in both runs; lab B's only in the market's.
  EXPECT_EQ(baseline.busy_per_org_hour[1].size(), 0u);
  EXPECT_EQ(market.busy_per_org_hour[1].at(0), 8 * 3'600);

  // The price: the reserve (the reference) times each second's tariff in the
  // node's region; the two jobs hold both nodes for the hour.
  const Micros reference =
      catalog_.model(*catalog_.find_pool("A100-80G")).reference_price_micros_per_card_hour;
  const auto hour_of_eight_cards = [&](std::string_view region) {
    const UnixSeconds start = ReplayOptions{}.epoch;
    const std::int64_t weighted =
        tariffs_.weighted_bp_seconds(*tariffs_.find_region(region), start, start + 3'600);
    return static_cast<Micros>(Int128{8} * reference * weighted /
                               (Int128{3'600} * kBasisPointsOne));
  };
  EXPECT_EQ(market.paid, hour_of_eight_cards("eu-west") + hour_of_eight_cards("us-east"));
}

TEST_F(Replay, JobsNoNodeCanServeAreReportedWithTheReason) {
  const Trace t = trace(
      "job_id,submit_s,duration_s,gpus,gpu_model,gpu_share,org\n"
      "h100,0,3600,1,H100-SXM-80G,1,lab-a\n"  // nobody supplies H100
      "huge,0,3600,16,A100-80G,1,lab-a\n"     // more than lab A has, not more than the market
      "tpu,0,3600,1,TPU,1,lab-a\n",
      kTwoLabs);
  EXPECT_EQ(t.counts.jobs_model_not_supplied, 1u);
  const RunResult market = run_market(catalog_, tariffs_, t, ReplayOptions{});
  EXPECT_EQ(market.jobs[0].reason, "no_supply_meets_constraints");
  EXPECT_EQ(market.jobs[1].reason, "");
  EXPECT_EQ(market.jobs[1].start, 0);  // two 8-card slices, one per lab's node
  EXPECT_EQ(market.jobs[2].reason, "unknown_model");
  const RunResult baseline = run_baseline(catalog_, t, ReplayOptions{}, false);
  EXPECT_EQ(baseline.jobs[0].reason, "no_node_of_its_org_can_hold_it");
  EXPECT_EQ(baseline.jobs[1].reason, "no_node_of_its_org_can_hold_it");
  EXPECT_EQ(baseline.jobs[2].reason, "unknown_model");
  const RunResult shared = run_baseline(catalog_, t, ReplayOptions{}, true);
  EXPECT_EQ(shared.jobs[1].start, 0);  // one queue over both labs' nodes
}

// A month of a synthetic cluster with faults: every job ran its full
// card-seconds (over several leases where a node failed) or says why not;
// card-seconds run = card-seconds busy on nodes; money is conserved and
// buyers' payments = suppliers' earnings + fees; the engine's invariants hold.
TEST_F(Replay, AfterAReplayWithFaultsJobsCardSecondsAndMoneyAddUp) {
  SyntheticOptions synthetic;
  synthetic.jobs = 3'000;
  synthetic.nodes = 40;
  synthetic.days = 10;
  synthetic.seed = 11;
  const SyntheticTrace text = synthetic_trace(catalog_, tariffs_, synthetic);
  const Trace t = trace(text.jobs_csv, text.nodes_csv);
  ReplayOptions options;
  options.fault_rate_per_card_hour = 2'000;  // 0.002 per card-hour
  options.cost_first_share = 300'000;
  for (const RunResult& run : replay_all(catalog_, tariffs_, t, options)) {
    SCOPED_TRACE(run.name);
    EXPECT_GT(run.faults, 0u);
    std::int64_t run_by_jobs = 0;
    std::size_t done = 0;
    for (std::size_t i = 0; i < t.jobs.size(); ++i) {
      const JobResult& job = run.jobs[i];
      const std::int64_t needed = t.jobs[i].duration * t.jobs[i].cards;
      EXPECT_TRUE((job.reason.empty() && job.card_seconds == needed) ||
                  (!job.reason.empty() && job.card_seconds < needed))
          << t.jobs[i].id << ": " << job.reason << " " << job.card_seconds << "/" << needed;
      // Siloed, an org may own no node of a job's model; nothing else stops a job here.
      if (!job.reason.empty()) {
        EXPECT_EQ(job.reason, "no_node_of_its_org_can_hold_it");
        EXPECT_EQ(run.name, "baseline");
      }
      run_by_jobs += job.card_seconds;
      done += job.reason.empty() ? 1 : 0;
    }
    if (run.name != "baseline") {
      EXPECT_EQ(done, t.jobs.size());
    }
    std::int64_t busy = 0;
    for (const auto& org : run.busy_per_org_hour) {
      for (const std::int64_t seconds : org)
        busy += seconds;
    }
    EXPECT_EQ(run_by_jobs, busy);
  }
  const RunResult market = run_market(catalog_, tariffs_, t, options);
  EXPECT_GT(market.requeues, 0u);
  EXPECT_EQ(market.rejected_commands, 0u);
  // Money: what the engine holds at the end is what its events say came in;
  // what buyers paid is what the engine credited suppliers and the platform,
  // and what the price rule gives for every leased second.
  EXPECT_EQ(market.deposited, market.balances_at_end);
  EXPECT_EQ(market.paid, market.earned_in_engine);
  EXPECT_EQ(market.paid, market.charges_for_leased_seconds);
  EXPECT_TRUE(market.invariant_failures.empty()) << market.invariant_failures.front();
}

TEST_F(Replay, TheSameTraceAndSeedGiveByteIdenticalReports) {
  SyntheticOptions synthetic;
  synthetic.jobs = 1'500;
  synthetic.nodes = 24;
  synthetic.days = 5;
  const SyntheticTrace text = synthetic_trace(catalog_, tariffs_, synthetic);
  EXPECT_EQ(text.jobs_csv, synthetic_trace(catalog_, tariffs_, synthetic).jobs_csv);
  const Trace t = trace(text.jobs_csv, text.nodes_csv);
  ReplayOptions options;
  options.fault_rate_per_card_hour = 1'000;
  options.cost_first_share = 500'000;
  options.shared_fifo = true;
  const std::string first = json(t, options);
  EXPECT_EQ(first, json(t, options));
  options.seed = 2;
  EXPECT_NE(first, json(t, options));  // the seed draws the faults and the strategies

  rapidjson::Document report;
  report.Parse(first.c_str());
  ASSERT_FALSE(report.HasParseError());
  for (const char* run : {"market", "baseline", "shared_fifo"}) {
    const auto& checks = report["runs"][run]["checks"];
    EXPECT_EQ(checks["jobs_unfinished_without_reason"].GetInt64(), 0) << run;
    EXPECT_EQ(checks["jobs_run_longer_than_needed"].GetInt64(), 0) << run;
    EXPECT_EQ(checks["card_seconds_run_by_jobs"].GetInt64(),
              checks["card_seconds_busy_on_nodes"].GetInt64())
        << run;
  }
  EXPECT_FALSE(report.HasMember("timing"));  // wall-clock figures only when asked for
}

// Weeks without demand cost hourly ticks, not seconds.
TEST_F(Replay, WeeksWithoutDemandAreCrossedInHourlySteps) {
  const Trace t = trace(
      "job_id,submit_s,duration_s,gpus,gpu_model,gpu_share,org\n"
      "early,0,600,1,A100-80G,1,lab-a\n"
      "late,2419200,600,1,A100-80G,1,lab-b\n",  // four weeks later
      kTwoLabs);
  const RunResult market = run_market(catalog_, tariffs_, t, ReplayOptions{});
  EXPECT_EQ(market.jobs[1].start, 2'419'200);
  EXPECT_LT(market.commands, 2'000u);  // ~672 hourly ticks and a few commands
}

TEST_F(Replay, TheCommandLineWritesTheReportAndRefusesBadUsage) {
  const std::string dir = std::string(SPOTGRID_SOURCE_DIR) + "/tests/replay";
  const std::string out_dir = testing::TempDir() + "/replay-report";
  std::ostringstream out;
  std::ostringstream err;
  const int code = replay_command(
      {"--config", kConfig, "--jobs", dir + "/small_jobs.csv", "--nodes", dir + "/small_nodes.csv",
       "--model-map", dir + "/small_model_map.csv", "--report", out_dir, "--json"},
      out, err);
  ASSERT_EQ(code, 0) << err.str();
  EXPECT_NE(out.str().find("\"market_vs_baseline\""), std::string::npos);
  std::ifstream html(out_dir + "/report.html");
  std::stringstream page;
  page << html.rdbuf();
  EXPECT_NE(page.str().find("<svg"), std::string::npos);
  EXPECT_EQ(page.str().find("<script"), std::string::npos);

  EXPECT_EQ(replay_command({"--jobs", "x.csv"}, out, err), 2);
  EXPECT_EQ(
      replay_command({"--config", kConfig, "--jobs", "x.csv", "--nodes", "y.csv", "--orgs", "0"},
                     out, err),
      2);
  EXPECT_EQ(replay_command({"--config", kConfig, "--jobs", "/nonexistent.csv", "--nodes", "y.csv"},
                           out, err),
            1);
}

}  // namespace
}  // namespace spotgrid::replay
