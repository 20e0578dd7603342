#pragma once
// Metering ingest on the server (docs/architecture.md#metering): signed sample batches from node
// agents are checked, de-duplicated on (node, sequence), stored with COPY in
// group commits, and only then acknowledged and fed to the meter, whose
// settlements and interruptions go to the engine as commands.
//
// Threads: callers of submit() check a batch and queue it (bounded); a writer
// thread commits queued batches together; a meter thread once a second reads
// the engine's leases, decides seconds and submits SettleLease/InterruptLease.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "spotgrid/ingest/meter.hpp"
#include "spotgrid/ledger/durable_market.hpp"

namespace spotgrid::ingest {

struct IngestOptions {
  std::string conninfo;
  std::string server_secret;  // node keys derive from it (metering::node_key)
  MeterOptions meter;
  std::size_t queue_batches = 4'096;                 // batches waiting for the writer
  std::size_t max_commit_batches = 1'024;            // batches per group commit
  Seconds max_sample_age = Seconds{7} * 24 * 3'600;  // older samples are refused
  Seconds max_sample_lead = 60;                      // so are samples from the future
  std::chrono::milliseconds meter_interval{1'000};
  std::function<UnixSeconds()> clock;  // default: the system clock
  // Whether a node, its signature checked, may send `bytes` more now (its
  // share of the writer and the disk); none: always. Refused: 429 overloaded.
  std::function<bool(NodeId, std::size_t bytes)> admit;
};

// The answer to one batch, HTTP-shaped so the gateway passes it on.
struct IngestReply {
  int status = 200;
  std::string code;  // for errors: bad_signature, unknown_node, foreign_card, invalid_batch, …
  std::string message;
  std::string field;
  std::uint64_t acknowledged_seq = 0;  // the node's highest stored sequence
  std::uint32_t samples_stored = 0;    // 0 for a re-send
  bool duplicate = false;
  std::vector<CardAssignment> assignments;  // which lease holds which card now
};
using IngestDone = std::function<void(IngestReply&&)>;

struct IngestCounters {
  std::uint64_t batches_stored = 0;
  std::uint64_t samples_stored = 0;
  std::uint64_t batches_duplicate = 0;
  std::uint64_t rejected_bad_signature = 0;
  std::uint64_t rejected_unknown_node = 0;
  std::uint64_t rejected_foreign_card = 0;
  std::uint64_t rejected_invalid = 0;  // malformed or out of range
  std::uint64_t rejected_overloaded = 0;
  std::uint64_t storage_failures = 0;
  std::uint64_t commands_rejected = 0;  // settlements/interruptions the engine refused
  MeterCounters meter;
};

// A card's latest reading, as its agent last reported it, for per-card
// gauges (what dcgm-exporter shows operators).
struct CardReading {
  NodeId node = 0;
  std::uint32_t card_index = 0;
  std::string card_uuid;
  LeaseId lease = 0;  // 0: not leased
  UnixSeconds second = 0;
  std::uint32_t utilization_pct = 0;
  std::uint32_t power_mw = 0;
  std::uint64_t energy_mj_total = 0;  // delivered since this process started hearing it
};

class Ingest {
 public:
  static constexpr std::size_t kMaxCardReadings = 65'536;  // cards beyond are not shown
  static constexpr UnixSeconds kCardReadingWindow = 60;    // a card is shown this long
  Ingest(IngestOptions options, ledger::DurableMarket& market);
  ~Ingest();  // stop()
  Ingest(const Ingest&) = delete;
  Ingest& operator=(const Ingest&) = delete;

  void start();
  void stop();
  // Ready once the meter has rebuilt its state after start; until then batches
  // are refused with 503 (the agent keeps them spooled).
  bool ready() const;
  // `signature_hex` signs `body` under `node`'s key; it is checked over the
  // exact bytes before anything parses them, and every sample must be the
  // node's. `done` runs exactly once, on the calling thread (refusals) or the
  // writer thread.
  void submit(NodeId node, std::string_view signature_hex, std::string_view body, IngestDone done);
  // Whether `signature_hex` proves `node`'s key over stream_proof_payload(node,
  // unix_seconds), within kStreamProofWindow of now.
  bool stream_proof_valid(NodeId node, std::int64_t unix_seconds,
                          std::string_view signature_hex) const;
  IngestCounters counters() const;
  // The latest reading of each card heard from within kCardReadingWindow.
  std::vector<CardReading> card_readings() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace spotgrid::ingest
