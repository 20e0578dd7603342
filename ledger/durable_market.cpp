#include "spotgrid/ledger/durable_market.hpp"

#include <algorithm>
#include <array>
#include <condition_variable>
#include <future>
#include <mutex>
#include <pqxx/pqxx>
#include <thread>
#include <utility>

#include "applied.hpp"
#include "batch_transaction.hpp"
#include "batch_writer.hpp"
#include "spotgrid/engine/codec.hpp"
#include "spotgrid/ledger/request_keys.hpp"
#include "spotgrid/ledger/schema.hpp"
#include "spotgrid/ledger/storage_errors.hpp"
#include "spotgrid/util/bounded_queue.hpp"
#include "spotgrid/util/clock.hpp"
#include "spotgrid/util/log.hpp"
#include "spotgrid/util/thread_role.hpp"

namespace spotgrid::ledger {

using engine::Engine;
using std::chrono::milliseconds;

std::string_view to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::kCommitted:
      return "committed";
    case Outcome::kNotApplied:
      return "not_applied";
    case Outcome::kOutcomeUnknown:
      return "outcome_unknown";
    case Outcome::kOverloaded:
      return "overloaded";
    case Outcome::kStopping:
      return "stopping";
    case Outcome::kRefused:
      return "refused";
  }
  return "?";
}

namespace {

bool same_regions(const engine::TariffBook& market, const engine::TariffBook& configured) {
  if (market.region_count() != configured.region_count()) return false;
  for (std::size_t i = 0; i < market.region_count(); ++i) {
    const auto region = static_cast<RegionIndex>(i);
    if (market.region_name(region) != configured.region_name(region)) return false;
  }
  return true;
}

// Session advisory lock naming the market's owner (docs/architecture.md#scaling): one
// spotgridd writes a database at a time. "spotgrid-market" folded into 63 bits.
// Commit lane i's connection holds kMarketLock + i: a new owner takes them all,
// so no connection of an old owner can still commit.
constexpr long long kMarketLock = 0x5370477264'4d6b74;

struct Inbound {
  engine::CommandBody command;
  CompletionHandler done;
  std::function<void(const Engine*)> visit;  // a read instead of a command; nullptr = no engine
  std::shared_ptr<const RequestKey> key;
};

struct Pending {
  Applied applied;
  std::unique_ptr<CommittedChanges> changes;  // what the read model learns at its commit
  std::uint64_t epoch = 0;
  CompletionHandler done;  // empty for the engine's own ticks
  // A copy of the state after this command, when a snapshot is due: it is
  // serialized off the engine thread once the command is committed.
  std::unique_ptr<const Engine> frozen;
  std::shared_ptr<const RequestKey> key;
};

// A snapshot of committed state, serialized on a thread of its own (tens of
// milliseconds for a large book) and written by the first commit after it is
// ready. At most one at a time; one lost to a failed commit comes back at the
// next interval.
struct SnapshotInFlight {
  std::uint64_t command_seq = 0;
  UnixSeconds at = 0;
  std::future<std::string> bytes;  // empty when serializing failed
};

// Inserts each keyed command's idempotency key and stored answer.
void write_request_keys(pqxx::transaction_base& txn, std::span<const Pending> run) {
  for (const Pending& pending : run) {
    if (!pending.key) continue;
    const RequestKey& key = *pending.key;
    const Completion completion{Outcome::kCommitted, pending.applied.command_seq,
                                pending.applied.rejected, pending.applied.events};
    insert_request_key(txn, key, key.answer(completion), pending.applied.command_seq);
  }
}

// PostgreSQL refused one command's content. Never a unique violation: the
// persister's keys are new engine ids (a duplicate means another writer got
// there first: the market is not ours) or idempotency keys the gateway holds
// while in flight; either way the storage failed, not the command.
bool refused_command(const pqxx::sql_error& error) {
  return refused_for_content(error) && error.sqlstate() != "23505";
}

void reply(CompletionHandler& done, Outcome outcome) {
  if (done) done(Completion{outcome, 0, std::nullopt, {}});
}

// A persister thread and its connection (each recovery hands every lane a new one).
struct CommitLane {
  std::uint32_t index = 0;
  std::unique_ptr<pqxx::connection> connection;
  std::uint64_t connection_epoch = 0;
};

// A run's transaction: begun and its new rows written, possibly while the
// batch before it commits; finished at its turn.
struct RunWrite {
  std::vector<const Applied*> applied;
  std::optional<BatchTransaction> txn;
  std::optional<BatchWriter> writer;
  std::exception_ptr failure;  // from the first step: classified at the turn
  bool overlapped = false;     // the batch before was still in flight

