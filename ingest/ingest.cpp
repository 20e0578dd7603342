#include "spotgrid/ingest/ingest.hpp"

#include "spotgrid/ledger/storage_errors.hpp"

#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <pqxx/pqxx>
#include <set>
#include <thread>
#include <unordered_map>
#include <variant>

#include "spotgrid/util/bounded_queue.hpp"
#include "spotgrid/util/clock.hpp"
#include "spotgrid/util/utc.hpp"

namespace spotgrid::ingest {
namespace {

using Int = long long;  // pqxx converts long long, not every fixed-width alias

IngestReply refusal(int status, std::string code, std::string message, std::string field = {}) {
  IngestReply reply;
  reply.status = status;
  reply.code = std::move(code);
  reply.message = std::move(message);
  reply.field = std::move(field);
  return reply;
}

std::string sample_field(std::int64_t sample, const std::string& field) {
  if (sample < 0) return field;
  return "samples[" + std::to_string(sample) + "]." + field;
}

std::string partition_name(UnixSeconds month_begin) {
  const std::chrono::year_month_day date{std::chrono::floor<std::chrono::days>(
      std::chrono::sys_seconds{std::chrono::seconds{month_begin}})};
  char name[32];
  std::snprintf(name, sizeof name, "usage_samples_%04d_%02u", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()));
  return name;
}

std::string xid_text(const std::vector<std::uint64_t>& xids) {
  std::string text;
  for (const std::uint64_t xid : xids) {
    if (!text.empty()) text += ' ';
    text += std::to_string(xid);
  }
  return text;
}

struct PendingBatch {
  NodeId node = 0;
  std::vector<metering::Sample> samples;
  IngestDone done;
};

using CardKey = std::pair<NodeId, std::uint32_t>;

}  // namespace

struct Ingest::Impl {
  Impl(IngestOptions o, ledger::DurableMarket& m)
      : options(std::move(o)),
        market(m),
        meter(std::make_shared<const engine::TariffBook>(), options.meter) {
    if (!options.clock) options.clock = util::unix_now;
  }

  IngestOptions options;
  ledger::DurableMarket& market;

  // Shared by the writer (observe) and the meter thread (reconcile, collect).
  mutable std::mutex meter_mutex;
  Meter meter;
  std::map<CardKey, CardReading> readings;  // under meter_mutex; at most kMaxCardReadings

  // Under meter_mutex: a stored sample becomes its card's latest reading.
  void remember(const metering::Sample& s) {
    const CardKey key{s.node, s.card_index};
    auto found = readings.find(key);
    if (found == readings.end()) {
      // Full: cards not heard from for the gauges' window make room.
      if (readings.size() >= Ingest::kMaxCardReadings) {
        const UnixSeconds stale = options.clock() - Ingest::kCardReadingWindow;
        std::erase_if(readings, [&](const auto& entry) { return entry.second.second < stale; });
      }
      if (readings.size() >= Ingest::kMaxCardReadings) return;
      found = readings.emplace(key, CardReading{s.node, s.card_index, s.card_uuid}).first;
    }
    CardReading& reading = found->second;
    reading.energy_mj_total += s.energy_mj;
    if (s.second < reading.second) return;  // an older second, re-sent late
    reading.card_uuid = s.card_uuid;
    reading.lease = s.lease;
    reading.second = s.second;
    reading.utilization_pct = s.utilization_pct;
    reading.power_mw = s.power_mw;
  }

  util::BoundedQueue<PendingBatch> queue{options.queue_batches};  // to the writer
  std::mutex stop_mutex;
  std::condition_variable meter_wake;  // the meter thread's, at stop
  bool stopping = false;

  std::atomic<bool> is_ready{false};
  std::thread writer;
  std::thread meter_thread;

  // Writer-thread state, loaded from PostgreSQL at start.
  std::unordered_map<NodeId, std::uint64_t> last_seq;
  std::map<CardKey, std::string> card_uuids;
  std::set<UnixSeconds> partitions;  // month beginnings known to exist

  mutable std::mutex counters_mutex;
  IngestCounters counts;

