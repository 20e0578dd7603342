#pragma once
// What the agent reports per card and second (docs/architecture.md#metering), the energy counter
// arithmetic, and the HMAC-SHA256 that signs a batch under the node's key.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "spotgrid/engine/limits.hpp"
#include "spotgrid/engine/types.hpp"
#include "spotgrid/metering/card_source.hpp"

namespace spotgrid::metering {

// XIDs that mean the card cannot be trusted with work (NVIDIA's "critical"
// list: double-bit ECC, fallen off the bus, page retirement failures, …).
bool is_fatal_xid(std::uint64_t xid);

struct Sample {
  NodeId node = 0;
  std::uint64_t seq = 0;  // per node, strictly increasing, never reused
  UnixSeconds second = 0;
  std::uint32_t card_index = 0;  // the card's place on the node; leases name cards by it
  std::string card_uuid;
  LeaseId lease = 0;     // 0: the card is not leased
  bool healthy = false;  // present, read without error, no fatal XID this second
  std::uint32_t utilization_pct = 0;
  std::uint64_t memory_used_bytes = 0;
  std::uint32_t power_mw = 0;
  std::uint64_t energy_mj = 0;  // delivered during this second (counter resets handled)
  std::uint32_t temperature_c = 0;
  std::uint64_t ecc_uncorrected = 0;
  std::vector<std::uint64_t> xids;
};

// Turns a card's cumulative energy counter into per-second amounts. A counter
// that goes backwards was reset (driver reload): what it reads now is what
// accumulated since the reset.
class EnergyCounter {
 public:
  std::uint64_t delta(std::uint64_t counter_mj);

 private:
  std::optional<std::uint64_t> last_;
};

// The samples of one read, numbered from `next_seq` (advanced).
std::vector<Sample> to_samples(NodeId node, UnixSeconds second,
                               const std::vector<CardReading>& readings,
                               std::vector<EnergyCounter>& energy, std::uint64_t& next_seq);

// A batch as the server receives it: JSON text, and its signature (hex).
std::string batch_json(const std::vector<Sample>& samples);

// A node's signing key, derived from the server's secret: nothing per node to
// store or lose, and a new secret rotates every key.
std::string node_key(std::string_view server_secret, NodeId node);

// Limits a batch must keep: anything outside is refused, not clamped.
inline constexpr std::size_t kMaxBatchSamples = 4'096;
inline constexpr std::uint32_t kMaxPowerMw = 3'000'000;  // 3 kW: no card draws more
inline constexpr std::uint64_t kMaxEnergyMjPerSecond = 3'000'000;
inline constexpr std::uint32_t kMaxTemperatureC = 150;
inline constexpr std::uint64_t kMaxMemoryBytes = std::uint64_t{1} << 40;  // 1 TiB

// Why a batch was refused: which sample (or -1 for the batch) and field.
struct BatchProblem {
  std::int64_t sample = -1;
  std::string field;
  std::string message;
};
// Reads a batch written by batch_json: every field present, of its type and in
// range, 1..kMaxBatchSamples samples, one node, sequences strictly increasing.
std::variant<std::vector<Sample>, BatchProblem> parse_batch(std::string_view json);
std::string sign(std::string_view key, std::string_view payload);
bool verify(std::string_view key, std::string_view payload, std::string_view signature_hex);

// The largest batch text a server takes: kMaxBatchSamples samples of at most
// kMaxSampleBytes (a sample with every field at its widest is ~400 bytes).
inline constexpr std::size_t kMaxSampleBytes = 512;
inline constexpr std::size_t kMaxBatchBytes = kMaxBatchSamples * kMaxSampleBytes + 64;

// How an agent opens /v1/metering/stream: X-Spotgrid-Node, X-Spotgrid-Time
// (unix seconds) and X-Spotgrid-Signature = the HMAC of "spotgrid-stream
// <node> <time>" under the node's key. The key never crosses the wire, and a
// captured upgrade is good for kStreamProofWindow only (each message is
// signed besides).
inline constexpr std::int64_t kStreamProofWindow = 300;
std::string stream_proof_payload(NodeId node, std::int64_t unix_seconds);

}  // namespace spotgrid::metering
