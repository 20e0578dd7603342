// The engine's memory: large arrays on huge pages (util/huge_pages.hpp) and a
// warm engine that matches without touching the heap (engine/level_arena.hpp).
// A binary of its own: it replaces the global operator new to count calls.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <vector>

#include "engine_fixture.hpp"
#include "spotgrid/util/huge_pages.hpp"

namespace {

// Calls of operator new while `counting` is set (this test's thread only).
thread_local bool counting = false;
thread_local std::size_t allocations = 0;

}  // namespace

// GCC takes the free() in a replaced operator delete for a mismatch; it is the
// pair of the malloc() in the replaced operator new.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t bytes) {
  if (counting) ++allocations;
  if (void* data = std::malloc(bytes == 0 ? 1 : bytes)) return data;
  throw std::bad_alloc();
}
void operator delete(void* data) noexcept {
  std::free(data);
}
void operator delete(void* data, std::size_t /*bytes*/) noexcept {
  std::free(data);
}
// The aligned forms too: std::pmr's new_delete_resource calls these.
void* operator new(std::size_t bytes, std::align_val_t alignment) {
  if (counting) ++allocations;
  const auto align = static_cast<std::size_t>(alignment);
  const std::size_t rounded = (std::max<std::size_t>(bytes, 1) + align - 1) / align * align;
  if (void* data = std::aligned_alloc(align, rounded)) return data;
  throw std::bad_alloc();
}
void operator delete(void* data, std::align_val_t /*alignment*/) noexcept {
  std::free(data);
}
void operator delete(void* data, std::size_t /*bytes*/, std::align_val_t /*alignment*/) noexcept {
  std::free(data);
}
#pragma GCC diagnostic pop

namespace spotgrid::engine::testing {
namespace {

using util::kHugePageBytes;

bool on_huge_page_boundary(const void* data) {
  return reinterpret_cast<std::uintptr_t>(data) % kHugePageBytes == 0;
}

TEST(HugePages, MappedMemoryIsAlignedAndWholeHugePages) {
  const std::size_t bytes = 3 * (std::size_t{1} << 20) + 1;  // rounds up to 4 MiB
  auto* data = static_cast<unsigned char*>(util::map_huge_pages(bytes));
  EXPECT_TRUE(on_huge_page_boundary(data));
  data[0] = 1;
  data[2 * kHugePageBytes - 1] = 2;  // the rounded-up end is mapped too
  EXPECT_EQ(data[0] + data[2 * kHugePageBytes - 1], 3);
  util::unmap_huge_pages(data, bytes);
}

TEST(HugePages, LargeVectorsStartOnAHugePage) {
  util::HugeVector<std::uint64_t> large(kHugePageBytes / sizeof(std::uint64_t) + 1);
  util::HugeVector<std::uint64_t> small(16);
  large.back() = 7;
  small.back() = 8;
  if (!util::kAddressSanitizer) {
    EXPECT_TRUE(on_huge_page_boundary(large.data()));
  }
  EXPECT_EQ(large.back() + small.back(), 15u);
  util::HugeVector<std::uint64_t> copy = large;  // another mapping, same contents
  EXPECT_NE(copy.data(), large.data());
  EXPECT_EQ(copy.back(), 7u);
}

TEST(HugePages, ReserveResidentKeepsSizeAndElements) {
  util::HugeVector<std::uint32_t> values{1, 2, 3};
  util::reserve_resident(values, 1u << 20);
  EXPECT_EQ(values.size(), 3u);
  EXPECT_GE(values.capacity(), 1u << 20);
  EXPECT_EQ(values[0] + values[1] + values[2], 6u);
  const std::uint32_t* data = values.data();
  util::reserve_resident(values, 16);  // already larger: nothing moves
  EXPECT_EQ(values.data(), data);
}

class WarmEngine : public EngineTest {
 protected:
  // One command, its heap allocations counted.
  SubmitResult counted(CommandBody body) {
    events.clear();
    counting = true;
    const SubmitResult result = engine.submit(Command{now, std::move(body)}, events);
    counting = false;
    return result;
  }
};

// Listings at ever new prices and orders at ever new limits open new price
// levels on both sides, and crossing orders start leases: none of it calls
// operator new once the engine's own buffers are warm (the level maps' nodes
// come from the engine's arena, the records from its slabs).
TEST_F(WarmEngine, MatchesAndOpensPriceLevelsWithoutTheHeap) {
  if (util::kAddressSanitizer)
    GTEST_SKIP() << "under ASan the arena takes every node from the heap";
  events.reserve(1'024);
  std::vector<NodeId> nodes;
  nodes.reserve(512);
  for (int i = 0; i < 512; ++i)  // 4 096 cards: one for every listing below
    nodes.push_back(node(kA100, static_cast<RegionIndex>(i % 2), 8));
  constexpr int kRounds = 4'000;
  constexpr int kWarm = 200;
  std::size_t refused = 0;
  for (int round = 0; round < kRounds; ++round) {
    if (round == kWarm) allocations = 0;
    const auto step = static_cast<Micros>(round);
    const NodeId on = nodes[static_cast<std::size_t>(round) % nodes.size()];
    // An ask at a new price, above every bid; a bid at a new limit, below every ask.
    refused += counted(AddListing{kSupplier, on, 1, 10 * kUsd + step, false, now, now + 86'400})
                   .rejected.has_value();
    refused += counted(PlaceOrder{spec(kA100, 1, kUsd - step)}).rejected.has_value();
    // Every fourth round an order that takes the cheapest ask: a lease starts.
    if (round % 4 == 0) {
      refused += counted(PlaceOrder{spec(kA100, 1, 20 * kUsd)}).rejected.has_value();
    }
    if (round % 100 == 0) {
      now += 1;
      refused += counted(Tick{}).rejected.has_value();
    }
  }
  EXPECT_EQ(refused, 0u);
  EXPECT_EQ(allocations, 0u);
  // It did open levels on both sides: 4 000 asks (1 000 of them taken since) and
  // 4 000 bids, each at a price of its own.
  const BookView book = engine.book(kA100, 10'000);
  EXPECT_GE(book.asks.size(), 2'900u);
  EXPECT_GE(book.bids.size(), 3'900u);
  expect_sound();
}

}  // namespace
}  // namespace spotgrid::engine::testing
