// What a snapshot's restore refuses beyond damaged bytes: a record left without
// the timer it waits for, a timer heap out of order, a clock past the engine's
// range. Each is made by changing one value of a true snapshot, found by its bytes.

#include <gtest/gtest.h>

#include <algorithm>
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

// A running lease waits for its planned end, a deferred order for its start:
// each refused without its timer, as the pending listing is.
TEST_F(Restore, a_lease_or_deferred_order_left_without_its_timer_is_refused) {
  now = kMonday +
        (Seconds{20} * 3'600);  // Monday 20:00: peak in the tou region, off-peak at midnight
  list(node(kA100, kTou, 2), 1, 1'000'000);
  place(spec(kA100, 1, 2'000'000, 3'600));
  const LeaseStarted lease = only<LeaseStarted>();
  OrderSpec later = spec(kA100, 1, 2'000'000, Seconds{2} * 3'600);
  later.strategy = Strategy::kCostFirst;
  later.regions = RegionMask{1} << kTou;
  later.latest_start = now + (Seconds{6} * 3'600);
  const OrderId deferred = place(later);
  const UnixSeconds start_at = only<OrderDeferred>().start_at;

  const std::string snapshot = engine.snapshot();
  ASSERT_TRUE(restore(snapshot).has_value());
  for (const auto& [at, id] :
       {std::pair{lease.planned_end, lease.lease}, std::pair{start_at, deferred}}) {
    const auto timer = positions_of(snapshot, at, id);
    ASSERT_EQ(timer.size(), 1u) << id;
    std::string damaged = snapshot;
    put(damaged, timer[0], at + 1);
    EXPECT_FALSE(restore(damaged).has_value()) << id;
  }
}

// A settlement may reach past a lease's planned end when it comes before the
// tick that ends the lease: a true state, which restores.
TEST_F(Restore, a_lease_settled_past_its_planned_end_before_its_tick_restores) {
  list(node(kA100, kFlat, 1), 1, 1'000'000);
  place(spec(kA100, 1, 2'000'000, 3'600));
  const LeaseStarted lease = only<LeaseStarted>();
  now = lease.planned_end + 5;  // no tick yet: the lease is still running
  const Seconds healthy = now - lease.start;
  ASSERT_FALSE(submit(SettleLease{lease.lease, healthy, healthy * 10'000, now}).rejected);
  EXPECT_TRUE(restore(engine.snapshot()).has_value());
}

// A timer before its record's time (a crafted snapshot's: a command never
// makes one) restores, and is skipped when due: the listing stays open until
// its own end.
TEST_F(Restore, an_early_extra_timer_changes_nothing) {
  const ListingId listing = list(node(kA100, kFlat, 1), 1, 1'000'000);
  const UnixSeconds until = now + (Seconds{7} * 24 * 3'600);
  std::string snapshot = engine.snapshot();
  const auto timer = positions_of(snapshot, until, listing);
  ASSERT_EQ(timer.size(), 1u);
  std::uint64_t count = 0;
  std::memcpy(&count, snapshot.data() + timer[0] - 8, 8);
  ASSERT_EQ(count, 1u);  // the expiry heap: its count, then its one timer

  std::string extra(16, '\0');
  put(extra, 0, now + 10);
  put(extra, 8, static_cast<std::int64_t>(listing));
  snapshot.insert(timer[0], extra);  // on top of the heap, as the earlier
  put(snapshot, timer[0] - 8, 2);
  auto restored = restore(snapshot);
  ASSERT_TRUE(restored.has_value());
  std::vector<Event> out;
  ASSERT_FALSE(restored->submit(Command{now + 10, Tick{}}, out).rejected);
  for (const Event& event : out)
    EXPECT_FALSE(std::holds_alternative<ListingClosed>(event.body));
  ASSERT_FALSE(restored->submit(Command{until, Tick{}}, out).rejected);
  EXPECT_TRUE(std::any_of(out.begin(), out.end(), [](const Event& event) {
    return std::holds_alternative<ListingClosed>(event.body);
  }));
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

// A slab keeps its free slots as a count; a restore must take it from the
// snapshot's records, not from the capacity alone, or a full market would take
// orders past its capacity after a restart.
class RestoreNearlyFull : public EngineTest {
 protected:
  static EngineConfig three_orders() {
    EngineConfig config;
    config.max_orders = 3;
    return config;
  }
  RestoreNearlyFull() : EngineTest(three_orders()) {}
};

TEST_F(RestoreNearlyFull, the_free_slots_are_counted_from_the_records) {
  const OrderSpec resting = spec(kA100, 1, 1'000'000);  // nothing listed: it rests
  place(resting);
  const OrderId cancelled = place(resting);
  place(resting);
  ASSERT_FALSE(submit(CancelOrder{kBuyer, cancelled}).rejected);  // its slot is free again
  auto restored =
      Engine::restore(test_catalog(), test_tariffs(), three_orders(), engine.snapshot());
  ASSERT_TRUE(restored.has_value());
  EXPECT_TRUE(restored->check_invariants().empty());

  std::vector<Event> out;
  EXPECT_FALSE(restored->submit(Command{now, PlaceOrder{resting}}, out).rejected);
  const auto full = restored->submit(Command{now, PlaceOrder{resting}}, out).rejected;
  ASSERT_TRUE(full.has_value());
  EXPECT_EQ(*full, Reject::kCapacityExhausted);
  EXPECT_TRUE(restored->check_invariants().empty());
}

}  // namespace
}  // namespace spotgrid::engine::testing
