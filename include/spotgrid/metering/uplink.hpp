#pragma once
// How the agent hands spooled batches to the server: over a WebSocket
// (/v1/metering/stream, one text message per spool line, answered in order),
// or POST /v1/metering/batches with the batch JSON as the body and its
// signature in X-Spotgrid-Signature. The answer acknowledges the node's stored
// sequences and carries the server's lease assignments (which lease holds
// which card), so every heartbeat is also the push of assignments. Blocking,
// with a timeout; one connection, reopened after any failure.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "spotgrid/engine/types.hpp"
#include "spotgrid/metering/spool.hpp"

namespace spotgrid::metering {

struct Assignment {
  std::uint32_t card_index = 0;
  LeaseId lease = 0;
};

struct UplinkAnswer {
  enum class Kind : std::uint8_t {
    kStored,       // stored (or a re-send of what was): drop it from the spool
    kRefused,      // the server will never take it (bad signature, foreign card, …)
    kUnreachable,  // network, timeout or 5xx: keep it and retry later
  };
  Kind kind = Kind::kUnreachable;
  std::uint64_t acknowledged_seq = 0;
  std::vector<Assignment> assignments;
  std::string problem;  // for kRefused and kUnreachable
};

class Uplink {
 public:
  virtual ~Uplink() = default;
  virtual UplinkAnswer send(const SpooledBatch& batch) = 0;
};

// Where the agent sends, and as which node (the key signs, never travels).
struct UplinkTarget {
  std::string host;
  std::uint16_t port = 0;
  std::chrono::milliseconds timeout{2'000};
  NodeId node = 0;
  std::string key;  // the node's agent key
  // TLS (the server's own, spotgridd with tls.*): the certificate must chain to
  // `ca_file` (PEM; empty: the system's trust store) and name `host`.
  bool tls = false;
  std::string ca_file;
};

// HTTP to host:port, plain or TLS.
std::unique_ptr<Uplink> http_uplink(const UplinkTarget& target);
// The WebSocket alone; the upgrade proves the node's key (X-Spotgrid-*).
std::unique_ptr<Uplink> websocket_uplink(const UplinkTarget& target);
// The WebSocket, falling back to HTTP for a batch whenever the WebSocket cannot
// be had (and trying it again a minute later).
std::unique_ptr<Uplink> agent_uplink(const UplinkTarget& target);

}  // namespace spotgrid::metering
