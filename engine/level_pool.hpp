#pragma once
// Price levels are std::map nodes; a level is made and erased many times a
// second as prices come and go. This allocator keeps freed nodes on a free list
// of the thread that freed them and hands them out again, so once warm the
// engine thread takes no malloc or free for a level (glibc's per-thread cache
// holds only seven blocks of a size, and a burst of erased levels spills past it).

#include <cstddef>
#include <new>
#include <vector>

namespace spotgrid::engine {

template <typename T>
class LevelPool {
 public:
  using value_type = T;

  LevelPool() = default;
  template <typename U>
  explicit LevelPool(const LevelPool<U>& /*other*/) noexcept {}

  T* allocate(std::size_t n) {
    if (n != 1 || state == ListState::kGone) return static_cast<T*>(::operator new(n * sizeof(T)));
    FreeList& list = free_list();
    if (!list.blocks.empty()) {
      void* block = list.blocks.back();
      list.blocks.pop_back();
      return static_cast<T*>(block);
    }
    return static_cast<T*>(::operator new(n * sizeof(T)));
  }

  void deallocate(T* block, std::size_t n) noexcept {
    // Only into a list that exists: a node freed by a thread that never
    // allocated one, or after its list is gone at thread exit, goes back at once.
    if (n == 1 && state == ListState::kAlive) {
      FreeList& list = free_list();
      if (list.blocks.size() < kKeptPerThread) {
        list.blocks.push_back(block);  // within the reserved capacity: cannot throw
        return;
      }
    }
    ::operator delete(block);
  }

  friend bool operator==(const LevelPool& /*a*/, const LevelPool& /*b*/) { return true; }

 private:
  // Bounded: a thread that frees a large book (a snapshot's copy) keeps this
  // many nodes and returns the rest.
  static constexpr std::size_t kKeptPerThread = 1 << 16;

  // Trivially destructible, so it can still be read after the list is destroyed.
  enum class ListState : unsigned char { kUnborn, kAlive, kGone };
  static inline thread_local ListState state = ListState::kUnborn;

  struct FreeList {
    FreeList() {
      blocks.reserve(kKeptPerThread);
      state = ListState::kAlive;
    }
    ~FreeList() {
      state = ListState::kGone;
      for (void* block : blocks)
        ::operator delete(block);
    }
    FreeList(const FreeList&) = delete;
    FreeList& operator=(const FreeList&) = delete;
    std::vector<void*> blocks;
  };

  static FreeList& free_list() {
    thread_local FreeList list;
    return list;
  }
};

}  // namespace spotgrid::engine
