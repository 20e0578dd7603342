#pragma once
// Where the routes that wait on PostgreSQL run (statements, the trial
// balance, committed reads, account creation): a few threads and a bounded
// queue, so that the I/O threads never wait on a database and one caller's
// slow requests cannot starve everyone else's cheap ones. Each caller may
// have only a few jobs queued or running at once.
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace spotgrid::gateway {

class WorkerPool {
 public:
  enum class Posted : std::uint8_t {
    kQueued,
    kCallerBusy,  // the caller has `per_caller` jobs in already: 429
    kFull,        // the queue is full (or stopping): 503
  };

  WorkerPool(unsigned threads, std::size_t capacity, std::size_t per_caller);
  ~WorkerPool();  // stop()
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  Posted post(const std::string& caller, std::function<void()> job);
  // Runs what is queued, then joins; later posts are refused (kFull).
  void stop();
  std::size_t depth() const;

 private:
  struct Job {
    std::string caller;
    std::function<void()> run;
  };
  void work();

  const std::size_t capacity_;
  const std::size_t per_caller_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> queue_;
  std::unordered_map<std::string, std::size_t> in_by_caller_;  // queued or running
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace spotgrid::gateway
