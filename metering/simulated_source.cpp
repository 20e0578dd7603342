#include <algorithm>
#include <cstdio>
#include <utility>

#include "spotgrid/metering/card_source.hpp"

namespace spotgrid::metering {

namespace {
constexpr std::uint64_t kMemoryTotalBytes = 80ULL << 30;
constexpr std::uint32_t kIdlePowerMw = 60'000;
constexpr std::uint32_t kPowerPerPercentMw = 6'400;  // 700 W at 100 %
}  // namespace

SimulatedSource::SimulatedSource(std::uint64_t seed, std::uint32_t cards,
                                 const std::string& node_name)
    : state_(seed * 0x9E3779B97F4A7C15ULL + 1) {
  for (std::uint32_t i = 0; i < cards; ++i) {
    Card card;
    char uuid[64];
    std::snprintf(uuid, sizeof uuid, "GPU-%s-%08llx-%04u", node_name.c_str(),
                  static_cast<unsigned long long>(seed & 0xffffffffULL), i);
    card.uuid = uuid;
    cards_.push_back(std::move(card));
  }
}

// xorshift64*: deterministic per seed.
std::uint64_t SimulatedSource::next_random() {
  state_ ^= state_ >> 12;
  state_ ^= state_ << 25;
  state_ ^= state_ >> 27;
  return state_ * 0x2545F4914F6CDD1DULL;
}

std::vector<CardReading> SimulatedSource::read() {
  std::vector<CardReading> readings;
  for (std::uint32_t i = 0; i < cards_.size(); ++i) {
    Card& card = cards_[i];
    CardReading reading;
    reading.index = i;
    if (!card.present) {
      reading.present = false;
      reading.error = "GPU is lost";
      readings.push_back(std::move(reading));
      continue;
    }
    if (card.scripted_load >= 0) {
      card.load = static_cast<std::uint32_t>(card.scripted_load);
    } else {
      const auto step = static_cast<std::int64_t>(next_random() % 21) - 10;  // ±10 points
      card.load = static_cast<std::uint32_t>(
          std::clamp<std::int64_t>(static_cast<std::int64_t>(card.load) + step, 0, 100));
    }
    const std::uint32_t power = kIdlePowerMw + card.load * kPowerPerPercentMw;
    card.energy_mj += power;  // one second at this power
    reading.uuid = card.uuid;
    if (card.failing) {
      reading.error = "nvmlDeviceGetUtilizationRates: Unknown Error";
      readings.push_back(std::move(reading));
      continue;
    }
    reading.utilization_pct = card.load;
    reading.memory_total_bytes = kMemoryTotalBytes;
    reading.memory_used_bytes = kMemoryTotalBytes / 100 * card.load;
    reading.power_mw = power;
    reading.energy_mj = card.energy_mj;
    reading.temperature_c = 35 + card.load / 2;
    reading.ecc_uncorrected = card.ecc;
    reading.xids = std::exchange(card.pending_xids, {});
    readings.push_back(std::move(reading));
  }
  return readings;
}

void SimulatedSource::set_load(std::uint32_t card, std::uint32_t utilization_pct) {
  cards_.at(card).scripted_load = static_cast<std::int32_t>(std::min(utilization_pct, 100u));
}

void SimulatedSource::inject_xid(std::uint32_t card, std::uint64_t xid) {
  cards_.at(card).pending_xids.push_back(xid);
}

void SimulatedSource::drop_card(std::uint32_t card) {
  cards_.at(card).present = false;
}

void SimulatedSource::restore_card(std::uint32_t card) {
  cards_.at(card).present = true;
}

void SimulatedSource::fail_reads(std::uint32_t card, bool failing) {
  cards_.at(card).failing = failing;
}

void SimulatedSource::reset_energy(std::uint32_t card) {
  cards_.at(card).energy_mj = 0;
}

}  // namespace spotgrid::metering
