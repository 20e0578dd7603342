#pragma once
// The one bounded queue between threads (engine, persister, ingest writer,
// market feed). Bounded so a stalled consumer turns into back-pressure, a
// refusal or a counted drop, never into memory.
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <vector>

namespace spotgrid::util {

template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(std::size_t capacity) : capacity_(capacity) {}

  // Takes `item` only when there is room; false (item untouched) when full or closed.
  bool try_push(T& item) {
    {
      std::lock_guard lock(mutex_);
      if (closed_ || items_.size() >= capacity_) return false;
      items_.push_back(std::move(item));
    }
    not_empty_.notify_one();
    return true;
  }

  // Waits for room; false (item untouched) when closed.
  bool push(T& item) {
    {
      std::unique_lock lock(mutex_);
      not_full_.wait(lock, [&] { return closed_ || items_.size() < capacity_; });
      if (closed_) return false;
      items_.push_back(std::move(item));
    }
    not_empty_.notify_one();
    return true;
  }

  // Moves up to `max` items into `out`, waiting up to `timeout` for the first.
  // False once the queue is closed and empty.
  bool pop_some(std::vector<T>& out, std::size_t max, std::chrono::milliseconds timeout) {
    {
      std::unique_lock lock(mutex_);
      not_empty_.wait_for(lock, timeout, [&] { return closed_ || !items_.empty(); });
      if (closed_ && items_.empty()) return false;
      while (!items_.empty() && out.size() < max) {
        out.push_back(std::move(items_.front()));
        items_.pop_front();
      }
    }
    not_full_.notify_all();
    return true;
  }

  void close() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    not_empty_.notify_all();
    not_full_.notify_all();
  }

  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return items_.size();
  }

 private:
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::deque<T> items_;
  bool closed_ = false;
};

}  // namespace spotgrid::util
