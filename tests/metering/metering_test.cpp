// The agent's pieces without a GPU: NVML bound through a stand-in library with
// the same symbols (and refused clearly when missing), the simulated node,
// energy counters across resets, samples' health, and batch signatures.
#include <gtest/gtest.h>

#include "spotgrid/metering/card_source.hpp"
#include "spotgrid/metering/sample.hpp"

namespace spotgrid::metering {
namespace {

TEST(Nvml, AMissingLibraryIsReportedClearly) {
  std::string problem;
  EXPECT_EQ(open_nvml(problem, "libnvidia-ml-that-is-not-here.so.1"), nullptr);
  EXPECT_NE(problem.find("cannot load libnvidia-ml-that-is-not-here.so.1"), std::string::npos)
      << problem;
}

TEST(Nvml, ALibraryWithoutTheVersionedSymbolsIsRefused) {
  std::string problem;
  EXPECT_EQ(open_nvml(problem, "libm.so.6"), nullptr);
  EXPECT_NE(problem.find("has no nvmlInit_v2"), std::string::npos) << problem;
}

TEST(Nvml, ReadsEveryCardThroughTheVersionedSymbols) {
  std::string problem;
  auto nvml = open_nvml(problem, FAKE_NVML_LIBRARY);
  ASSERT_NE(nvml, nullptr) << problem;
  EXPECT_EQ(nvml->name(), "nvml");
  const auto readings = nvml->read();
  ASSERT_EQ(readings.size(), 2u);
  EXPECT_EQ(readings[0].uuid, "GPU-fake-0");
  EXPECT_EQ(readings[0].utilization_pct, 75u);
  EXPECT_EQ(readings[0].power_mw, 250'000u);
  EXPECT_EQ(readings[0].temperature_c, 61u);
  EXPECT_EQ(readings[0].memory_used_bytes, 20ULL << 30);
  EXPECT_TRUE(readings[0].error.empty()) << readings[0].error;  // ECC unsupported is no error
  ASSERT_EQ(readings[0].xids.size(), 1u);
  EXPECT_EQ(readings[0].xids[0], 79u);
  // The lost card is reported, named, with what failed.
  EXPECT_FALSE(readings[1].present);
  EXPECT_EQ(readings[1].uuid, "GPU-fake-1");
  EXPECT_NE(readings[1].error.find("nvmlDeviceGetUtilizationRates: GPU is lost"), std::string::npos)
      << readings[1].error;

  std::vector<EnergyCounter> energy;
  std::uint64_t seq = 100;
  const auto first = to_samples(7, 1'000, readings, energy, seq);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_FALSE(first[0].healthy);  // XID 79: fallen off the bus
  EXPECT_FALSE(first[1].healthy);
  EXPECT_EQ(first[0].seq, 100u);
  EXPECT_EQ(first[1].seq, 101u);
  const auto second = to_samples(7, 1'001, nvml->read(), energy, seq);
  EXPECT_TRUE(second[0].healthy);            // the XID was reported once
  EXPECT_EQ(second[0].energy_mj, 250'000u);  // one second's worth, from the counter
  EXPECT_EQ(seq, 104u);
}

TEST(Simulated, IsDeterministicPerSeedAndTakesScriptedFaults) {
  SimulatedSource a(42, 8);
  SimulatedSource b(42, 8);
  for (int second = 0; second < 20; ++second) {
    const auto ra = a.read();
    const auto rb = b.read();
    ASSERT_EQ(ra.size(), 8u);
    for (std::size_t i = 0; i < ra.size(); ++i) {
      EXPECT_EQ(ra[i].utilization_pct, rb[i].utilization_pct);
      EXPECT_LE(ra[i].utilization_pct, 100u);
    }
  }
  SimulatedSource node(7, 4, "n7");
  node.set_load(0, 100);
  node.inject_xid(1, 48);
  node.drop_card(2);
  node.fail_reads(3, true);
  std::vector<EnergyCounter> energy;
  std::uint64_t seq = 1;
  const auto samples = to_samples(3, 50, node.read(), energy, seq);
  ASSERT_EQ(samples.size(), 3u);  // the dropped card cannot be named
  EXPECT_TRUE(samples[0].healthy);
  EXPECT_EQ(samples[0].utilization_pct, 100u);
  EXPECT_EQ(samples[0].power_mw, 700'000u);
  EXPECT_FALSE(samples[1].healthy);  // XID 48: double-bit ECC
  EXPECT_FALSE(samples[2].healthy);  // card 3: read failed
  EXPECT_EQ(samples[2].card_uuid.substr(0, 7), "GPU-n7-");
  node.inject_xid(1, 13);  // a graphics engine exception: the application's, not the card's
  node.restore_card(2);
  node.fail_reads(3, false);
  const auto later = to_samples(3, 51, node.read(), energy, seq);
  ASSERT_EQ(later.size(), 4u);
  for (const Sample& sample : later)
    EXPECT_TRUE(sample.healthy) << sample.card_uuid;
}

TEST(Energy, CountsPerSecondAcrossCounterResets) {
  EnergyCounter counter;
  EXPECT_EQ(counter.delta(1'000'000), 0u);  // the first reading is the baseline
  EXPECT_EQ(counter.delta(1'400'000), 400'000u);
  EXPECT_EQ(counter.delta(300'000), 300'000u);  // reset: what accumulated since
  EXPECT_EQ(counter.delta(700'000), 400'000u);
  SimulatedSource node(1, 1);
  node.set_load(0, 50);
  std::vector<EnergyCounter> energy;
  std::uint64_t seq = 1;
  to_samples(1, 1, node.read(), energy, seq);
  EXPECT_EQ(to_samples(1, 2, node.read(), energy, seq)[0].energy_mj, 380'000u);
  node.reset_energy(0);
  const auto after = to_samples(1, 3, node.read(), energy, seq);
  EXPECT_EQ(after[0].energy_mj, 380'000u);  // 60 W idle + 50 x 6.4 W, for one second
}

TEST(Signing, MatchesRfc4231AndRejectsTampering) {
  // RFC 4231 test case 2.
  EXPECT_EQ(sign("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  SimulatedSource node(3, 2);
  std::vector<EnergyCounter> energy;
  std::uint64_t seq = 1;
  const std::string batch = batch_json(to_samples(9, 10, node.read(), energy, seq));
  const std::string signature = sign("node-9-key", batch);
  EXPECT_TRUE(verify("node-9-key", batch, signature));
  EXPECT_FALSE(verify("node-8-key", batch, signature));
  std::string tampered = batch;
  tampered[tampered.find("\"seq\":1") + 6] = '2';
  EXPECT_FALSE(verify("node-9-key", tampered, signature));
  EXPECT_FALSE(verify("node-9-key", batch, signature.substr(1)));
}

}  // namespace
}  // namespace spotgrid::metering