  // Rolls back what was written (the connection stays usable if it is).
  void abandon() noexcept {
    writer.reset();
    txn.reset();
  }
};

}  // namespace

struct DurableMarket::Impl {
  explicit Impl(MarketOptions opts)
      : options(std::move(opts)),
        inbound(options.inbound_capacity),
        persist(options.persist_capacity) {
    if (!options.clock) options.clock = util::unix_now;
    const std::uint32_t asked = options.commit_lanes;
    options.commit_lanes = std::clamp<std::uint32_t>(asked, 1, kMaxCommitLanes);
    if (options.commit_lanes != asked) {
      util::log::warn("commit_lanes_clamped", {{"asked", std::uint64_t{asked}},
                                               {"running", std::uint64_t{options.commit_lanes}}});
    }
    lanes.resize(options.commit_lanes);
    for (std::uint32_t i = 0; i < options.commit_lanes; ++i)
      lanes[i].index = i;
  }

  MarketOptions options;
  ReadModel read_model{options.setup.catalog.pool_count(), options.published_catalog};
  util::BoundedQueue<Inbound> inbound;
  util::BoundedQueue<Pending> persist;
  std::thread engine_thread;
  std::thread persister_thread;
  std::atomic<bool> stopping{false};
  std::atomic<bool> accepting{false};
  // Set by the persister when a commit failed; everything applied in that epoch
  // and not yet committed is discarded, and the engine thread recovers.
  std::atomic<bool> storage_failed{false};
  std::atomic<std::uint64_t> failed_epoch{0};
  // When PostgreSQL refused one command's content, the failed epoch's other
  // commands (never answered) go back to the engine once it is rebuilt,
  // instead of failing: one bad command costs a recovery, not everyone's
  // requests. At most the persist queue's worth.
  std::mutex resubmit_mutex;
  std::vector<Inbound> resubmit;
  std::atomic<std::uint64_t> resubmit_epoch{0};  // persister thread writes

  // Engine thread only.
  std::optional<Engine> engine;
  std::uint64_t epoch = 0;
  std::uint64_t since_snapshot = 0;
  UnixSeconds last_tick = 0;
  std::string last_recovery_error;

  // Recovery hands a connection to each commit lane, each holding its lock.
  std::mutex handoff_mutex;
  std::vector<std::unique_ptr<pqxx::connection>> handoff;
  std::uint64_t handoff_epoch = 0;

  // The commit lanes. A lane takes batches in turn from the persist queue,
  // numbered as taken (one lane at a time); batch n commits, publishes and
  // answers only after batch n - 1 has (its turn), so commits stay in
  // command order and the committed log is always a prefix of the engine's.
  std::vector<CommitLane> lanes;
  std::mutex turn_mutex;  // guards the four below
  std::condition_variable turn_changed;
  std::uint64_t next_ticket = 0;
  bool taking = false;                    // a lane is taking a batch from the queue
  std::uint64_t written_early_below = 0;  // these tickets have written their new rows
  std::uint64_t turn = 0;                 // the ticket that may commit now

  // Only the lane whose turn it is.
  std::optional<SnapshotInFlight> snapshot;

  mutable std::mutex status_mutex;
  mutable std::condition_variable ready_changed;
  MarketStatus stats;

  template <typename F>
  void update_status(F&& change) {
    {
      std::lock_guard lock(status_mutex);
      change(stats);
    }
    ready_changed.notify_all();
  }

  // ---- engine thread ----

  void engine_loop() {
    std::vector<Inbound> work;
    milliseconds backoff{50};
    while (!stopping.load()) {
      if (!engine) {
        fail_inbound(Outcome::kNotApplied);
        if (!recover()) {
          // Commands sent back wait for a rebuild, not for ever.
          fail_sent_back(Outcome::kNotApplied);
          std::this_thread::sleep_for(backoff);
          backoff = std::min(backoff * 2, options.retry_max);
          continue;
        }
        backoff = milliseconds{50};
      }
      bool sent_back = false;
      {
        std::lock_guard lock(resubmit_mutex);
        work.swap(resubmit);
        sent_back = !work.empty();
      }
      if (!sent_back) inbound.pop_some(work, options.max_batch_commands, milliseconds{50});
      for (Inbound& item : work) {
        if (storage_failed.load() && sent_back) {
          // Never answered and not applied: they wait for the next rebuild.
          std::lock_guard lock(resubmit_mutex);
          resubmit.push_back(std::move(item));
        } else if (storage_failed.load()) {
          fail(item, Outcome::kNotApplied);
        } else if (item.visit) {
          item.visit(&*engine);
        } else {
          apply(item.command, std::move(item.done), std::move(item.key));
        }
      }
      work.clear();
      if (!storage_failed.load()) maybe_tick();
      if (storage_failed.load()) discard_uncommitted();
    }
    accepting.store(false);
    inbound.close();
    fail_inbound(Outcome::kStopping);
    fail_sent_back(Outcome::kStopping);
    persist.close();  // the persister commits what is queued, then ends
  }

