// The load generator's open-loop schedule: a request counts as late only
// from its own due time, so the schedule must release each one on time.
#include <gtest/gtest.h>

#include <chrono>

#include "load_generator.hpp"

namespace spotgrid::loadtest {
namespace {

using Seconds = std::chrono::duration<double>;

TEST(LoadSchedule, EachRequestFallsDueAtItsOwnTime) {
  // 50 requests/s over 2 s: request k at k * 20 ms.
  EXPECT_EQ(requests_due(Seconds(-0.001), 50, Seconds(2)), 0u);
  EXPECT_EQ(requests_due(Seconds(0), 50, Seconds(2)), 1u);  // the first, at the start
  EXPECT_EQ(requests_due(Seconds(0.019), 50, Seconds(2)), 1u);
  EXPECT_EQ(requests_due(Seconds(0.0201), 50, Seconds(2)), 2u);
  EXPECT_EQ(requests_due(Seconds(1.0001), 50, Seconds(2)), 51u);
}

TEST(LoadSchedule, NoneFallsDueAtOrAfterTheEnd) {
  EXPECT_EQ(requests_due(Seconds(1.999), 50, Seconds(2)), 100u);
  EXPECT_EQ(requests_due(Seconds(2), 50, Seconds(2)), 100u);
  EXPECT_EQ(requests_due(Seconds(30), 50, Seconds(2)), 100u);
  // A rate that does not divide the run: 0, 0.3, 0.6, 0.9 s within 1 s.
  EXPECT_EQ(requests_due(Seconds(5), 1 / 0.3, Seconds(1)), 4u);
  EXPECT_EQ(requests_due(Seconds(1e30), 1e9, Seconds(2)), 2'000'000'000u);  // no overflow
  EXPECT_EQ(requests_due(Seconds(1), 50, Seconds(0)), 0u);
}

}  // namespace
}  // namespace spotgrid::loadtest
