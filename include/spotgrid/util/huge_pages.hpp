#pragma once
// Large arrays on 2 MiB pages: the engine's slabs, timer heaps, accounts and
// price-level arena (visited at random on every command) and a benchmark's
// command stream.
//
// Why (README, "Huge pages"): on 4 KiB pages these arrays cover tens of
// thousands of pages and a command's visits miss the TLB; on the hypervisor of
// the machines this was measured on such a miss cost a few microseconds (in the
// engine bench, every 16 to 64 commands), which no counter in the guest showed.
// A buffer of whole huge pages, aligned to them, gets huge pages where the
// kernel's transparent huge pages are enabled at least for `madvise`; elsewhere
// it is ordinary memory, and nothing else changes.

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <vector>

namespace spotgrid::util {

inline constexpr std::size_t kHugePageBytes = std::size_t{2} << 20;

// Whether this is an AddressSanitizer build (GCC's macro, or Clang's feature).
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif
#else
inline constexpr bool kAddressSanitizer = false;
#endif

// `bytes` (rounded up to whole huge pages) at a huge-page boundary, advised to
// be backed by huge pages; throws std::bad_alloc when the kernel refuses, or for
// 0 bytes or a size that cannot be rounded up.
inline void* map_huge_pages(std::size_t bytes) {
  if (bytes == 0 || bytes > SIZE_MAX - 2 * kHugePageBytes) throw std::bad_alloc();
  const std::size_t rounded = (bytes + kHugePageBytes - 1) & ~(kHugePageBytes - 1);
  // One huge page more than needed, so an aligned start lies inside; the
  // unaligned head and tail go back at once.
  const std::size_t mapped = rounded + kHugePageBytes;
  void* raw = ::mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  char* const start = static_cast<char*>(raw);
  const std::size_t head =
      (kHugePageBytes - reinterpret_cast<std::uintptr_t>(start) % kHugePageBytes) % kHugePageBytes;
  char* const aligned = start + head;
  if (head > 0) ::munmap(start, head);
  ::munmap(aligned + rounded, kHugePageBytes - head);  // never empty: head < one huge page
  // Advice only: where huge pages are off, or the call fails, 4 KiB pages serve.
  (void)::madvise(aligned, rounded, MADV_HUGEPAGE);
  return aligned;
}

inline void unmap_huge_pages(void* data, std::size_t bytes) noexcept {
  const std::size_t rounded = (bytes + kHugePageBytes - 1) & ~(kHugePageBytes - 1);
  ::munmap(data, rounded);
}

// A vector's allocator: a buffer of a huge page or more comes from
// map_huge_pages, a smaller one from the heap. Under AddressSanitizer every
// buffer comes from the heap, where ASan watches its bounds.
template <typename T>
class HugePageAllocator {
 public:
  using value_type = T;

  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>& /*other*/) noexcept {}  // NOLINT: rebinding

  T* allocate(std::size_t n) {
    if (n > SIZE_MAX / sizeof(T)) throw std::bad_array_new_length();
    if (!on_huge_pages(n)) return std::allocator<T>().allocate(n);
    return static_cast<T*>(map_huge_pages(n * sizeof(T)));
  }
  void deallocate(T* data, std::size_t n) noexcept {
    if (!on_huge_pages(n)) return std::allocator<T>().deallocate(data, n);
    unmap_huge_pages(data, n * sizeof(T));
  }

  // Stateless: any instance frees what another allocated.
  template <typename U>
  friend bool operator==(const HugePageAllocator& /*a*/, const HugePageAllocator<U>& /*b*/) {
    return true;
  }

 private:
  static bool on_huge_pages(std::size_t n) {
    return !kAddressSanitizer && n >= kHugePageBytes / sizeof(T);
  }
};

template <typename T>
using HugeVector = std::vector<T, HugePageAllocator<T>>;

// Reserves room for `capacity` elements and touches it now: untouched memory
// faults in one page at a time as the vector grows, each fault a few
// microseconds on whichever operation crosses into a new page. The vector keeps
// its size and elements. A vector already that large is left alone: callers
// reserve only through here, so its memory was touched when it was reserved.
template <typename T, typename Allocator>
void reserve_resident(std::vector<T, Allocator>& vector, std::size_t capacity) {
  if (capacity <= vector.capacity()) return;
  const std::size_t size = vector.size();
  vector.reserve(capacity);
  vector.resize(capacity);  // touched
  vector.resize(size);      // capacity and resident pages kept
}

}  // namespace spotgrid::util