  template <typename F>
  void count(F&& change) {
    const std::lock_guard lock(counters_mutex);
    change(counts);
  }

  // ---- checks on the caller's thread ---------------------------------------

  // From the committed read model: never waits for the engine thread.
  std::optional<engine::NodeView> node_view(NodeId id) const { return market.committed().node(id); }

  std::optional<IngestReply> check(NodeId node, const std::vector<metering::Sample>& samples) {
    for (std::size_t i = 0; i < samples.size(); ++i) {
      if (samples[i].node != node) {
        count([](IngestCounters& c) { ++c.rejected_invalid; });
        return refusal(400, "invalid_batch", "every sample must be the signing node's",
                       sample_field(static_cast<std::int64_t>(i), "node"));
      }
    }
    const auto view = node_view(node);
    if (!view) {
      if (!market.status().ready) return refusal(503, "unavailable", "the market is recovering");
      count([](IngestCounters& c) { ++c.rejected_unknown_node; });
      return refusal(404, "unknown_node", "no node " + std::to_string(node), "samples[0].node");
    }
    const UnixSeconds now = options.clock();
    for (std::size_t i = 0; i < samples.size(); ++i) {
      const metering::Sample& s = samples[i];
      const auto index = static_cast<std::int64_t>(i);
      if (s.card_index >= view->cards) {
        count([](IngestCounters& c) { ++c.rejected_foreign_card; });
        return refusal(
            403, "foreign_card",
            "node " + std::to_string(node) + " has " + std::to_string(view->cards) + " cards",
            sample_field(index, "card_index"));
      }
      if (s.second < now - options.max_sample_age || s.second > now + options.max_sample_lead) {
        count([](IngestCounters& c) { ++c.rejected_invalid; });
        return refusal(400, "invalid_batch", "the second is too far from the server's clock",
                       sample_field(index, "second"));
      }
    }
    return std::nullopt;
  }

  void submit(NodeId node, std::string_view signature, std::string_view body, IngestDone done) {
    if (body.size() > metering::kMaxBatchBytes) {
      count([](IngestCounters& c) { ++c.rejected_invalid; });
      return done(refusal(400, "invalid_batch", "the batch is larger than any batch can be"));
    }
    // The signature first, over the exact bytes: nobody without the node's key
    // makes the server parse anything.
    if (node == 0 ||
        !metering::verify(metering::node_key(options.server_secret, node), body, signature)) {
      count([](IngestCounters& c) { ++c.rejected_bad_signature; });
      return done(refusal(401, "bad_signature",
                          "the batch is not signed with the key of the node it names",
                          "X-Spotgrid-Signature"));
    }
    if (!is_ready.load())
      return done(refusal(503, "unavailable", "metering is starting: keep the batch and retry"));
    if (options.admit && !options.admit(node, body.size())) {
      count([](IngestCounters& c) { ++c.rejected_overloaded; });
      return done(
          refusal(429, "overloaded", "this node sends faster than its share: retry shortly"));
    }
    auto parsed = metering::parse_batch(body);
    if (auto* problem = std::get_if<metering::BatchProblem>(&parsed)) {
      count([](IngestCounters& c) { ++c.rejected_invalid; });
      return done(refusal(400, "invalid_batch", problem->message,
                          sample_field(problem->sample, problem->field)));
    }
    auto& samples = std::get<std::vector<metering::Sample>>(parsed);
    if (auto refused = check(node, samples)) return done(std::move(*refused));
    PendingBatch batch{samples.front().node, std::move(samples), std::move(done)};
    if (queue.try_push(batch)) return;
    count([](IngestCounters& c) { ++c.rejected_overloaded; });
    batch.done(refusal(503, "overloaded", "too many batches waiting: retry shortly"));
  }

  // ---- the writer thread -----------------------------------------------------

