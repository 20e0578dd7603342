#include "worker_pool.hpp"

#include <cstdio>
#include <exception>

#include "spotgrid/util/log.hpp"
#include "spotgrid/util/thread_role.hpp"

namespace spotgrid::gateway {

WorkerPool::WorkerPool(unsigned threads, std::size_t capacity, std::size_t per_caller)
    : capacity_(capacity), per_caller_(per_caller) {
  for (unsigned i = 0; i < std::max(threads, 1u); ++i)
    threads_.emplace_back([this] {
      util::set_thread_role(util::ThreadRole::kWorker);
      work();
    });
}

WorkerPool::~WorkerPool() {
  stop();
}

WorkerPool::Posted WorkerPool::post(const std::string& caller, std::function<void()> run,
                                    std::function<void()> cancel) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= capacity_) return Posted::kFull;
    std::size_t& in = in_by_caller_[caller];
    if (in >= per_caller_) return Posted::kCallerBusy;
    ++in;
    queue_.push_back(Job{std::move(run), std::move(cancel)});
  }
  wake_.notify_one();
  return Posted::kQueued;
}

void WorkerPool::release(const std::string& caller) {
  std::lock_guard lock(mutex_);
  if (const auto it = in_by_caller_.find(caller); it != in_by_caller_.end() && --it->second == 0)
    in_by_caller_.erase(it);
}

void WorkerPool::work() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and nothing left
    Job job = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    try {
      job.run();
    } catch (const std::exception& error) {
      // The job answers its own failures; this one escaped it. The thread goes on.
      util::log::error("worker_job_failed", {{"cause", error.what()}});
    }
    job = Job{};  // what it captured (its Respond, its Slot) goes now, unlocked
    lock.lock();
  }
}

void WorkerPool::stop() {
  std::deque<Job> unstarted;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    unstarted.swap(queue_);
  }
  wake_.notify_all();
  for (Job& job : unstarted) {
    if (job.cancel) job.cancel();
  }
  unstarted.clear();
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

std::size_t WorkerPool::depth() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

void run_on_worker(WorkerPool& pool, const std::string& owner,
                   std::function<void(const Respond&)> job, Respond respond) {
  auto slot = std::make_shared<WorkerPool::Slot>(pool, owner);
  auto answered = std::make_shared<std::atomic<bool>>(false);
  auto once = std::make_shared<Respond>(
      [slot, answered, respond = std::move(respond)](HttpResponse response) {
        if (answered->exchange(true)) return;
        slot->release();
        respond(std::move(response));
      });
  // The owner's place is given back when the job returns too: a job that
  // hands a command to the engine holds no place while the commit runs.
  const auto run = [job = std::move(job), once, slot] {
    try {
      job(*once);
    } catch (const std::exception&) {
      (*once)(error_response(500, "internal", "the request failed"));
    }
    slot->release();
  };
  if (util::this_thread_role() == util::ThreadRole::kWorker) {
    slot->forget();  // already on a worker: no place taken
    return run();
  }
  const WorkerPool::Posted posted = pool.post(owner, std::move(run), [once] {
    (*once)(error_response(503, "stopping", "the server is stopping: nothing was applied"));
  });
  if (posted == WorkerPool::Posted::kQueued) return;
  slot->forget();  // the pool took no place
  HttpResponse busy =
      posted == WorkerPool::Posted::kCallerBusy
          ? error_response(429, "rate_limited", "too many slow requests from this caller at once")
          : error_response(503, "busy", "the server is busy: retry shortly");
  busy.headers.emplace_back("Retry-After", "1");
  (*once)(std::move(busy));
}

}  // namespace spotgrid::gateway
