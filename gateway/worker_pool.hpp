#pragma once
// Where the routes that wait on PostgreSQL run (statements, the trial
// balance, committed reads, account creation): a few threads and a bounded
// queue, so that the I/O threads never wait on a database and one caller's
// slow requests cannot starve everyone else's cheap ones. Each caller may
// have only a few jobs queued or running at once.
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "spotgrid/gateway/http.hpp"

namespace spotgrid::gateway {

class WorkerPool {
 public:
  enum class Posted : std::uint8_t {
    kQueued,
    kCallerBusy,  // the caller has `per_caller` jobs in already: 429
    kFull,        // the queue is full (or stopping): 503
  };

  // A caller's place in the pool, given back once: when its answer is about to
  // go out (so the caller's next request finds it free), or at the latest
  // when the job is gone.
  class Slot {
   public:
    Slot(WorkerPool& pool, std::string caller) : pool_(pool), caller_(std::move(caller)) {}
    ~Slot() { release(); }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    void release() {
      if (!released_.exchange(true)) pool_.release(caller_);
    }
    void forget() { released_.store(true); }  // never taken (the post was refused)

   private:
    WorkerPool& pool_;
    std::string caller_;
    std::atomic<bool> released_{false};
  };

  WorkerPool(unsigned threads, std::size_t capacity, std::size_t per_caller);
  ~WorkerPool();  // stop()
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `run` and takes one of `caller`'s places (give it back through a
  // Slot). `cancel` answers instead when the pool stops before `run` starts.
  Posted post(const std::string& caller, std::function<void()> run, std::function<void()> cancel);
  // Cancels what has not started, lets what runs finish, and joins; later
  // posts are refused (kFull).
  void stop();
  std::size_t depth() const;

 private:
  struct Job {
    std::function<void()> run;
    std::function<void()> cancel;
  };
  void work();
  void release(const std::string& caller);

  const std::size_t capacity_;
  const std::size_t per_caller_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> queue_;
  std::unordered_map<std::string, std::size_t> in_by_caller_;  // queued or running
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

// Runs `job` on `pool` as one of `owner`'s jobs, answering through the Respond
// it is given; at once when this thread is already a worker. Answers 429 when
// the owner has its share of jobs in, 503 when the pool is full or stops
// first, and 500 when the job throws. The owner's place is given back before
// the answer goes out.
void run_on_worker(WorkerPool& pool, const std::string& owner,
                   std::function<void(const Respond&)> job, Respond respond);

}  // namespace spotgrid::gateway