  void load_writer_state(pqxx::connection& connection) {
    pqxx::read_transaction txn(connection);
    last_seq.clear();
    card_uuids.clear();
    partitions.clear();
    for (const auto& row : txn.exec("SELECT node, last_seq FROM usage_nodes"))
      last_seq[row[0].as<std::uint64_t>()] = row[1].as<std::uint64_t>();
    for (const auto& row : txn.exec("SELECT node, card_index, card_uuid FROM node_cards"))
      card_uuids[{row[0].as<std::uint64_t>(), row[1].as<std::uint32_t>()}] =
          row[2].as<std::string>();
  }

  void ensure_partitions(pqxx::connection& connection,
                         const std::vector<std::vector<metering::Sample>>& fresh) {
    std::set<UnixSeconds> wanted;
    for (const auto& samples : fresh)
      for (const metering::Sample& s : samples)
        if (!partitions.contains(util::month_start(s.second)))
          wanted.insert(util::month_start(s.second));
    for (const UnixSeconds begin : wanted) {
      pqxx::work txn(connection);
      txn.exec("CREATE TABLE IF NOT EXISTS " + txn.quote_name(partition_name(begin)) +
               " PARTITION OF usage_samples FOR VALUES FROM (" + std::to_string(begin) + ") TO (" +
               std::to_string(util::month_start(begin, 1)) + ")");
      txn.commit();
      partitions.insert(begin);
    }
  }

  // What of a batch is new, or why it is refused. The cards it binds join
  // `bound` (written with the group) only when the whole batch is admitted.
  std::variant<std::vector<metering::Sample>, IngestReply> admit(
      PendingBatch& batch, std::unordered_map<NodeId, std::uint64_t>& group_seq,
      std::map<CardKey, std::string>& bound) {
    const NodeId node = batch.node;
    std::uint64_t high = last_seq.contains(node) ? last_seq[node] : 0;
    if (const auto it = group_seq.find(node); it != group_seq.end()) high = it->second;
    std::vector<metering::Sample> fresh;
    for (metering::Sample& s : batch.samples)
      if (s.seq > high) fresh.push_back(std::move(s));
    std::map<CardKey, std::string> binds;
    for (const metering::Sample& s : fresh) {
      const CardKey key{node, s.card_index};
      const std::string* uuid = nullptr;
      for (const auto* known : {&card_uuids, &bound, &binds}) {
        if (const auto it = known->find(key); uuid == nullptr && it != known->end())
          uuid = &it->second;
      }
      if (uuid != nullptr && *uuid != s.card_uuid) {
        count([](IngestCounters& c) { ++c.rejected_foreign_card; });
        return refusal(403, "foreign_card",
                       "card " + std::to_string(s.card_index) + " of node " + std::to_string(node) +
                           " is " + *uuid + ", not " + s.card_uuid,
                       "samples[].card");
      }
      if (uuid == nullptr) binds.emplace(key, s.card_uuid);
    }
    bound.merge(binds);
    if (!fresh.empty()) group_seq[node] = fresh.back().seq;
    return fresh;
  }

  void store(pqxx::connection& connection, const std::vector<std::vector<metering::Sample>>& fresh,
             const std::unordered_map<NodeId, std::uint64_t>& group_seq,
             const std::map<CardKey, std::string>& bound) {
    pqxx::work txn(connection);
    {
      pqxx::stream_to rows(
          txn, "usage_samples",
          std::vector<std::string>{"node", "seq", "second", "card_index", "card_uuid", "lease",
                                   "healthy", "utilization_pct", "memory_used", "power_mw",
                                   "energy_mj", "temperature_c", "ecc_uncorrected", "xids"});
      const std::lock_guard lock(meter_mutex);  // lease attribution
      for (const auto& samples : fresh) {
        for (const metering::Sample& s : samples) {
          rows << std::make_tuple(
              static_cast<Int>(s.node), static_cast<Int>(s.seq), static_cast<Int>(s.second),
              static_cast<int>(s.card_index), s.card_uuid,
              static_cast<Int>(meter.lease_at(s.node, s.card_index, s.second)), s.healthy,
              static_cast<int>(s.utilization_pct), static_cast<Int>(s.memory_used_bytes),
              static_cast<Int>(s.power_mw), static_cast<Int>(s.energy_mj),
              static_cast<int>(s.temperature_c), static_cast<Int>(s.ecc_uncorrected),
              xid_text(s.xids));
        }
      }
      rows.complete();
    }
    // Every node's new high-water mark in one statement (integers only in the arrays).
    std::string node_ids = "{";
    std::string seqs = "{";
    for (const auto& [node, seq] : group_seq) {
      if (node_ids.size() > 1) {
        node_ids += ',';
        seqs += ',';
      }
      node_ids += std::to_string(node);
      seqs += std::to_string(seq);
    }
    node_ids += '}';
    seqs += '}';
    txn.exec_params(
        "INSERT INTO usage_nodes (node, last_seq) SELECT * FROM unnest($1::bigint[], $2::bigint[]) "
        "ON CONFLICT (node) DO UPDATE SET last_seq = greatest(usage_nodes.last_seq, "
        "excluded.last_seq)",
        node_ids, seqs);
    for (const auto& [key, uuid] : bound) {
      txn.exec_params("INSERT INTO node_cards (node, card_index, card_uuid) VALUES ($1, $2, $3)",
                      static_cast<Int>(key.first), static_cast<int>(key.second), uuid);
    }
    txn.commit();
  }