  void apply(const engine::CommandBody& body, CompletionHandler done,
             std::shared_ptr<const RequestKey> key = nullptr) {
    Pending pending;
    pending.applied.command = engine::Command{std::max(options.clock(), engine->now()), body};
    const auto result = engine->submit(pending.applied.command, pending.applied.events);
    pending.applied.command_seq = result.command_seq;
    pending.applied.rejected = result.rejected;
    pending.changes = std::make_unique<CommittedChanges>(
        changes_of(*engine, result.command_seq, pending.applied.command, pending.applied.events));
    pending.epoch = epoch;
    pending.done = std::move(done);
    pending.key = std::move(key);
    if (++since_snapshot >= options.snapshot_every_commands) {
      pending.frozen = std::make_unique<const Engine>(engine->copy());
      since_snapshot = 0;
    }
    if (!persist.push(pending)) reply(pending.done, Outcome::kStopping);
  }

  void maybe_tick() {
    const UnixSeconds now = options.clock();
    if (!options.tick_every_second || now <= last_tick) return;
    last_tick = now;
    apply(engine::Tick{}, nullptr);
  }

  // The engine ran ahead of the last commit; rebuild it from what is durable.
  void discard_uncommitted() {
    accepting.store(false);
    update_status([](MarketStatus& s) { s.ready = false; });
    engine.reset();
    storage_failed.store(false);
  }

  // The lock of a session this process just closed (discard_epoch) is released
  // when PostgreSQL has seen the disconnection, which can take a moment: ask
  // for a while before concluding another spotgridd holds it.
  static void take_market_lock(pqxx::connection& conn, std::uint32_t lane = 0) {
    constexpr int kTries = 50;
    constexpr auto kPause = std::chrono::milliseconds(20);
    pqxx::nontransaction lock(conn, "market_lock");
    for (int attempt = 0; attempt < kTries; ++attempt) {
      if (lock.exec_params1("SELECT pg_try_advisory_lock($1)", kMarketLock + lane)[0].as<bool>())
        return;
      std::this_thread::sleep_for(kPause);
    }
    throw std::runtime_error("another spotgridd holds this database's market lock (" +
                             std::to_string(lane) + ")");
  }

  // Connections for lanes 1.. (lane 0 takes recovery's), each with its lock.
  // Recovery's connection also takes the locks of the lanes not running, so
  // an owner always holds them all, however many lanes it or the next runs.
  std::vector<std::unique_ptr<pqxx::connection>> lane_connections(
      std::unique_ptr<pqxx::connection> first) const {
    for (std::uint32_t lane = options.commit_lanes; lane < kMaxCommitLanes; ++lane)
      take_market_lock(*first, lane);
    std::vector<std::unique_ptr<pqxx::connection>> connections;
    connections.push_back(std::move(first));
    for (std::uint32_t lane = 1; lane < options.commit_lanes; ++lane) {
      auto conn = std::make_unique<pqxx::connection>(options.conninfo);
      take_market_lock(*conn, lane);
      prepare_connection(*conn);
      connections.push_back(std::move(conn));
    }
    return connections;
  }

