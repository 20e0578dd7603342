#pragma once
// Where the books' price levels live: map nodes from a pool over memory reserved
// when the engine is built (on huge pages where the kernel gives them), so adding
// a level on the hot path neither calls malloc nor touches a fresh 4 KiB page.
// Measured (README, "Huge pages"): the level maps were the engine's only allocations
// while it matched (~0.56 a command in add_only), their nodes spread over the heap's
// 4 KiB pages; with the slabs on huge pages too, add_only's p99.9 went from ~6.5 µs
// to ~1.5 µs.

#include <algorithm>
#include <array>
#include <cstddef>
#include <memory_resource>
#include <new>

#include "spotgrid/util/huge_pages.hpp"

namespace spotgrid::engine {

// A memory resource for node-sized blocks (up to 256 bytes): one free list per
// 16-byte size class, refilled from a monotonic buffer over the reserved memory
// (then from the heap, should the buffer run out). Freeing pushes a block on its
// list; the lists keep what they hold until the arena dies, so the arena's size
// is the most nodes ever live at once. std::pmr::unsynchronized_pool_resource did
// the same in ~150 instructions a call (README, "Huge pages"); this takes a few.
// Larger blocks, and under AddressSanitizer every block, come from the heap, so
// that ASan still sees a level map's node used after it was freed.
class LevelArena final : public std::pmr::memory_resource {
 public:
  // Room reserved per record slot (listing or order) that could open a level:
  // a third of them at once, in ~96-byte nodes, before the arena takes more
  // from the heap (it keeps working; it only loses the above).
  static constexpr std::size_t kBytesPerSlot = 32;
  static constexpr std::size_t kMaxBytes = std::size_t{64} << 20;

  explicit LevelArena(std::size_t slots)
      : buffer_(util::kAddressSanitizer ? 0 : std::min(slots * kBytesPerSlot, kMaxBytes)),
        upstream_(buffer_.data(), buffer_.size(), std::pmr::new_delete_resource()) {}
  // A copy of the state (a snapshot's) keeps none of this: the maps copied with
  // it take their nodes from the heap (polymorphic_allocator's copy rule).
  LevelArena(const LevelArena& /*other*/) : LevelArena(0) {}
  LevelArena& operator=(const LevelArena&) = delete;
  ~LevelArena() override = default;

  std::pmr::memory_resource* resource() { return this; }

 private:
  static constexpr std::size_t kGrain = 16;
  static constexpr std::size_t kLargestPooled = 256;
  struct FreeBlock {
    FreeBlock* next;
  };

  static bool pooled(std::size_t bytes, std::size_t alignment) {
    return !util::kAddressSanitizer && bytes <= kLargestPooled && alignment <= kGrain;
  }
  // 1 for 0 bytes too: every block can hold a FreeBlock once freed.
  static std::size_t size_class(std::size_t bytes) {
    return (std::max<std::size_t>(bytes, 1) + kGrain - 1) / kGrain;
  }
  static std::pmr::memory_resource* heap() { return std::pmr::new_delete_resource(); }

  void* do_allocate(std::size_t bytes, std::size_t alignment) override {
    if (!pooled(bytes, alignment)) return heap()->allocate(bytes, alignment);
    FreeBlock*& head = free_[size_class(bytes)];
    if (head == nullptr) return upstream_.allocate(size_class(bytes) * kGrain, kGrain);
    FreeBlock* block = head;
    head = block->next;
    return block;
  }
  void do_deallocate(void* data, std::size_t bytes, std::size_t alignment) override {
    if (!pooled(bytes, alignment)) return heap()->deallocate(data, bytes, alignment);
    FreeBlock*& head = free_[size_class(bytes)];
    head = ::new (data) FreeBlock{head};
  }
  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override {
    return this == &other;
  }

  util::HugeVector<std::byte> buffer_;  // zeroed when made (so touched); upstream_ hands it out
  std::pmr::monotonic_buffer_resource upstream_;
  std::array<FreeBlock*, kLargestPooled / kGrain + 1> free_{};
};

}  // namespace spotgrid::engine