  // The agents keep their batches and send them again. What failed goes to the
  // operator's log, never to an agent (it names hosts, tables and rows).
  void fail_group(std::vector<PendingBatch>& group, const std::exception& error) {
    count([](IngestCounters& c) { ++c.storage_failures; });
    std::fprintf(stderr, "spotgridd: metering storage failed: %s\n", error.what());
    for (PendingBatch& batch : group)
      batch.done(refusal(503, "unavailable", "storage is unavailable: keep the batch and retry"));
  }

  // PostgreSQL refused what this batch holds: an agent re-sending it would be
  // refused for ever, so it is final (the agent keeps it in rejected.log).
  void refuse_content(PendingBatch& batch, const std::exception& error) {
    count([](IngestCounters& c) { ++c.rejected_invalid; });
    std::fprintf(stderr, "spotgridd: metering refused a batch of node %llu: %s\n",
                 static_cast<unsigned long long>(batch.node), error.what());
    batch.done(refusal(400, "invalid_batch", "storage refused what this batch holds"));
  }

  // Connects (again) when there is no connection, loading what PostgreSQL
  // holds; false after failing the group when that is not possible.
  bool ensure_connection(std::unique_ptr<pqxx::connection>& connection,
                         std::vector<PendingBatch>& group) {
    if (connection) return true;
    try {
      connection = std::make_unique<pqxx::connection>(options.conninfo);
      load_writer_state(*connection);
      return true;
    } catch (const std::exception& error) {
      connection.reset();
      fail_group(group, error);
      return false;
    }
  }

  // A group after admission: for each batch, either the samples it adds or the
  // reply it was refused with; and what storing them changes.
  struct AdmittedGroup {
    std::unordered_map<NodeId, std::uint64_t> group_seq;
    std::map<CardKey, std::string> bound;
    std::vector<std::vector<metering::Sample>> fresh;
    std::vector<std::optional<IngestReply>> replies;
  };

  AdmittedGroup admit_group(std::vector<PendingBatch>& group) {
    AdmittedGroup admitted;
    admitted.fresh.resize(group.size());
    admitted.replies.resize(group.size());
    for (std::size_t i = 0; i < group.size(); ++i) {
      auto result = admit(group[i], admitted.group_seq, admitted.bound);
      if (auto* reply = std::get_if<IngestReply>(&result)) {
        admitted.replies[i] = std::move(*reply);
      } else {
        admitted.fresh[i] = std::move(std::get<std::vector<metering::Sample>>(result));
      }
    }
    return admitted;
  }