  bool recover() {
    {
      // Connections of a failed epoch that no lane took still hold their locks.
      std::lock_guard lock(handoff_mutex);
      handoff.clear();
    }
    try {
      auto conn = std::make_unique<pqxx::connection>(options.conninfo);
      take_market_lock(*conn);
      migrate(*conn);
      engine.emplace(load_market(*conn, options.setup));
      // The gateway reads region and model names from the configuration.
      if (!same_regions(engine->tariffs(), options.setup.tariffs)) {
        throw ReplayDiverged(
            "the configured tariff regions are not the market's (names and order stay as the "
            "market began; multipliers change with POST /v1/operator/tariffs)");
      }
      if (!options.setup.catalog.leads(engine->catalog())) {
        throw ReplayDiverged(
            "the configured GPU catalog is not the first models of the market's (models stay "
            "as they were added; add one with POST /v1/operator/gpu-models)");
      }
      if (auto problems = compare_balances(*conn, *engine); !problems.empty())
        throw ReplayDiverged("recovered balances differ from the ledger: " + problems.front());
      prepare_connection(*conn);
      auto connections = lane_connections(std::move(conn));
      ++epoch;
      {
        std::lock_guard lock(handoff_mutex);
        handoff = std::move(connections);
        handoff_epoch = epoch;
      }
      since_snapshot = 0;
      last_tick = 0;
      const std::uint64_t seq = engine->last_command_seq();
      util::log::info("recovered", {{"committed_seq", seq}, {"epoch", epoch}});
      if (engine->platform_fee_bp() != options.setup.config.platform_fee_bp) {
        util::log::warn("configured_fee_not_the_markets",
                        {{"configured_bp", std::int64_t{options.setup.config.platform_fee_bp}},
                         {"market_bp", std::int64_t{engine->platform_fee_bp()}},
                         {"change_it_with", std::string_view("PUT /v1/operator/platform-fee")}});
      }
      last_recovery_error.clear();
      read_model.reset(*engine);
      if (options.on_rebuilt) options.on_rebuilt();
      accepting.store(true);  // before `ready`: whoever sees ready may submit at once
      update_status([seq](MarketStatus& s) {
        s.ready = true;
        s.committed_seq = seq;
        ++s.recoveries;
      });
      return true;
    } catch (const SchemaTooNew& e) {
      fatal(e.what());
    } catch (const ReplayDiverged& e) {
      fatal(e.what());
    } catch (const std::exception& e) {
      const std::string what = e.what();
      // Retried with backoff: logged when the cause changes, not each try.
      if (what != last_recovery_error) util::log::error("recovery_failed", {{"cause", what}});
      last_recovery_error = what;
      update_status([&](MarketStatus& s) { s.last_error = what; });
    }
    engine.reset();
    return false;
  }

  // Recovery can never succeed: stay down and say why (spotgridd exits on this).
  void fatal(const std::string& why) {
    util::log::error("market_cannot_recover", {{"cause", why}});
    stopping.store(true);  // before the status: whoever sees the error sees kStopping
    update_status([&](MarketStatus& s) { s.fatal_error = why; });
  }

  void fail_inbound(Outcome outcome) {
    std::vector<Inbound> work;
    while (inbound.pop_some(work, options.inbound_capacity, milliseconds{0}) && !work.empty()) {
      for (Inbound& item : work)
        fail(item, outcome);
      work.clear();
    }
  }

  void fail_sent_back(Outcome outcome) {
    std::vector<Inbound> waiting;
    {
      std::lock_guard lock(resubmit_mutex);
      waiting.swap(resubmit);
    }
    for (Inbound& item : waiting)
      fail(item, outcome);
  }

  static void fail(Inbound& item, Outcome outcome) {
    if (item.visit) {
      item.visit(nullptr);
    } else {
      reply(item.done, outcome);
    }
  }

  // ---- persister threads (the commit lanes) ----

  // Lane 0 runs on the persister thread, the others on threads of their own.
  void persister_loop() {
    std::vector<std::thread> others;
    for (std::uint32_t i = 1; i < options.commit_lanes; ++i) {
      others.emplace_back([this, i] {
        util::set_thread_role(util::ThreadRole::kPersister);
        lane_loop(lanes[i]);
      });
    }
    lane_loop(lanes[0]);
    for (std::thread& other : others)
      other.join();
    write_last_snapshot();
  }

  void lane_loop(CommitLane& lane) {
    std::vector<Pending> batch;
    bool open = true;
    while (open) {
      release_if_failed(lane);
      std::uint64_t ticket = 0;
      open = take_batch(lane, batch, ticket);
      if (!batch.empty()) commit_in_turn(lane, ticket, batch);
      batch.clear();
    }
    release_if_failed(lane);
  }

  // A failed epoch's connection goes, releasing its lock for the recovery.
  void release_if_failed(CommitLane& lane) const {
    if (lane.connection && lane.connection_epoch <= failed_epoch.load()) lane.connection.reset();
  }

