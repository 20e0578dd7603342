#pragma once
// The on-node agent's loop body: once a second, read every card, turn the
// readings into numbered samples (stamped with the lease the server said holds
// each card), sign the batch under the node's key and spool it durably; then
// hand spooled batches to the server, oldest first, dropping each once the
// server acknowledged it. While the server is unreachable batches wait in the
// spool and are re-sent in order later; the server de-duplicates re-sends.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "spotgrid/engine/types.hpp"
#include "spotgrid/metering/card_source.hpp"
#include "spotgrid/metering/sample.hpp"
#include "spotgrid/metering/spool.hpp"
#include "spotgrid/metering/uplink.hpp"

namespace spotgrid::metering {

struct AgentStats {
  std::uint64_t samples = 0;
  std::uint64_t batches = 0;
  std::uint64_t unhealthy_samples = 0;
  std::uint64_t batches_refused = 0;   // the spool was full
  std::uint64_t batches_sent = 0;      // acknowledged by the server
  std::uint64_t batches_rejected = 0;  // refused by the server for good (kept in rejected.log)
  std::uint64_t send_failures = 0;     // unreachable: kept for later
};

class Agent {
 public:
  // Sequences continue after what the spool already holds.
  Agent(NodeId node, std::string node_key, std::unique_ptr<CardSource> source, Spool& spool);

  // One second's work; returns the batch spooled (or refused).
  SpooledBatch sample_once(UnixSeconds now);
  // Sends up to `max_batches` spooled batches; stops at the first the server
  // cannot take now. Returns how many left the spool.
  std::size_t flush(Uplink& uplink, std::size_t max_batches);
  const AgentStats& stats() const { return stats_; }
  LeaseId lease_of(std::uint32_t card_index) const;
  const std::string& last_problem() const { return last_problem_; }

 private:
  NodeId node_;
  std::string key_;
  std::unique_ptr<CardSource> source_;
  Spool& spool_;
  std::vector<EnergyCounter> energy_;
  std::uint64_t next_seq_ = 1;
  std::vector<Assignment> assignments_;  // as the server last said
  AgentStats stats_;
  std::string last_problem_;
};

}  // namespace spotgrid::metering
