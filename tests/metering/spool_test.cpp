// The agent's spool: durable appends, order, acknowledgement and compaction,
// the bound, a line cut short by a crash, and SIGKILL in the middle of appends.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "spotgrid/metering/spool.hpp"

namespace spotgrid::metering {
namespace {

class SpoolTest : public ::testing::Test {
 protected:
  SpoolTest() {
    std::string pattern = "/tmp/spotgrid-spool.XXXXXX";
    dir_ = mkdtemp(pattern.data());
  }
  ~SpoolTest() override { std::filesystem::remove_all(dir_); }

  static SpooledBatch batch(std::uint64_t first, std::uint64_t last) {
    return {first, last, R"({"samples":[],"from":)" + std::to_string(first) + "}"};
  }

  std::string dir_;
};

TEST_F(SpoolTest, KeepsBatchesInOrderAcrossReopening) {
  {
    Spool spool(dir_, 1 << 20);
    for (std::uint64_t i = 0; i < 10; ++i)
      ASSERT_TRUE(spool.append(batch(i * 8 + 1, i * 8 + 8)));
  }
  Spool reopened(dir_, 1 << 20);
  const auto pending = reopened.pending(100);
  ASSERT_EQ(pending.size(), 10u);
  for (std::size_t i = 0; i < pending.size(); ++i) {
    EXPECT_EQ(pending[i].first_seq, i * 8 + 1);
    EXPECT_EQ(pending[i].payload, batch(i * 8 + 1, 0).payload);
  }
  EXPECT_EQ(reopened.pending(3).size(), 3u);
}

TEST_F(SpoolTest, AcknowledgedBatchesGoAndTheRestSurvivesCompaction) {
  {
    Spool spool(dir_, 1 << 20);
    for (std::uint64_t i = 0; i < 10; ++i)
      ASSERT_TRUE(spool.append(batch(i * 8 + 1, i * 8 + 8)));
    const auto before = spool.bytes();
    spool.acknowledge(48);  // six of ten: compacts
    EXPECT_LT(spool.bytes(), before);
    ASSERT_EQ(spool.pending(100).size(), 4u);
    EXPECT_EQ(spool.pending(100)[0].first_seq, 49u);
    EXPECT_TRUE(spool.append(batch(81, 88)));
  }
  Spool reopened(dir_, 1 << 20);
  EXPECT_EQ(reopened.acknowledged(), 48u);
  const auto pending = reopened.pending(100);
  ASSERT_EQ(pending.size(), 5u);
  EXPECT_EQ(pending.front().first_seq, 49u);
  EXPECT_EQ(pending.back().first_seq, 81u);
}

TEST_F(SpoolTest, AFullSpoolRefusesNewBatchesAndKeepsTheOld) {
  Spool spool(dir_, 200);
  int taken = 0;
  while (spool.append(batch(taken * 8 + 1, taken * 8 + 8)) && taken < 100)
    ++taken;
  EXPECT_GT(taken, 0);
  EXPECT_LT(taken, 10);
  EXPECT_LE(spool.bytes(), 200u);
  EXPECT_EQ(spool.pending(100).size(), static_cast<std::size_t>(taken));
  spool.acknowledge(static_cast<std::uint64_t>(taken) * 8);
  EXPECT_TRUE(spool.append(batch(1'000, 1'007)));  // room again
}

TEST_F(SpoolTest, ALineCutShortByACrashIsDropped) {
  {
    Spool spool(dir_, 1 << 20);
    ASSERT_TRUE(spool.append(batch(1, 8)));
    ASSERT_TRUE(spool.append(batch(9, 16)));
  }
  {
    std::ofstream log(dir_ + "/spool.log", std::ios::app);
    log << "17 24 {\"samples\":[";  // no newline: the write was cut
  }
  Spool reopened(dir_, 1 << 20);
  EXPECT_EQ(reopened.pending(100).size(), 2u);
  ASSERT_TRUE(reopened.append(batch(17, 24)));
  Spool again(dir_, 1 << 20);
  ASSERT_EQ(again.pending(100).size(), 3u);
  EXPECT_EQ(again.pending(100)[2].payload, batch(17, 0).payload);
}

TEST_F(SpoolTest, ADamagedRecordInTheMiddleIsRefusedNotDropped) {
  {
    Spool spool(dir_, 1 << 20);
    ASSERT_TRUE(spool.append(batch(1, 8)));
  }
  {
    std::ofstream log(dir_ + "/spool.log", std::ios::app);
    log << "garbage\n";
  }
  // A directory that cannot be made (its parent is a file) is refused by name.
  try {
    Spool impossible(dir_ + "/spool.log/spool", 1 << 20);
    FAIL() << "opened a spool under a file";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("spool.log/spool"), std::string::npos) << e.what();
  }
  Spool created(dir_ + "/new/nested", 1 << 20);  // a missing directory is made
  EXPECT_TRUE(created.pending(10).empty());
  try {
    Spool damaged(dir_, 1 << 20);
    FAIL() << "opened a damaged spool";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("damaged record at byte"), std::string::npos) << e.what();
  }
}

