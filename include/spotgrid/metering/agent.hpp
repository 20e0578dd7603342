#pragma once
// The on-node agent's loop body: once a second, read every card, turn the
// readings into numbered samples, sign the batch under the node's key and
// spool it durably. Sending spooled batches to the server (WebSocket, HTTP
// fallback) and applying lease assignments are not built yet (issue 5 goes on):
// until then every batch stays in the spool.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "spotgrid/engine/types.hpp"
#include "spotgrid/metering/card_source.hpp"
#include "spotgrid/metering/sample.hpp"
#include "spotgrid/metering/spool.hpp"

namespace spotgrid::metering {

struct AgentStats {
  std::uint64_t samples = 0;
  std::uint64_t batches = 0;
  std::uint64_t unhealthy_samples = 0;
  std::uint64_t batches_refused = 0;  // the spool was full
};

class Agent {
 public:
  // Sequences continue after what the spool already holds.
  Agent(NodeId node, std::string node_key, std::unique_ptr<CardSource> source, Spool& spool);

  // One second's work; returns the batch spooled (or refused).
  SpooledBatch sample_once(UnixSeconds now);
  const AgentStats& stats() const { return stats_; }

 private:
  NodeId node_;
  std::string key_;
  std::unique_ptr<CardSource> source_;
  Spool& spool_;
  std::vector<EnergyCounter> energy_;
  std::uint64_t next_seq_ = 1;
  AgentStats stats_;
};

}  // namespace spotgrid::metering