  // Takes the next batch (numbered `ticket`) once every batch taken before has
  // written its new rows; taken earlier, it would be the first command or two
  // to arrive, each paying a batch's fixed cost. Returns with nothing after a
  // while, or at once when the lane's connection must go. False once the
  // queue is closed and empty.
  bool take_batch(const CommitLane& lane, std::vector<Pending>& batch, std::uint64_t& ticket) {
    {
      std::unique_lock lock(turn_mutex);
      const bool mine = turn_changed.wait_for(lock, milliseconds{100}, [&] {
        return (!taking && written_early_below == next_ticket) ||
               (lane.connection && lane.connection_epoch <= failed_epoch.load());
      });
      if (!mine || (lane.connection && lane.connection_epoch <= failed_epoch.load())) return true;
      taking = true;
    }
    const bool open = persist.pop_some(batch, options.max_batch_commands, milliseconds{100});
    {
      std::lock_guard lock(turn_mutex);
      taking = false;
      if (!batch.empty()) ticket = next_ticket++;
    }
    turn_changed.notify_all();
    return open;
  }

  // Writes the batch's new rows at once (when it is one run of a live epoch),
  // then waits for its turn to commit the rest, publish and answer.
  void commit_in_turn(CommitLane& lane, std::uint64_t ticket, std::vector<Pending>& batch) {
    const std::uint64_t batch_epoch = batch.front().epoch;
    const bool one_run = batch.back().epoch == batch_epoch;
    std::optional<RunWrite> early;
    if (options.commit_lanes > 1 && one_run && batch_epoch > failed_epoch.load() &&
        batch_epoch != resubmit_epoch.load() && take_connection(lane, batch_epoch)) {
      early.emplace();
      early->overlapped = !my_turn(ticket);
      write_early(lane, batch, *early);
    }
    {
      std::unique_lock lock(turn_mutex);
      written_early_below = ticket + 1;
      turn_changed.notify_all();
      turn_changed.wait(lock, [&] { return turn == ticket; });
    }
    const TurnPassed passed{*this, ticket};  // however this ends
    if (early) {
      commit_run(lane, batch, *early);
      return;
    }
    // Commit runs of one epoch; a run from a failed epoch is dropped unwritten.
    std::size_t begin_at = 0;
    while (begin_at < batch.size()) {
      std::size_t end = begin_at + 1;
      while (end < batch.size() && batch[end].epoch == batch[begin_at].epoch)
        ++end;
      RunWrite write;
      commit_run(lane, std::span(batch.data() + begin_at, end - begin_at), write);
      begin_at = end;
    }
  }

  // At the run's turn: what its epoch allows. `write` holds its first step if taken.
  void commit_run(CommitLane& lane, std::span<Pending> run, RunWrite& write) {
    if (run.front().epoch == resubmit_epoch.load()) {
      write.abandon();
      send_back(run);
    } else if (run.front().epoch <= failed_epoch.load()) {
      write.abandon();  // written early, before the epoch failed
      complete_failed(run, Outcome::kNotApplied);
    } else if (!write.txn && !write.failure && !take_connection(lane, run.front().epoch)) {
      storage_failure(lane, run, Outcome::kNotApplied, "no connection for this recovery epoch");
    } else {
      if (!write.txn && !write.failure) write_early(lane, run, write);
      commit(lane, run, write);
    }
  }

  bool my_turn(std::uint64_t ticket) {
    std::lock_guard lock(turn_mutex);
    return turn == ticket;
  }

  // Hands the turn to the next ticket when it goes out of scope.
  struct TurnPassed {
    TurnPassed(Impl& owner, std::uint64_t mine) : impl(owner), ticket(mine) {}
    Impl& impl;
    std::uint64_t ticket;
    TurnPassed(const TurnPassed&) = delete;
    TurnPassed& operator=(const TurnPassed&) = delete;
    ~TurnPassed() {
      {
        std::lock_guard lock(impl.turn_mutex);
        impl.turn = ticket + 1;
      }
      impl.turn_changed.notify_all();
    }
  };

  // On the way out, the snapshot still being serialized is written on its own
  // (on any connection of the live epoch), so a quiet market that stops does
  // not lose it.
  void write_last_snapshot() {
    if (!snapshot) return;
    for (CommitLane& lane : lanes) {
      if (!take_connection(lane, handoff_epoch_now())) continue;
      try {
        pqxx::work txn(*lane.connection, "last snapshot");
        write_serialized_snapshot(txn, /*wait=*/true);
        txn.commit();
      } catch (const std::exception& e) {
        util::log::warn("snapshot_not_written", {{"error", std::string_view(e.what())}});
      }
      break;
    }
    snapshot.reset();
  }

