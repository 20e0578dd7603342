#pragma once
// The agent's local spool (docs/architecture.md#metering): signed batches waiting for the server,
// appended and fsync'd before they count as taken, kept across agent restarts,
// handed back in order, and dropped once the server acknowledged them. Bounded:
// when full, a new batch is refused (and counted by the caller) rather than
// letting the disk fill; what is already spooled is never dropped unsent.
//
// On disk: `spool.log`, one batch per line ("<first seq> <last seq> <payload>"),
// and `spool.ack`, the highest acknowledged sequence. A line cut short by a
// crash is dropped at open. The log is compacted when most of it is acknowledged.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace spotgrid::metering {

struct SpooledBatch {
  std::uint64_t first_seq = 0;
  std::uint64_t last_seq = 0;
  std::string payload;  // one line: no newlines
};

class Spool {
 public:
  // Opens (creating) the spool in `directory`; throws std::runtime_error naming
  // the file when it cannot.
  Spool(std::string directory, std::uint64_t max_bytes);
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // Durable when it returns true; false when the spool is full (nothing written).
  bool append(const SpooledBatch& batch);
  // Batches not yet acknowledged, oldest first (at most `max`).
  std::vector<SpooledBatch> pending(std::size_t max) const;
  // The server has everything through `seq`.
  void acknowledge(std::uint64_t seq);
  // Appends a batch the server refused for good to `rejected.log` (with why),
  // fsync'd, before it is acknowledged away.
  void set_aside(const SpooledBatch& batch, const std::string& why);
  std::uint64_t acknowledged() const { return acknowledged_; }
  std::uint64_t bytes() const { return bytes_; }

 private:
  void load();
  void compact();

  std::string directory_;
  std::uint64_t max_bytes_;
  int fd_ = -1;
  std::uint64_t bytes_ = 0;
  std::uint64_t acknowledged_ = 0;
  std::vector<SpooledBatch> batches_;  // in the log, acknowledged or not
};

}  // namespace spotgrid::metering