  // One batch's content was refused: the others must not pay for it.
  // Each is written alone; the one refused again is refused for good.
  void write_one_by_one(std::unique_ptr<pqxx::connection>& connection,
                        std::vector<PendingBatch>& group, AdmittedGroup& admitted,
                        const std::exception& error) {
    if (group.size() == 1) return refuse_content(group.front(), error);
    for (std::size_t i = 0; i < group.size(); ++i) {
      if (admitted.replies[i]) {
        group[i].done(std::move(*admitted.replies[i]));  // refused before storage: as it was
        continue;
      }
      // admit() moved the new samples out of the batch: they go back (the
      // rest were re-sends, acknowledged all the same).
      group[i].samples = std::move(admitted.fresh[i]);
      std::vector<PendingBatch> alone;
      alone.push_back(std::move(group[i]));
      write_group(connection, alone);
    }
  }

  // The group is committed: the writer's state and the meter catch up, and
  // every batch is answered.
  void acknowledge(std::vector<PendingBatch>& group, AdmittedGroup& admitted) {
    for (const auto& [node, seq] : admitted.group_seq)
      last_seq[node] = seq;
    card_uuids.insert(admitted.bound.begin(), admitted.bound.end());
    std::uint64_t stored_batches = 0;
    std::uint64_t stored_samples = 0;
    std::uint64_t duplicates = 0;
    const std::lock_guard lock(meter_mutex);
    for (std::size_t i = 0; i < group.size(); ++i) {
      if (admitted.replies[i]) continue;
      const std::vector<metering::Sample>& fresh = admitted.fresh[i];
      for (const metering::Sample& s : fresh) {
        meter.observe(s);
        remember(s);
      }
      const NodeId node = group[i].node;
      IngestReply reply;
      reply.acknowledged_seq = last_seq.contains(node) ? last_seq[node] : 0;
      reply.samples_stored = static_cast<std::uint32_t>(fresh.size());
      reply.duplicate = fresh.empty();
      reply.assignments = meter.assignments(node);
      admitted.replies[i] = std::move(reply);
      stored_samples += fresh.size();
      (fresh.empty() ? duplicates : stored_batches) += 1;
    }
    count([&](IngestCounters& c) {
      c.batches_stored += stored_batches;
      c.samples_stored += stored_samples;
      c.batches_duplicate += duplicates;
    });
    for (std::size_t i = 0; i < group.size(); ++i)
      group[i].done(std::move(*admitted.replies[i]));
  }

  void write_group(std::unique_ptr<pqxx::connection>& connection,
                   std::vector<PendingBatch>& group) {
    if (!ensure_connection(connection, group)) return;
    AdmittedGroup admitted = admit_group(group);
    try {
      ensure_partitions(*connection, admitted.fresh);
      store(*connection, admitted.fresh, admitted.group_seq, admitted.bound);
    } catch (const std::exception& error) {
      connection.reset();  // reconnect and reload what PostgreSQL really holds
      if (!ledger::refused_for_content(error)) return fail_group(group, error);
      return write_one_by_one(connection, group, admitted, error);
    }
    acknowledge(group, admitted);
  }

  void write_loop() {
    std::unique_ptr<pqxx::connection> connection;
    std::vector<PendingBatch> group;
    // Until stop() closes the queue and what it held is answered.
    while (queue.pop_some(group, options.max_commit_batches, std::chrono::milliseconds(100))) {
      if (!group.empty()) write_group(connection, group);
      group.clear();
    }
  }

  // ---- the meter thread ------------------------------------------------------

  // After a restart: nodes that reported before, and the recent samples the
  // engine has not been told about yet.
  void rebuild_meter(const std::vector<engine::LeaseView>& leases) {
    pqxx::connection connection(options.conninfo);
    pqxx::read_transaction txn(connection);
    const UnixSeconds since = options.clock() - static_cast<UnixSeconds>(Meter::kWindowSeconds);
    const auto nodes_seen = txn.exec("SELECT node FROM usage_nodes");
    const auto recent = txn.exec_params(
        "SELECT node, second, card_index, healthy, xids FROM usage_samples WHERE second >= $1 "
        "ORDER BY second",
        static_cast<Int>(since));
    const std::lock_guard lock(meter_mutex);
    meter.reconcile(leases);
    for (const auto& row : nodes_seen)
      meter.track_node(row[0].as<std::uint64_t>());
    for (const auto& row : recent) {
      metering::Sample s;
      s.node = row[0].as<std::uint64_t>();
      s.second = row[1].as<Int>();
      s.card_index = row[2].as<std::uint32_t>();
      s.healthy = row[3].as<bool>();
      const std::string xids = row[4].as<std::string>();
      for (std::size_t at = 0; at < xids.size();) {
        std::size_t used = 0;
        s.xids.push_back(std::stoull(xids.substr(at), &used));
        at += used + 1;
      }
      meter.observe(s);
    }
  }