  std::uint64_t handoff_epoch_now() {
    std::lock_guard lock(handoff_mutex);
    return handoff_epoch;
  }

  bool take_connection(CommitLane& lane, std::uint64_t run_epoch) {
    if (run_epoch <= failed_epoch.load()) return false;
    if (lane.connection && lane.connection_epoch == run_epoch) return true;
    std::lock_guard lock(handoff_mutex);
    if (handoff_epoch != run_epoch || lane.index >= handoff.size() || !handoff[lane.index])
      return false;
    lane.connection = std::move(handoff[lane.index]);
    lane.connection_epoch = run_epoch;
    return true;
  }

  // The first step: a transaction, and the run's new rows in it.
  static void write_early(CommitLane& lane, std::span<const Pending> run,
                          RunWrite& write) noexcept {
    try {
      write.applied.reserve(run.size());
      for (const Pending& pending : run)
        write.applied.push_back(&pending.applied);
      write.txn.emplace(*lane.connection, "batch");
      write.writer.emplace(*write.txn, write.applied);
      write.writer->write_new_rows();
    } catch (...) {
      write.failure = std::current_exception();
    }
  }

  // The rest of the run's rows, its keys, a snapshot if one is ready, COMMIT;
  // then publish and answer. The rest goes with COMMIT, in one round trip,
  // unless keys or a snapshot follow it (their own round trips, in the order
  // write_batch has too).
  void commit(CommitLane& lane, std::span<Pending> run, RunWrite& write) {
    const auto started = std::chrono::steady_clock::now();
    try {
      if (write.failure) std::rethrow_exception(write.failure);
      std::string last_statements = write.writer->write_the_rest();
      const bool keyed = std::any_of(run.begin(), run.end(),
                                     [](const Pending& pending) { return pending.key != nullptr; });
      const bool with_snapshot = snapshot_ready();  // once: it may become ready meanwhile
      if ((keyed || with_snapshot) && !last_statements.empty())
        write.txn->exec(std::exchange(last_statements, {}));
      write_request_keys(*write.txn, run);
      if (with_snapshot) write_serialized_snapshot(*write.txn);
      if (options.test_hooks.before_commit) options.test_hooks.before_commit();
      write.txn->commit_after(std::move(last_statements));
    } catch (const pqxx::in_doubt_error& e) {
      write.abandon();
      snapshot.reset();
      storage_failure(lane, run, Outcome::kOutcomeUnknown, e.what());
      return;
    } catch (const pqxx::sql_error& e) {
      write.abandon();
      snapshot.reset();
      if (refused_command(e)) {
        content_failure(lane, run, e.what());
      } else {
        storage_failure(lane, run, Outcome::kNotApplied, e.what());
      }
      return;
    } catch (const std::exception& e) {
      write.abandon();
      snapshot.reset();
      storage_failure(lane, run, Outcome::kNotApplied, e.what());
      return;
    }
    write.abandon();  // committed: nothing is rolled back
    serialize_snapshot(run);
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::steady_clock::now() - started)
                            .count();
    const std::uint64_t last_seq = run.back().applied.command_seq;
    update_status([&](MarketStatus& s) {
      s.committed_seq = last_seq;
      s.commands_committed += run.size();
      ++s.batches_committed;
      s.batches_overlapped += write.overlapped;
      s.last_batch_commands = static_cast<std::uint32_t>(run.size());
      s.last_commit_micros = static_cast<std::uint64_t>(micros);
    });
    publish(run);
    for (Pending& pending : run) {
      if (options.on_committed && !pending.applied.events.empty())
        options.on_committed(pending.applied.events);
      if (!pending.done) continue;
      pending.done(Completion{Outcome::kCommitted, pending.applied.command_seq,
                              pending.applied.rejected, std::move(pending.applied.events)});
    }
  }

  // The run's newest copy, unless one is still being serialized.
  void serialize_snapshot(std::span<Pending> run) {
    if (snapshot) return;
    const auto newest = std::find_if(
        run.rbegin(), run.rend(), [](const Pending& pending) { return pending.frozen != nullptr; });
    if (newest == run.rend()) return;
    try {
      snapshot = SnapshotInFlight{
          newest->applied.command_seq, newest->applied.command.now,
          std::async(std::launch::async, [frozen = std::move(newest->frozen)]() noexcept {
            try {
              return frozen->snapshot();
            } catch (const std::exception&) {
              return std::string();  // out of memory: the next interval tries again
            }
          })};
    } catch (const std::exception& e) {  // no thread or memory to be had: the next interval tries
      util::log::warn("snapshot_skipped", {{"command_seq", newest->applied.command_seq},
                                           {"error", std::string_view(e.what())}});
    }
  }

  bool snapshot_ready() const {
    return snapshot &&
           snapshot->bytes.wait_for(std::chrono::seconds{0}) == std::future_status::ready;
  }

  // Writes the serialized snapshot once it is ready (at once when `wait`).
  void write_serialized_snapshot(pqxx::transaction_base& txn, bool wait = false) {
    if (!snapshot || (!wait && !snapshot_ready())) return;
    const std::string bytes = snapshot->bytes.get();
    if (!bytes.empty()) write_snapshot(txn, snapshot->command_seq, snapshot->at, bytes);
    snapshot.reset();
  }

  void publish(std::span<const Pending> run) {
    std::array<const CommittedChanges*, 256> chunk{};
    std::size_t used = 0;
    for (const Pending& pending : run) {
      if (!pending.changes) continue;
      chunk[used++] = pending.changes.get();
      if (used == chunk.size()) {
        read_model.publish(std::span(chunk.data(), used));
        used = 0;
      }
    }
    if (used > 0) read_model.publish(std::span(chunk.data(), used));
  }

  void storage_failure(CommitLane& lane, std::span<Pending> run, Outcome outcome,
                       const std::string& why) {
    util::log::error("storage_failure", {{"cause", why},
                                         {"answered", to_string(outcome)},
                                         {"commands", static_cast<std::uint64_t>(run.size())},
                                         {"first_command_seq", run.front().applied.command_seq}});
    discard_epoch(lane, run.front().epoch, why);
    update_status([](MarketStatus& s) { ++s.storage_failures; });
    complete_failed(run, outcome);
  }

  // Nothing more of `failed` commits; the engine rebuilds from PostgreSQL. The
  // other lanes let their connections go when they next look (lane_loop).
  void discard_epoch(CommitLane& lane, std::uint64_t failed, const std::string& why) {
    lane.connection.reset();  // releases the market lock for the next recovery
    failed_epoch.store(failed);
    storage_failed.store(true);
    { const std::lock_guard lock(turn_mutex); }  // a lane about to wait sees the failure
    turn_changed.notify_all();                   // idle lanes let their connections go
    update_status([&](MarketStatus& s) { s.last_error = why; });
  }

  // PostgreSQL refused the batch for its content. Find the first command it
  // refuses, each in a savepoint of a transaction that is never committed;
  // refuse that one, and send the others back to the engine once it is
  // rebuilt without them. If no single command is refused, it was storage.
  void content_failure(CommitLane& lane, std::span<Pending> run, const std::string& why) {
    std::optional<std::size_t> culprit;
    try {
      pqxx::work probe(*lane.connection, "find_refused_command");
      for (std::size_t i = 0; i < run.size() && !culprit; ++i) {
        const Applied* one[] = {&run[i].applied};
        try {
          pqxx::subtransaction step(probe, "one_command");
          clear_staging(step);  // the previous step's staged rows are applied already
          write_batch(step, one);
          write_request_keys(step, run.subspan(i, 1));
          step.commit();
        } catch (const pqxx::sql_error& e) {
          if (!refused_command(e)) throw;
          culprit = i;
        }
      }
      probe.abort();
    } catch (const std::exception& e) {
      storage_failure(lane, run, Outcome::kNotApplied, e.what());
      return;
    }
    if (!culprit) {
      storage_failure(lane, run, Outcome::kNotApplied, why);
      return;
    }
    resubmit_epoch.store(run.front().epoch);
    discard_epoch(lane, run.front().epoch, "refused one command: " + why);
    update_status([](MarketStatus& s) { ++s.commands_refused; });
    util::log::warn("command_refused",
                    {{"command_seq", run[*culprit].applied.command_seq},
                     {"command", engine::command_name(run[*culprit].applied.command.body)},
                     {"cause", why},
                     {"resubmitted", static_cast<std::uint64_t>(run.size() - 1)}});
    reply(run[*culprit].done, Outcome::kRefused);
    send_back(run.first(*culprit));
    send_back(run.subspan(*culprit + 1));
  }

  // Unanswered commands of a failed epoch, back to the engine (ticks dropped).
  void send_back(std::span<Pending> run) {
    std::lock_guard lock(resubmit_mutex);
    for (Pending& pending : run) {
      if (!pending.done) continue;
      resubmit.push_back(Inbound{pending.applied.command.body, std::move(pending.done), nullptr,
                                 std::move(pending.key)});
    }
  }

  static void complete_failed(std::span<Pending> run, Outcome outcome) {
    for (Pending& pending : run)
      reply(pending.done, outcome);
  }
};

