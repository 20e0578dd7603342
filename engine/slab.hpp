#pragma once
// Preallocated, bounded storage with stable slots and generation-tagged ids:
// id = generation << 32 | slot. Lookup is O(1) with no hashing; an id whose slot
// was reused no longer resolves. Reuse is LIFO, so allocation is deterministic.

#include <cassert>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <type_traits>
#include <vector>
#include "spotgrid/util/check.hpp"
#include "spotgrid/util/huge_pages.hpp"

namespace spotgrid::engine {

inline constexpr std::uint32_t kNil = UINT32_MAX;

using util::HugeVector;
using util::reserve_resident;

template <typename T>
class Slab {
  // allocate() ends a reused slot's record by building the next over it.
  static_assert(std::is_trivially_destructible_v<T>);

 public:
  // Reserves and touches every slot's memory now, so the hot path never takes a
  // page fault or an allocation for a new record.
  void set_capacity(std::uint32_t capacity) {
    capacity_ = capacity;
    items_.clear();
    generations_.clear();
    live_.clear();
    free_.clear();
    reserve_resident(items_, capacity);
    reserve_resident(generations_, capacity);
    reserve_resident(live_, capacity);
    reserve_resident(free_, capacity);
  }
  std::uint32_t capacity() const { return capacity_; }
  std::uint32_t free_slots() const {
    return capacity_ - slot_count() + static_cast<std::uint32_t>(free_.size());
  }
  std::uint32_t live_count() const {
    return slot_count() - static_cast<std::uint32_t>(free_.size());
  }

  // A free slot, holding the record `make()` returns, built where it is stored:
  // the conversion below is elided, so there is no zeroing first and no copy
  // after. The caller checks free_slots() first: running out is a validated
  // condition.
  template <typename Make>
  std::uint32_t allocate(Make&& make) {
    struct Built {
      Make& make;
      operator T() const { return make(); }  // implicit: the conversion is elided
    };
    SPOTGRID_CHECK(free_slots() > 0);
    if (!free_.empty()) {
      const std::uint32_t slot = free_.back();
      free_.pop_back();
      live_[slot] = 1;
      std::destroy_at(&items_[slot]);
      ::new (static_cast<void*>(&items_[slot])) T(make());
      return slot;
    }
    items_.emplace_back(Built{make});
    generations_.push_back(1);
    live_.push_back(1);
    return static_cast<std::uint32_t>(items_.size() - 1);
  }
  void release(std::uint32_t slot) {
    SPOTGRID_CHECK(live_[slot]);
    live_[slot] = 0;
    ++generations_[slot];
    free_.push_back(slot);
  }

  std::uint64_t id_of(std::uint32_t slot) const {
    return (static_cast<std::uint64_t>(generations_[slot]) << 32) | slot;
  }
  std::optional<std::uint32_t> slot_of(std::uint64_t id) const {
    const auto slot = static_cast<std::uint32_t>(id);
    const auto generation = static_cast<std::uint32_t>(id >> 32);
    if (slot >= slot_count() || !live_[slot] || generations_[slot] != generation) {
      return std::nullopt;
    }
    return slot;
  }
  T* find(std::uint64_t id) {
    const auto slot = slot_of(id);
    return slot ? &items_[*slot] : nullptr;
  }
  const T* find(std::uint64_t id) const {
    const auto slot = slot_of(id);
    return slot ? &items_[*slot] : nullptr;
  }

  // The record of an id that the caller knows names a live record (an invariant
  // that check_invariants verifies): no slot array is read, and on the hot path
  // each is a cache line of its own, usually cold.
  T& live(std::uint64_t id) {
    assert(slot_of(id).has_value());
    return items_[static_cast<std::uint32_t>(id)];
  }
  // Asks for the slot's record and generation ahead of their use, so that the
  // misses of several records overlap instead of following one another.
  void prefetch(std::uint32_t slot) const {
    __builtin_prefetch(&items_[slot]);
    __builtin_prefetch(&generations_[slot]);
  }

  T& operator[](std::uint32_t slot) { return items_[slot]; }
  const T& operator[](std::uint32_t slot) const { return items_[slot]; }
  bool is_live(std::uint32_t slot) const { return slot < live_.size() && live_[slot]; }
  // From live_, one byte a slot: items_.size() divides by sizeof(T) (a multiply
  // and shifts), and this is asked several times a command.
  std::uint32_t slot_count() const { return static_cast<std::uint32_t>(live_.size()); }

  // For the snapshot: the raw arrays, so a restored slab allocates identically.
  HugeVector<T>& items() { return items_; }
  HugeVector<std::uint32_t>& generations() { return generations_; }
  HugeVector<std::uint8_t>& live() { return live_; }
  HugeVector<std::uint32_t>& free_list() { return free_; }

 private:
  std::uint32_t capacity_ = 0;
  // On huge pages (util/huge_pages.hpp): slots are visited at random.
  HugeVector<T> items_;
  HugeVector<std::uint32_t> generations_;
  HugeVector<std::uint8_t> live_;
  HugeVector<std::uint32_t> free_;
};

}  // namespace spotgrid::engine