// A child appends as fast as it can and reports each append that returned;
// it is SIGKILLed mid-stream. Everything it reported is in the spool, in order.
TEST_F(SpoolTest, NothingAppendedIsLostToSigkill) {
  int reports[2];
  ASSERT_EQ(pipe(reports), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(reports[0]);
    Spool spool(dir_, 64 << 20);
    for (std::uint64_t i = 0;; ++i) {
      if (!spool.append(batch(i * 8 + 1, i * 8 + 8))) _exit(3);
      const std::uint64_t done = i * 8 + 8;
      if (write(reports[1], &done, sizeof done) != sizeof done) _exit(4);
    }
  }
  close(reports[1]);
  std::uint64_t last_reported = 0;
  std::uint64_t value = 0;
  while (last_reported < 8 * 200 && read(reports[0], &value, sizeof value) == sizeof value)
    last_reported = value;
  kill(child, SIGKILL);
  while (read(reports[0], &value, sizeof value) == sizeof value)
    last_reported = value;
  close(reports[0]);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));

  Spool reopened(dir_, 64 << 20);
  const auto pending = reopened.pending(1'000'000);
  ASSERT_GE(pending.size(), last_reported / 8);
  for (std::size_t i = 0; i < pending.size(); ++i)
    ASSERT_EQ(pending[i].first_seq, i * 8 + 1) << "a gap at " << i;
}

}  // namespace
}  // namespace spotgrid::metering

#include "spotgrid/metering/agent.hpp"

namespace spotgrid::metering {
namespace {

// The agent spools one signed batch per second, and after a restart carries on
// with the next sequence numbers (the server de-duplicates on them).
TEST_F(SpoolTest, TheAgentSpoolsSignedBatchesAndNeverReusesASequence) {
  const std::string key = "node-5-secret-key";
  {
    Spool spool(dir_, 1 << 20);
    Agent agent(5, key, std::make_unique<SimulatedSource>(9, 4), spool);
    for (UnixSeconds second = 100; second < 103; ++second)
      agent.sample_once(second);
    EXPECT_EQ(agent.stats().samples, 12u);
    EXPECT_EQ(agent.stats().batches, 3u);
  }
  Spool spool(dir_, 1 << 20);
  spool.acknowledge(8);  // the server took the first two batches
  Agent restarted(5, key, std::make_unique<SimulatedSource>(9, 4), spool);
  const SpooledBatch next = restarted.sample_once(103);
  EXPECT_EQ(next.first_seq, 13u);
  EXPECT_EQ(next.last_seq, 16u);
  const auto pending = spool.pending(100);
  ASSERT_EQ(pending.size(), 2u);
  for (const SpooledBatch& batch : pending) {
    const auto space = batch.payload.find(' ');
    ASSERT_NE(space, std::string::npos);
    const std::string signature = batch.payload.substr(0, space);
    const std::string body = batch.payload.substr(space + 1);
    EXPECT_TRUE(verify(key, body, signature));
    EXPECT_FALSE(verify("another-node-key", body, signature));
    EXPECT_NE(body.find(R"("node":5)"), std::string::npos);
  }
}

}  // namespace
}  // namespace spotgrid::metering
