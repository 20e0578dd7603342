#include "worker_pool.hpp"

namespace spotgrid::gateway {

WorkerPool::WorkerPool(unsigned threads, std::size_t capacity, std::size_t per_caller)
    : capacity_(capacity), per_caller_(per_caller) {
  for (unsigned i = 0; i < std::max(threads, 1u); ++i)
    threads_.emplace_back([this] { work(); });
}

WorkerPool::~WorkerPool() {
  stop();
}

WorkerPool::Posted WorkerPool::post(const std::string& caller, std::function<void()> job) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= capacity_) return Posted::kFull;
    std::size_t& in = in_by_caller_[caller];
    if (in >= per_caller_) return Posted::kCallerBusy;
    ++in;
    queue_.push_back(Job{caller, std::move(job)});
  }
  wake_.notify_one();
  return Posted::kQueued;
}

void WorkerPool::work() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and nothing left to run
    Job job = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    job.run();
    job.run = nullptr;  // what it captured (its Respond) goes before the count
    lock.lock();
    if (const auto it = in_by_caller_.find(job.caller);
        it != in_by_caller_.end() && --it->second == 0)
      in_by_caller_.erase(it);
  }
}

void WorkerPool::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

std::size_t WorkerPool::depth() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

}  // namespace spotgrid::gateway
