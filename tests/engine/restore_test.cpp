// What a snapshot's restore refuses beyond damaged bytes: a record left without
// the timer it waits for, a timer heap out of order, a clock past the engine's
// range. Each is made by changing one value of a true snapshot, found by its bytes.

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "engine_fixture.hpp"
#include "spotgrid/engine/limits.hpp"

namespace spotgrid::engine::testing {
namespace {

// Where a little-endian 64-bit value followed by another occurs in `bytes`.
std::vector<std::size_t> positions_of(const std::string& bytes, std::int64_t first,
                                      std::uint64_t second = 0, bool pair = true) {
  char pattern[16];
  std::memcpy(pattern, &first, 8);
  std::memcpy(pattern + 8, &second, 8);
  const std::string_view wanted(pattern, pair ? 16 : 8);
  std::vector<std::size_t> found;
  for (std::size_t at = bytes.find(wanted); at != std::string::npos;
       at = bytes.find(wanted, at + 1))
    found.push_back(at);
  return found;
}

void put(std::string& bytes, std::size_t at, std::int64_t value) {
  std::memcpy(bytes.data() + at, &value, 8);
}

class Restore : public EngineTest {
 protected:
  std::optional<Engine> restore(const std::string& snapshot) const {
    return Engine::restore(test_catalog(), test_tariffs(), EngineConfig{}, snapshot);
  }
  // A listing that opens `from_now` seconds from now: until then its start
  // timer waits in the pending heap as (from, id).
  std::pair<ListingId, UnixSeconds> pending_listing(NodeId node_id, Seconds from_now) {
    const UnixSeconds from = now + from_now;
    const SubmitResult result =
        submit(AddListing{kSupplier, node_id, 1, 1'000'000, false, from, from + 3'600});
    EXPECT_FALSE(result.rejected);
    return {only<ListingAdded>().listing, from};
  }
};

TEST_F(Restore, a_listing_left_without_its_start_timer_is_refused) {
  const auto [listing, from] = pending_listing(node(kA100, kFlat, 2), 4'321);
  std::string snapshot = engine.snapshot();
  ASSERT_TRUE(restore(snapshot).has_value());
  const auto timer = positions_of(snapshot, from, listing);
  ASSERT_EQ(timer.size(), 1u);  // the record holds (from, until), not (from, id)

  put(snapshot, timer[0], from + 1);  // the heap still a heap, but not its timer
  EXPECT_FALSE(restore(snapshot).has_value());
}

TEST_F(Restore, a_timer_heap_out_of_order_is_refused) {
  const NodeId n = node(kA100, kFlat, 2);
  const auto [early, early_from] = pending_listing(n, 1'000);
  const auto [late, late_from] = pending_listing(n, 2'000);
  std::string snapshot = engine.snapshot();
  const auto first = positions_of(snapshot, early_from, early);
  const auto second = positions_of(snapshot, late_from, late);
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(second.size(), 1u);
  ASSERT_EQ(second[0], first[0] + 16);  // the heap's two entries, earliest on top

  // The same timers, the later on top: every record still has its own.
  put(snapshot, first[0], late_from);
  put(snapshot, first[0] + 8, static_cast<std::int64_t>(late));
  put(snapshot, second[0], early_from);
  put(snapshot, second[0] + 8, static_cast<std::int64_t>(early));
  EXPECT_FALSE(restore(snapshot).has_value());
}

TEST_F(Restore, a_clock_past_the_engines_range_is_refused) {
  advance(12'345);  // a time no record holds: the clock's field is the only one
  std::string snapshot = engine.snapshot();
  const auto clock = positions_of(snapshot, now, 0, /*pair=*/false);
  ASSERT_EQ(clock.size(), 1u);

  put(snapshot, clock[0], limits::kLatestTime);
  auto last = restore(snapshot);
  ASSERT_TRUE(last.has_value());
  std::vector<Event> out;
  EXPECT_FALSE(last->submit(Command{limits::kLatestTime, Tick{}}, out).rejected);

  put(snapshot, clock[0], limits::kLatestTime + 1);
  EXPECT_FALSE(restore(snapshot).has_value());
}

}  // namespace
}  // namespace spotgrid::engine::testing
