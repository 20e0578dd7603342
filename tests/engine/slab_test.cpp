// The engine's record storage (engine/slab.hpp): records built in their slot,
// ids that stop resolving when a slot is reused, and the check a snapshot's
// restore applies to the raw arrays.

#include <gtest/gtest.h>

#include <cstdint>

#include "slab.hpp"

namespace spotgrid::engine {
namespace {

struct Record {
  std::uint64_t value = 0;
  std::uint32_t next = kNil;  // a default that is not zero, as the engine's links
};

TEST(Slab, a_reused_slot_holds_only_the_new_record_under_a_new_id) {
  Slab<Record> slab;
  slab.set_capacity(2);
  const std::uint32_t first = slab.allocate([] { return Record{.value = 7, .next = 1}; });
  const std::uint64_t first_id = slab.id_of(first);
  slab.release(first);
  EXPECT_FALSE(slab.slot_of(first_id).has_value());

  const std::uint32_t again = slab.allocate([] { return Record{.value = 9}; });
  EXPECT_EQ(again, first);  // LIFO reuse
  EXPECT_EQ(slab[again].value, 9u);
  EXPECT_EQ(slab[again].next, kNil);  // the default, not the released record's link
  EXPECT_NE(slab.id_of(again), first_id);
  EXPECT_EQ(&slab.known_live(slab.id_of(again)), &slab[again]);
  EXPECT_FALSE(slab.slot_of(first_id).has_value());
  EXPECT_TRUE(slab.consistent());
}

TEST(Slab, arrays_that_describe_no_slab_are_refused) {
  const auto fresh = [] {
    Slab<Record> slab;
    slab.set_capacity(4);
    for (int i = 0; i < 3; ++i)
      slab.allocate([] { return Record{}; });
    slab.release(1);
    return slab;
  };
  EXPECT_TRUE(fresh().consistent());

  Slab<Record> past_the_records = fresh();
  past_the_records.free_list().back() = 3;  // allocate() would write past the records
  EXPECT_FALSE(past_the_records.consistent());

  Slab<Record> over_a_live_one = fresh();
  over_a_live_one.free_list().back() = 0;  // allocate() would overwrite slot 0
  EXPECT_FALSE(over_a_live_one.consistent());

  Slab<Record> twice = fresh();
  twice.live()[2] = 0;
  twice.free_list().push_back(1);  // slot 1 listed twice, slot 2 not at all
  EXPECT_FALSE(twice.consistent());

  Slab<Record> unlisted = fresh();
  unlisted.live()[2] = 0;  // released, but not in the free list
  EXPECT_FALSE(unlisted.consistent());

  Slab<Record> odd_flag = fresh();
  odd_flag.live()[0] = 2;
  EXPECT_FALSE(odd_flag.consistent());

  Slab<Record> short_generations = fresh();
  short_generations.generations().pop_back();
  EXPECT_FALSE(short_generations.consistent());
}

// The free count is kept, not counted: it must follow every take and give-back,
// and a restore must count it from the arrays it was given.
TEST(Slab, the_free_count_follows_allocations_and_a_restore) {
  Slab<Record> slab;
  slab.set_capacity(4);
  EXPECT_EQ(slab.free_slots(), 4u);
  const std::uint32_t first = slab.allocate([] { return Record{}; });
  slab.allocate([] { return Record{}; });
  EXPECT_EQ(slab.free_slots(), 2u);
  slab.release(first);
  EXPECT_EQ(slab.free_slots(), 3u);
  EXPECT_EQ(slab.live_count(), 1u);
  EXPECT_TRUE(slab.count_agrees());

  Slab<Record> restored;
  restored.set_capacity(4);
  restored.items() = slab.items();
  restored.generations() = slab.generations();
  restored.live() = slab.live();
  restored.free_list() = slab.free_list();
  EXPECT_FALSE(restored.count_agrees());  // filled, not yet counted
  ASSERT_TRUE(restored.finish_restore());
  EXPECT_TRUE(restored.count_agrees());
  EXPECT_EQ(restored.free_slots(), 3u);
  EXPECT_EQ(restored.allocate([] { return Record{}; }), first);  // the released slot first

  Slab<Record> refused = restored;
  refused.live()[1] = 2;
  EXPECT_FALSE(refused.finish_restore());
}

}  // namespace
}  // namespace spotgrid::engine
