#pragma once
// Where the agent reads its cards from (docs/architecture.md#metering): NVML on a GPU node, loaded
// at run time, or a seeded simulation for machines without a GPU and for tests.
// A source never throws from read(): what it cannot read is reported per card.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace spotgrid::metering {

struct CardReading {
  std::uint32_t index = 0;
  std::string uuid;     // "GPU-…"; empty when unreadable
  bool present = true;  // false: the card dropped off the bus
  std::uint32_t utilization_pct = 0;
  std::uint64_t memory_used_bytes = 0;
  std::uint64_t memory_total_bytes = 0;
  std::uint32_t power_mw = 0;
  std::uint64_t energy_mj = 0;  // the card's cumulative counter, as read (may reset)
  std::uint32_t temperature_c = 0;
  std::uint64_t ecc_uncorrected = 0;
  std::vector<std::uint64_t> xids;  // critical XID errors since the last read
  std::string error;                // what could not be read, for the operator
};

class CardSource {
 public:
  virtual ~CardSource() = default;
  virtual std::string_view name() const = 0;
  // Every card, once; call about once a second.
  virtual std::vector<CardReading> read() = 0;
};

// NVML through dlopen("libnvidia-ml.so.1"); nullptr and `problem` set when the
// library or a required symbol is missing or nvmlInit fails.
std::unique_ptr<CardSource> open_nvml(std::string& problem,
                                      const char* library = "libnvidia-ml.so.1");

// A deterministic simulated node: each card's load follows a seeded random
// walk unless scripted; failures are injected on demand.
class SimulatedSource : public CardSource {
 public:
  SimulatedSource(std::uint64_t seed, std::uint32_t cards, const std::string& node_name = "sim");
  std::string_view name() const override { return "simulated"; }
  std::vector<CardReading> read() override;

  void set_load(std::uint32_t card, std::uint32_t utilization_pct);  // fixed from now on
  void inject_xid(std::uint32_t card, std::uint64_t xid);            // reported at the next read
  void drop_card(std::uint32_t card);                                // gone until restored
  void restore_card(std::uint32_t card);
  void fail_reads(std::uint32_t card, bool failing);  // readings come back with an error
  void reset_energy(std::uint32_t card);              // as after a driver reload

 private:
  struct Card {
    std::string uuid;
    std::int32_t scripted_load = -1;
    std::uint32_t load = 30;
    std::uint64_t energy_mj = 0;
    std::uint64_t ecc = 0;
    std::vector<std::uint64_t> pending_xids;
    bool present = true;
    bool failing = false;
  };
  std::uint64_t next_random();

  std::uint64_t state_;
  std::vector<Card> cards_;
};

}  // namespace spotgrid::metering