DurableMarket::DurableMarket(MarketOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

DurableMarket::~DurableMarket() {
  stop();
}

void DurableMarket::start() {
  impl_->persister_thread = std::thread([this] {
    util::set_thread_role(util::ThreadRole::kPersister);
    impl_->persister_loop();
  });
  impl_->engine_thread = std::thread([this] {
    util::set_thread_role(util::ThreadRole::kEngine);
    impl_->engine_loop();
  });
}

void DurableMarket::submit(const engine::CommandBody& command, CompletionHandler done,
                           std::shared_ptr<const RequestKey> key) {
  if (!impl_->accepting.load()) {
    reply(done, impl_->stopping.load() ? Outcome::kStopping : Outcome::kNotApplied);
    return;
  }
  Inbound item{command, std::move(done), nullptr, std::move(key)};
  if (!impl_->inbound.try_push(item))
    reply(item.done, impl_->stopping.load() ? Outcome::kStopping : Outcome::kOverloaded);
}

std::vector<Completion> DurableMarket::submit_all(std::span<const engine::CommandBody> commands) {
  util::assert_may_block();
  std::vector<Completion> done(commands.size());
  std::mutex mutex;
  std::condition_variable all_done;
  std::size_t pending = commands.size();
  for (std::size_t i = 0; i < commands.size(); ++i) {
    submit(commands[i], [&, i](Completion&& completion) {
      const std::lock_guard lock(mutex);
      done[i] = std::move(completion);
      if (--pending == 0) all_done.notify_one();
    });
  }
  std::unique_lock lock(mutex);
  all_done.wait(lock, [&] { return pending == 0; });
  return done;
}

bool DurableMarket::read(const EngineReader& reader) {
  util::assert_may_block();
  if (!impl_->accepting.load()) return false;
  std::promise<bool> ran;
  auto result = ran.get_future();
  Inbound item{engine::Tick{}, nullptr,
               [&](const Engine* engine) {
                 if (engine) reader(*engine);
                 ran.set_value(engine != nullptr);
               },
               nullptr};
  if (!impl_->inbound.try_push(item)) return false;
  return result.get();
}

const ReadModel& DurableMarket::committed() const {
  return impl_->read_model;
}

std::optional<Outcome> DurableMarket::query(std::function<void(const Engine*)> reader) {
  const auto refused = [this] {
    return impl_->stopping.load() ? Outcome::kStopping : Outcome::kNotApplied;
  };
  if (!impl_->accepting.load()) return refused();
  Inbound item{engine::Tick{}, nullptr, std::move(reader), nullptr};
  if (impl_->inbound.try_push(item)) return std::nullopt;
  return impl_->accepting.load() ? Outcome::kOverloaded : refused();
}

bool DurableMarket::wait_ready(milliseconds timeout) const {
  std::unique_lock lock(impl_->status_mutex);
  return impl_->ready_changed.wait_for(lock, timeout, [&] {
    return impl_->stats.ready || !impl_->stats.fatal_error.empty();
  }) && impl_->stats.ready;
}

MarketStatus DurableMarket::status() const {
  MarketStatus copy;
  {
    std::lock_guard lock(impl_->status_mutex);
    copy = impl_->stats;
  }
  copy.inbound_depth = static_cast<std::uint32_t>(impl_->inbound.size());
  copy.persist_depth = static_cast<std::uint32_t>(impl_->persist.size());
  return copy;
}

void DurableMarket::stop() {
  impl_->stopping.store(true);
  impl_->accepting.store(false);
  if (impl_->engine_thread.joinable()) impl_->engine_thread.join();
  if (impl_->persister_thread.joinable()) impl_->persister_thread.join();
  // The persister may have sent commands back after the engine thread ended.
  impl_->fail_sent_back(Outcome::kStopping);
  // Closing the connections releases the market locks: a standby takes over now.
  for (CommitLane& lane : impl_->lanes)
    lane.connection.reset();
  const std::lock_guard lock(impl_->handoff_mutex);
  impl_->handoff.clear();
}

}  // namespace spotgrid::ledger
