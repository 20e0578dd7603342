#pragma once
// Preallocated, bounded storage with stable slots and generation-tagged ids:
// id = generation << 32 | slot. Lookup is O(1) with no hashing; an id whose slot
// was reused no longer resolves. Reuse is LIFO, so allocation is deterministic.

#include <cassert>
#include <cstdint>
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
  // allocate() builds a record over a released one without ending it, and a
  // record may be copied byte for byte.
  static_assert(std::is_trivially_destructible_v<T> && std::is_trivially_copyable_v<T>);

 public:
  // Reserves and touches every slot's memory now, so the hot path never takes a
  // page fault or an allocation for a new record.
  void set_capacity(std::uint32_t capacity) {
    capacity_ = capacity;
    items_.clear();
    generations_.clear();
    live_.clear();
    free_.clear();
    free_slots_ = capacity;
    reserve_resident(items_, capacity);
    reserve_resident(generations_, capacity);
    reserve_resident(live_, capacity);
    reserve_resident(free_, capacity);
  }
  std::uint32_t capacity() const { return capacity_; }
  // Kept as slots are taken and given back: asked several times a command.
  std::uint32_t free_slots() const { return free_slots_; }
  std::uint32_t live_count() const { return capacity_ - free_slots_; }

  // A free slot, holding the record `make()` returns, built in the slot (GCC
  // elides the conversion below; another compiler may copy the record once)
  // instead of zeroed first and assigned after. make() must not read this slab:
  // a reused slot's old record is being overwritten while it runs. The caller
  // checks free_slots() first: running out is a validated condition.
  template <typename Make>
  std::uint32_t allocate(Make&& make) {
    struct Built {
      Make& make;
      operator T() const { return make(); }  // implicit: emplace_back converts
    };
    SPOTGRID_CHECK(free_slots_ > 0);
    --free_slots_;
    if (!free_.empty()) {
      const std::uint32_t slot = free_.back();
      free_.pop_back();
      ::new (static_cast<void*>(&items_[slot]))
          T(make());  // over a record that needs no destructor
      live_[slot] = 1;
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
    if (++generations_[slot] == 0) generations_[slot] = 1;  // after 2^32 - 1 reuses
    free_.push_back(slot);
    ++free_slots_;
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

  // The record of an id that names a live record by an invariant (for example,
  // a live listing's node: nodes are never released; check_invariants and a
  // snapshot's restore verify it). Checked in debug builds only: a check would
  // read the two slot arrays this exists to skip, each a cache line of its own
  // and on the hot path usually cold.
  T& known_live(std::uint64_t id) {
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

  // Whether the raw arrays, as a snapshot restored them, describe a slab: as
  // many generations (none 0) and live flags (0 or 1) as records, within the capacity,
  // and a free list of exactly the released slots, each once. A crafted
  // snapshot fails here instead of making allocate() write outside the records
  // or over a live one.
  bool consistent() const {
    const std::size_t slots = items_.size();
    if (slots > capacity_ || generations_.size() != slots || live_.size() != slots) return false;
    std::vector<std::uint8_t> listed(slots, 0);
    for (const std::uint32_t slot : free_) {
      if (slot >= slots || live_[slot] != 0 || listed[slot] != 0) return false;
      listed[slot] = 1;
    }
    std::size_t released = 0;
    for (const std::uint32_t generation : generations_) {
      if (generation == 0) return false;  // ids start at generation 1: id 0 names nothing
    }
    for (const std::uint8_t flag : live_) {
      if (flag > 1) return false;
      released += flag == 0;
    }
    return released == free_.size();
  }

  // Once a snapshot's reader has filled the raw arrays: whether they describe a
  // slab (consistent()), and if so the free slots counted from them.
  bool finish_restore() {
    if (!consistent()) return false;
    free_slots_ = counted_free_slots();
    return true;
  }
  // Whether the kept count is what the arrays say (check_invariants).
  bool count_agrees() const { return free_slots_ == counted_free_slots(); }

  // For the snapshot: the raw arrays, so a restored slab allocates identically.
  // Whoever fills them calls finish_restore() after, or the free count is stale.
  HugeVector<T>& items() { return items_; }
  HugeVector<std::uint32_t>& generations() { return generations_; }
  HugeVector<std::uint8_t>& live() { return live_; }
  HugeVector<std::uint32_t>& free_list() { return free_; }

 private:
  std::uint32_t counted_free_slots() const {
    return capacity_ - slot_count() + static_cast<std::uint32_t>(free_.size());
  }

  std::uint32_t capacity_ = 0;
  std::uint32_t free_slots_ = 0;  // never taken, or given back (free_)
  // On huge pages (util/huge_pages.hpp): slots are visited at random.
  HugeVector<T> items_;
  HugeVector<std::uint32_t> generations_;
  HugeVector<std::uint8_t> live_;
  HugeVector<std::uint32_t> free_;
};

}  // namespace spotgrid::engine
