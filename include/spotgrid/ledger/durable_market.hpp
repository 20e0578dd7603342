#pragma once
// The durable market: the engine on its own thread, a persister thread that
// group-commits what the engine applied into PostgreSQL, and recovery from
// PostgreSQL at start and after any storage failure (docs/architecture.md#durability,
// #recovery).
//
// A command is acknowledged (Outcome::kCommitted) only after the transaction
// holding it committed. When PostgreSQL fails, everything the engine applied
// past the last commit is discarded by rebuilding the engine from PostgreSQL,
// so the in-memory market never runs ahead of what is durable; until that
// succeeds, commands are refused at once with kNotApplied.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "spotgrid/engine/engine.hpp"
#include "spotgrid/ledger/read_model.hpp"
#include "spotgrid/ledger/recovery.hpp"

namespace spotgrid::ledger {

enum class Outcome : std::uint8_t {
  kCommitted,       // applied and durable; `rejected` tells whether it changed anything
  kNotApplied,      // PostgreSQL is unavailable or the market is recovering: nothing changed
  kOutcomeUnknown,  // the connection broke during COMMIT: it may or may not be in the log
  kOverloaded,      // the queue is full: nothing changed, retry later
  kStopping,        // the market is shutting down: nothing changed
  kRefused,         // PostgreSQL refused this command's content: nothing changed
};
std::string_view to_string(Outcome outcome);

struct Completion {
  Outcome outcome = Outcome::kNotApplied;
  std::uint64_t command_seq = 0;  // set when committed
  std::optional<engine::Reject> rejected;
  std::vector<engine::Event> events;  // the committed events
};

// Runs on one of the market's threads: it must be short and must not block.
using CompletionHandler = std::function<void(Completion&&)>;

// What a client is answered, as stored for a retry.
struct StoredAnswer {
  unsigned status = 0;
  std::string body;
};

// A client's idempotency key, committed in the same transaction as the command
// it produced (table idempotency_keys, primary key (scope, key)): a retry after
// any restart finds the key and the first answer, or finds nothing because
// nothing was committed. The caller makes sure one key is not submitted twice
// at once (the gateway holds it while in flight).
struct RequestKey {
  std::string scope;
  std::string key;
  std::string fingerprint;                 // the request the key was used with
  std::int64_t lifetime_seconds = 86'400;  // a row older than this may be replaced
  // The answer to store, from the committed completion (on the persister
  // thread, before COMMIT): short, and without secrets.
  std::function<StoredAnswer(const Completion&)> answer;
};
using EngineReader = std::function<void(const engine::Engine&)>;

// The most commit batches in flight (MarketOptions::commit_lanes): an owner
// always holds this many advisory locks, however many lanes it runs.
inline constexpr std::uint32_t kMaxCommitLanes = 4;

struct MarketOptions {
  std::string conninfo;  // libpq connection string
  MarketSetup setup;
  // A catalog others read (the gateway's): the committed models the market
  // adds are appended to it, after recovery and after each commit. It must be
  // the first models of the market's (recovery refuses to start otherwise).
  engine::Catalog* published_catalog = nullptr;
  std::uint32_t max_batch_commands = 4'096;  // per group commit
  std::uint32_t inbound_capacity = 65'536;   // commands waiting for the engine
  std::uint32_t persist_capacity = 65'536;   // applied commands waiting for a commit
  std::uint64_t snapshot_every_commands = 250'000;
  // Batches in flight (1 to kMaxCommitLanes): while one commits, the next writes its new
  // rows on a connection of its own (each holds a lock of the market's);
  // commits, read-model updates and answers stay in command order. 1: one at a time.
  std::uint32_t commit_lanes = 2;
  struct TestHooks {
    // Runs on a persister thread at each batch's turn, just before the round
    // trip that carries its COMMIT (a pause there holds the batch in flight
    // while the next one writes).
    std::function<void()> before_commit;
  };
  TestHooks test_hooks;                // for tests only
  bool tick_every_second = true;       // the engine's once-a-second Tick, on the clock below
  std::function<UnixSeconds()> clock;  // default: the system clock
  std::chrono::milliseconds retry_max{1'000};  // backoff cap while PostgreSQL is down
  // After each commit, on a persister thread (one call at a time), once per
  // committed command with its events (the engine's ticks included), in
  // sequence order: for market data. It must be short and must not block.
  std::function<void(std::span<const engine::Event>)> on_committed;
  // After each recovery rebuilt the engine (at start and after a storage
  // failure discarded what was applied but not committed), on the engine thread.
  std::function<void()> on_rebuilt;
};

struct MarketStatus {
  bool ready = false;       // recovered and PostgreSQL answering
  std::string fatal_error;  // recovery can never succeed (schema too new, log diverged)
  std::string last_error;   // the latest storage error, for operators
  std::uint64_t committed_seq = 0;
  std::uint64_t commands_committed = 0;
  std::uint64_t batches_committed = 0;
  std::uint64_t batches_overlapped = 0;  // began writing while the one before was committing
  std::uint64_t recoveries = 0;
  std::uint64_t storage_failures = 0;
  std::uint64_t commands_refused = 0;  // PostgreSQL refused their content (Outcome::kRefused)
  std::uint32_t inbound_depth = 0;
  std::uint32_t persist_depth = 0;
  std::uint32_t last_batch_commands = 0;
  std::uint64_t last_commit_micros = 0;
};

class DurableMarket {
 public:
  explicit DurableMarket(MarketOptions options);
  ~DurableMarket();  // stop()
  DurableMarket(const DurableMarket&) = delete;
  DurableMarket& operator=(const DurableMarket&) = delete;

  // Starts the threads; recovery runs on the engine thread (see status().ready).
  void start();
  // Thread-safe. `done` is called exactly once, on a market thread. With a
  // `key`, the key and its answer commit with the command.
  void submit(const engine::CommandBody& command, CompletionHandler done,
              std::shared_ptr<const RequestKey> key = nullptr);
  // Submits every command (they may share one group commit) and waits for all
  // of them; the completions come back in the order of `commands`.
  std::vector<Completion> submit_all(std::span<const engine::CommandBody> commands);
  // Runs `reader` on the engine thread between commands and waits for it. The
  // state it sees may include commands whose commit is still pending. False
  // when the market is not ready (the reader did not run).
  bool read(const EngineReader& reader);
  // What is committed (read_model.hpp): published after each commit, before
  // on_committed runs and before the commands are answered.
  const ReadModel& committed() const;
  // Queues `reader` for the engine thread and returns without waiting for it;
  // it runs with the engine, or with nullptr if a recovery or a stop comes
  // first. When it was not queued (then it never runs), why: kNotApplied
  // (recovering), kStopping or kOverloaded (the queue is full). For what only
  // the live engine can compute (a quote); it must be short.
  std::optional<Outcome> query(std::function<void(const engine::Engine*)> reader);
  bool wait_ready(std::chrono::milliseconds timeout) const;
  MarketStatus status() const;
  // Refuses new commands, commits what the engine already applied, and joins.
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace spotgrid::ledger