  void meter_step() {
    const ledger::ReadModel& committed = market.committed();
    if (!committed.ready()) return;  // recovering
    const std::vector<engine::LeaseView> leases = committed.billable_leases();
    {
      const std::lock_guard lock(meter_mutex);
      meter.use_tariffs(committed.tariffs());
    }
    if (!is_ready.load()) {
      rebuild_meter(leases);
      is_ready = true;
    }
    std::vector<engine::CommandBody> commands;
    {
      const std::lock_guard lock(meter_mutex);
      meter.reconcile(leases);
      meter.collect(options.clock(), commands);
    }
    for (const engine::CommandBody& command : commands) {
      market.submit(command, [this](ledger::Completion&& completion) {
        if (completion.outcome != ledger::Outcome::kCommitted || completion.rejected)
          count([](IngestCounters& c) { ++c.commands_rejected; });
      });
    }
  }

  void meter_loop() {
    std::unique_lock lock(stop_mutex);
    while (!stopping) {
      lock.unlock();
      try {
        meter_step();
      } catch (const std::exception&) {
        count([](IngestCounters& c) { ++c.storage_failures; });  // retried next interval
      }
      lock.lock();
      meter_wake.wait_for(lock, options.meter_interval, [&] { return stopping; });
    }
  }
};

Ingest::Ingest(IngestOptions options, ledger::DurableMarket& market)
    : impl_(std::make_unique<Impl>(std::move(options), market)) {}

Ingest::~Ingest() {
  stop();
}

void Ingest::start() {
  impl_->writer = std::thread([this] { impl_->write_loop(); });
  impl_->meter_thread = std::thread([this] { impl_->meter_loop(); });
}

void Ingest::stop() {
  {
    const std::lock_guard lock(impl_->stop_mutex);
    impl_->stopping = true;
  }
  impl_->queue.close();
  impl_->meter_wake.notify_all();
  if (impl_->writer.joinable()) impl_->writer.join();
  if (impl_->meter_thread.joinable()) impl_->meter_thread.join();
}

bool Ingest::ready() const {
  return impl_->is_ready.load();
}

void Ingest::submit(NodeId node, std::string_view signature_hex, std::string_view body,
                    IngestDone done) {
  impl_->submit(node, signature_hex, body, std::move(done));
}

bool Ingest::stream_proof_valid(NodeId node, std::int64_t unix_seconds,
                                std::string_view signature_hex) const {
  const std::int64_t now = impl_->options.clock();
  if (node == 0 || unix_seconds < now - metering::kStreamProofWindow ||
      unix_seconds > now + metering::kStreamProofWindow) {
    return false;
  }
  return metering::verify(metering::node_key(impl_->options.server_secret, node),
                          metering::stream_proof_payload(node, unix_seconds), signature_hex);
}

IngestCounters Ingest::counters() const {
  IngestCounters counters;
  {
    const std::lock_guard lock(impl_->counters_mutex);
    counters = impl_->counts;
  }
  const std::lock_guard lock(impl_->meter_mutex);
  counters.meter = impl_->meter.counters();
  return counters;
}

std::vector<CardReading> Ingest::card_readings() const {
  std::vector<CardReading> fresh;
  const UnixSeconds since = impl_->options.clock() - kCardReadingWindow;
  const std::lock_guard lock(impl_->meter_mutex);
  for (const auto& [key, reading] : impl_->readings) {
    if (reading.second >= since) fresh.push_back(reading);
  }
  return fresh;
}

}  // namespace spotgrid::ingest
