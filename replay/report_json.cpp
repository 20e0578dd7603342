// The JSON report. Integers only (basis points, micro-units, seconds), so the
// same trace and seed give the same bytes; wall-clock figures appear only
// when the caller measured them (Report::timing).

#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include "spotgrid/replay/replay.hpp"

namespace spotgrid::replay {
namespace {

using Writer = rapidjson::PrettyWriter<rapidjson::StringBuffer>;

void key(Writer& w, std::string_view name) {
  w.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
}
void field(Writer& w, std::string_view name, std::int64_t value) {
  key(w, name);
  w.Int64(value);
}
void string(Writer& w, std::string_view text) {
  w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}
void counts(Writer& w, std::string_view name, const std::map<std::string, std::uint64_t>& map) {
  key(w, name);
  w.StartObject();
  for (const auto& [reason, count] : map)
    field(w, reason, static_cast<std::int64_t>(count));
  w.EndObject();
}

void write_trace(Writer& w, const Trace& trace) {
  const TraceCounts& c = trace.counts;
  key(w, "trace");
  w.StartObject();
  field(w, "job_rows", static_cast<std::int64_t>(c.job_rows));
  field(w, "jobs", static_cast<std::int64_t>(trace.jobs.size()));
  field(w, "node_rows", static_cast<std::int64_t>(c.node_rows));
  field(w, "nodes", static_cast<std::int64_t>(trace.nodes.size()));
  std::int64_t cards = 0;
  for (const Node& node : trace.nodes)
    cards += node.cards;
  field(w, "cards", cards);
  field(w, "rebased_by_s", trace.rebased_by);
  key(w, "orgs");
  w.StartArray();
  for (const std::string& org : trace.orgs)
    string(w, org);
  w.EndArray();
  key(w, "orgs_assigned_by_seed");
  w.Bool(c.orgs_assigned);
  counts(w, "job_rows_skipped", c.job_rows_skipped);
  counts(w, "node_rows_skipped", c.node_rows_skipped);
  key(w, "first_rows_skipped");
  w.StartArray();
  for (const std::string& line : c.first_skipped)
    string(w, line);
  w.EndArray();
  const std::pair<const char*, std::uint64_t> handled[] = {
      {"jobs_fractional_gpu", c.jobs_fractional},
      {"jobs_any_model", c.jobs_any_model},
      {"jobs_model_mapped", c.jobs_model_mapped},
      {"jobs_unknown_model", c.jobs_unknown_model},
      {"jobs_outside_from_to", c.jobs_outside_window},
      {"jobs_longer_than_max_lease", c.jobs_longer_than_max_lease},
      {"jobs_model_not_supplied", c.jobs_model_not_supplied},
      {"jobs_longer_than_any_window", c.jobs_longer_than_any_window},
      {"nodes_model_mapped", c.nodes_model_mapped},
      {"nodes_split", c.nodes_split},
      {"nodes_region_assigned", c.nodes_region_assigned},
      {"nodes_dropped_by_supply_scale", c.nodes_scaled_out},
      {"nodes_copied_by_supply_scale", c.nodes_scaled_in},
      {"nodes_over_the_1000000_limit", c.nodes_over_capacity},
      {"nodes_gone_before_first_submit", c.nodes_gone_before_first_submit}};
  for (const auto& [name, value] : handled)
    field(w, name, static_cast<std::int64_t>(value));
  w.EndObject();
}

void write_options(Writer& w, const ReplayOptions& o) {
  key(w, "options");
  w.StartObject();
  field(w, "epoch", o.epoch);
  field(w, "seed", static_cast<std::int64_t>(o.seed));
  field(w, "cost_first_share_ppm", o.cost_first_share);
  field(w, "deadline_slack_s", o.deadline_slack);
  field(w, "fault_rate_ppm_per_card_hour", o.fault_rate_per_card_hour);
  field(w, "repair_s", o.repair);
  field(w, "limit_over_reference_bp", o.limit_over_reference_bp);
  w.EndObject();
}

void write_costs(Writer& w, const Summary& s) {
  key(w, "cost_micros_per_card_hour");
  w.StartObject();
  field(w, "time_first", s.cost_by_strategy[0].per_card_hour());
  field(w, "cost_first", s.cost_by_strategy[1].per_card_hour());
  key(w, "by_target");
  w.StartObject();
  for (const auto& [target, costs] : s.cost_by_target) {
    key(w, target);
    w.StartObject();
    field(w, "time_first", costs[0].per_card_hour());
    field(w, "time_first_card_hours", costs[0].card_seconds / kSecondsPerHour);
    field(w, "cost_first", costs[1].per_card_hour());
    field(w, "cost_first_card_hours", costs[1].card_seconds / kSecondsPerHour);
    w.EndObject();
  }
  w.EndObject();
  w.EndObject();
  key(w, "cost_first_saving_bp");
  if (s.cost_first_saving_bp) {
    w.Int(*s.cost_first_saving_bp);
  } else {
    w.Null();
  }
  field(w, "supplier_revenue_micros_per_leased_card_hour", s.supplier_revenue_per_leased_card_hour);
  field(w, "supplier_revenue_micros_per_available_card_hour_whole_run",
        s.supplier_revenue_per_available_card_hour);
}

// Checks a reader can verify: each fails loudly in the numbers, not silently.
void write_checks(Writer& w, const Trace& trace, const RunResult& run, const Summary& s) {
  std::int64_t busy = 0;
  for (const auto& org : run.busy_per_org_hour) {
    for (const std::int64_t seconds : org)
      busy += seconds;
  }
  // A job is done (every card-second it needs, no reason) or explained (fewer,
  // with the reason); anything else is a fault in the replay.
  std::uint64_t unexplained = 0;
  std::uint64_t overrun = 0;
  std::uint64_t done_with_reason = 0;
  for (std::size_t index = 0; index < trace.jobs.size(); ++index) {
    const JobResult& job = run.jobs[index];
    const std::int64_t needed = card_seconds_needed(trace.jobs[index]);
    unexplained += job.card_seconds < needed && job.reason.empty() ? 1 : 0;
    overrun += job.card_seconds > needed ? 1 : 0;
    done_with_reason += job.card_seconds == needed && !job.reason.empty() ? 1 : 0;
  }
  key(w, "checks");
  w.StartObject();
  field(w, "jobs_unfinished_without_reason", static_cast<std::int64_t>(unexplained));
  field(w, "jobs_run_longer_than_needed", static_cast<std::int64_t>(overrun));
  field(w, "jobs_done_with_a_reason", static_cast<std::int64_t>(done_with_reason));
  field(w, "card_seconds_run_by_jobs", s.card_seconds_run);
  field(w, "card_seconds_busy_on_nodes", busy);
  if (run.name == "market") {
    // Each pair is counted on two sides: the replay's tally and the engine's.
    field(w, "deposited_micros", run.deposited);
    field(w, "balances_at_end_micros", run.balances_at_end);
    field(w, "paid_by_buyers_micros", run.paid);
    field(w, "earned_in_engine_micros", run.earned_in_engine);
    field(w, "price_rule_on_leased_seconds_micros", run.charges_for_leased_seconds);
    field(w, "engine_rejected_commands", static_cast<std::int64_t>(run.rejected_commands));
    key(w, "engine_invariants_broken");
    w.StartArray();
    for (const std::string& failure : run.invariant_failures)
      string(w, failure);
    w.EndArray();
  }
  w.EndObject();
}

void write_wait(Writer& w, std::string_view name, const Percentiles& wait) {
  key(w, name);
  w.StartObject();
  field(w, "p50", wait.p50);
  field(w, "p90", wait.p90);
  field(w, "p99", wait.p99);
  field(w, "max", wait.max);
  field(w, "jobs", static_cast<std::int64_t>(wait.count));  // never-started ones censored
  w.EndObject();
}

void write_run(Writer& w, const Report& report, const RunResult& run, const Summary& s) {
  key(w, run.name);
  w.StartObject();
  field(w, "utilisation_bp", s.utilisation_bp);
  key(w, "utilisation_by_org_bp");
  w.StartObject();
  for (std::size_t org = 0; org < s.utilisation_by_org_bp.size(); ++org)
    field(w, report.trace->orgs[org], s.utilisation_by_org_bp[org]);
  w.EndObject();
  field(w, "busy_card_seconds", s.busy_card_seconds);
  field(w, "available_card_seconds", s.available_card_seconds);
  write_wait(w, "wait_s", s.wait);
  key(w, "wait_s_by_cards");
  w.StartObject();
  for (const auto& [cards, wait] : s.wait_by_gang)
    write_wait(w, std::to_string(cards), wait);
  w.EndObject();
  field(w, "started_within_deadline_bp", s.started_within_deadline_bp);
  field(w, "jobs_completed", static_cast<std::int64_t>(s.jobs_completed));
  field(w, "jobs_started_not_finished", static_cast<std::int64_t>(s.jobs_started_unfinished));
  counts(w, "jobs_never_started", s.never_started);
  field(w, "last_job_end_s", s.makespan_end);
  field(w, "leases", static_cast<std::int64_t>(run.leases));
  field(w, "faults", static_cast<std::int64_t>(run.faults));
  field(w, "requeues", static_cast<std::int64_t>(run.requeues));
  field(w, "jobs_gang_started_in_parts", static_cast<std::int64_t>(run.jobs_gang_split));
  if (run.name == "market") {
    field(w, "paid_micros", run.paid);
    field(w, "supplier_revenue_micros", run.supplier_revenue);
    field(w, "platform_fees_micros", run.platform_fees);
    write_costs(w, s);
    field(w, "engine_commands", static_cast<std::int64_t>(run.commands));
    field(w, "engine_events", static_cast<std::int64_t>(run.events));
  }
  write_checks(w, *report.trace, run, s);
  w.EndObject();
}

}  // namespace

std::string report_json(const Report& report) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.SetIndent(' ', 2);
  const auto [from, to] = measurement_window(*report.trace, report.runs);
  std::vector<Summary> summaries;
  for (const RunResult* run : report.runs)
    summaries.push_back(summarise(*report.catalog, *report.trace, report.options, *run, from, to));
  w.StartObject();
  write_trace(w, *report.trace);
  write_options(w, report.options);
  key(w, "window");
  w.StartObject();
  field(w, "from_s", from);
  field(w, "to_s", to);
  w.EndObject();
  key(w, "runs");
  w.StartObject();
  for (std::size_t i = 0; i < report.runs.size(); ++i)
    write_run(w, report, *report.runs[i], summaries[i]);
  w.EndObject();
  if (summaries.size() >= 2) {
    key(w, "market_vs_baseline");
    w.StartObject();
    field(w, "utilisation_gain_bp", summaries[0].utilisation_bp - summaries[1].utilisation_bp);
    field(w, "wait_p50_s_saved", summaries[1].wait.p50 - summaries[0].wait.p50);
    field(w, "wait_p99_s_saved", summaries[1].wait.p99 - summaries[0].wait.p99);
    field(w, "jobs_started_gain",
          static_cast<std::int64_t>(summaries[0].wait.count) -
              static_cast<std::int64_t>(summaries[1].wait.count));
    w.EndObject();
  }
  if (report.timing) {
    const RunResult& market = *report.runs.front();
    key(w, "timing");
    w.StartObject();
    field(w, "wall_ms", report.timing->wall_milliseconds);
    field(w, "peak_rss_kib", report.timing->peak_rss_kib);
    field(w, "engine_ms", market.engine_nanoseconds / 1'000'000);
    field(w, "engine_events_per_s",
          market.engine_nanoseconds == 0
              ? 0
              : static_cast<std::int64_t>(static_cast<Int128>(market.events) * 1'000'000'000 /
                                          market.engine_nanoseconds));
    field(w, "engine_commands_per_s",
          market.engine_nanoseconds == 0
              ? 0
              : static_cast<std::int64_t>(static_cast<Int128>(market.commands) * 1'000'000'000 /
                                          market.engine_nanoseconds));
    w.EndObject();
  }
  w.EndObject();
  std::string out(buffer.GetString(), buffer.GetSize());
  out.push_back('\n');
  return out;
}

}  // namespace spotgrid::replay
