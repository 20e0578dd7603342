// The baseline: how most labs allocate GPUs today. Each organisation runs its
// own jobs on its own nodes, first come first served, with no prices: a job
// that cannot start holds back every later job that wants the same models (a
// job for any model holds back all). A job no node of its organisation could
// ever hold is refused at once rather than blocking the queue forever. Gangs
// are sliced as in the market (GangRule) but, unlike the market, all slices
// start at once; faults strike at the same rate, a failed allocation's
// remainder going back to its place in the queue. `shared` runs one queue
// over every node instead.

#include <map>
#include <queue>
#include <random>

#include "spotgrid/engine/limits.hpp"
#include "spotgrid/replay/replay.hpp"

namespace spotgrid::replay {
namespace {

using engine::Catalog;

struct Task {
  std::uint32_t job = 0;
  std::uint32_t cards = 0;
  std::uint32_t slice = 1;  // cards per node slice; a failed remainder keeps its job's
  Seconds duration = 0;
  bool first = false;  // the job's first attempt: its start counts
};
using TaskKey = std::pair<std::uint32_t, std::uint64_t>;  // job index (submit order), then sequence

struct Slice {
  std::uint32_t job = 0;
  std::uint32_t node = 0;
  std::uint32_t cards = 0;
  std::uint32_t slice = 1;
  UnixSeconds start = 0;
  UnixSeconds end = 0;          // when it stops: done, or failed
  UnixSeconds planned_end = 0;  // when it would have been done
  bool failed = false;
};

enum class EventKind : std::uint8_t { kSliceEnds, kNodeBack, kArrival };
struct SimEvent {
  UnixSeconds at = 0;
  EventKind kind = EventKind::kArrival;
  std::uint64_t sequence = 0;
  std::uint64_t subject = 0;  // slice, node or job
  std::uint32_t cards = 0;    // kNodeBack
  bool operator>(const SimEvent& other) const {
    return std::tie(at, kind, sequence) > std::tie(other.at, other.kind, other.sequence);
  }
};

class Baseline {
 public:
  Baseline(const Trace& trace, const ReplayOptions& options, bool shared)
      : trace_(trace),
        options_(options),
        shared_(shared),
        rng_(options.seed ^ 0x9E37'79B9'7F4A'7C15ull),
        free_(trace.nodes.size(), 0),
        queues_(shared ? 1 : std::max<std::size_t>(trace.orgs.size(), 1)),
        nodes_of_queue_(queues_.size()) {
    result_.name = shared ? "shared_fifo" : "baseline";
    result_.jobs.resize(trace.jobs.size());
    result_.busy_per_org_hour.resize(trace.orgs.size());
    for (std::uint32_t node = 0; node < trace.nodes.size(); ++node)
      nodes_of_queue_[queue_of(trace.nodes[node].org)].push_back(node);
  }

  RunResult run();

 private:
  std::size_t queue_of(std::uint32_t org) const { return shared_ ? 0 : org; }
  void push(UnixSeconds at, EventKind kind, std::uint64_t subject, std::uint32_t cards = 0) {
    events_.push(SimEvent{at, kind, ++sequence_, subject, cards});
  }
  bool wants(const Task& task, std::uint32_t node) const {
    const Job& job = trace_.jobs[task.job];
    return !job.pool || *job.pool == trace_.nodes[node].pool;
  }
  bool fits_window(std::uint32_t node, UnixSeconds now, Seconds duration) const {
    const Node& spec = trace_.nodes[node];
    return now >= spec.available_from &&
           (!spec.available_until || now + duration <= *spec.available_until);
  }
  bool could_ever_fit(const Task& task, UnixSeconds now) const;
  bool try_start(const Task& task, std::size_t queue, UnixSeconds now);
  void schedule(std::size_t queue, UnixSeconds now);
  void end_slice(std::uint64_t index, UnixSeconds now);

  const Trace& trace_;
  const ReplayOptions& options_;
  bool shared_;
  std::mt19937_64 rng_;
  RunResult result_;
  std::vector<std::uint32_t> free_;  // cards free on each node (0 until it is available)
  std::vector<std::map<TaskKey, Task>> queues_;
  std::vector<std::vector<std::uint32_t>> nodes_of_queue_;
  std::vector<Slice> slices_;
  std::vector<std::uint32_t> cards_started_;
  std::priority_queue<SimEvent, std::vector<SimEvent>, std::greater<>> events_;
  std::uint64_t sequence_ = 0;
  GangRule gangs_{trace_};
};

// Whether the org's nodes of the right models, each with a window long enough
// from now on, hold enough slices.
bool Baseline::could_ever_fit(const Task& task, UnixSeconds now) const {
  std::uint64_t slices = 0;
  for (const std::uint32_t node : nodes_of_queue_[queue_of(trace_.jobs[task.job].org)]) {
    const Node& spec = trace_.nodes[node];
    const bool long_enough =
        !spec.available_until ||
        *spec.available_until - std::max(now, spec.available_from) >= task.duration;
    if (wants(task, node) && long_enough) slices += spec.cards / task.slice;
  }
  return slices >= task.cards / task.slice;
}

// All of the task's slices at once, or nothing; first fit in node order.
bool Baseline::try_start(const Task& task, std::size_t queue, UnixSeconds now) {
  const std::uint32_t slice = task.slice;
  std::uint32_t slices_needed = task.cards / slice;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> plan;  // node, slices
  for (const std::uint32_t node : nodes_of_queue_[queue]) {
    if (!wants(task, node) || free_[node] < slice || !fits_window(node, now, task.duration))
      continue;
    const std::uint32_t take = std::min(free_[node] / slice, slices_needed);
    plan.emplace_back(node, take);
    slices_needed -= take;
    if (slices_needed == 0) break;
  }
  if (slices_needed > 0) return false;
  JobResult& job = result_.jobs[task.job];
  for (const auto& [node, count] : plan) {
    Slice running{
        task.job, node, count * slice, slice, now, now + task.duration, now + task.duration, false};
    free_[node] -= running.cards;
    ++result_.leases;
    if (const auto fault = fault_time(rng_, options_, running.cards, now, task.duration)) {
      running.end = *fault;
      running.failed = true;
    }
    slices_.push_back(running);
    push(running.end, EventKind::kSliceEnds, slices_.size() - 1);
  }
  if (task.first) {
    cards_started_[task.job] += task.cards;
    if (cards_started_[task.job] == trace_.jobs[task.job].cards) job.start = now;
  }
  return true;
}

void Baseline::schedule(std::size_t queue, UnixSeconds now) {
  std::uint64_t all_pools = 0;
  for (const std::uint32_t node : nodes_of_queue_[queue])
    all_pools |= std::uint64_t{1} << trace_.nodes[node].pool;
  std::uint64_t blocked = 0;
  auto& waiting = queues_[queue];
  for (auto it = waiting.begin(); it != waiting.end() && blocked != all_pools;) {
    const Job& job = trace_.jobs[it->second.job];
    const std::uint64_t wanted = job.pool ? std::uint64_t{1} << *job.pool : all_pools;
    if ((wanted & blocked) != 0 && (wanted & ~blocked) == 0) {
      ++it;
      continue;
    }
    if ((wanted & blocked) == 0 && try_start(it->second, queue, now)) {
      it = waiting.erase(it);
    } else {
      blocked |= wanted;
      ++it;
    }
  }
}

void Baseline::end_slice(std::uint64_t index, UnixSeconds now) {
  const Slice slice = slices_[index];
  const Node& node = trace_.nodes[slice.node];
  add_card_seconds(result_.busy_per_org_hour[node.org], slice.start, now, slice.cards);
  JobResult& job = result_.jobs[slice.job];
  job.card_seconds += std::int64_t{now - slice.start} * slice.cards;
  job.end = std::max(job.end, now);
  if (!slice.failed) {
    free_[slice.node] += slice.cards;
    return;
  }
  ++result_.faults;
  ++result_.requeues;
  push(now + options_.repair, EventKind::kNodeBack, slice.node, slice.cards);
  // The remainder goes back to its place in the queue: by the job's submit order.
  const Task remainder{slice.job, slice.cards, slice.slice, slice.planned_end - now, false};
  const std::size_t queue = queue_of(trace_.jobs[slice.job].org);
  queues_[queue].emplace(TaskKey{slice.job, ++sequence_}, remainder);
}

RunResult Baseline::run() {
  cards_started_.assign(trace_.jobs.size(), 0);
  for (std::uint32_t node = 0; node < trace_.nodes.size(); ++node)
    push(trace_.nodes[node].available_from, EventKind::kNodeBack, node, trace_.nodes[node].cards);
  for (std::uint32_t job = 0; job < trace_.jobs.size(); ++job)
    push(trace_.jobs[job].submit, EventKind::kArrival, job);
  UnixSeconds now = 0;
  while (!events_.empty()) {
    now = events_.top().at;
    std::vector<bool> touched(queues_.size(), false);
    while (!events_.empty() && events_.top().at == now) {
      const SimEvent event = events_.top();
      events_.pop();
      switch (event.kind) {
        case EventKind::kSliceEnds:
          end_slice(event.subject, now);
          touched[queue_of(trace_.nodes[slices_[event.subject].node].org)] = true;
          break;
        case EventKind::kNodeBack:
          free_[event.subject] += event.cards;
          touched[queue_of(trace_.nodes[event.subject].org)] = true;
          break;
        case EventKind::kArrival: {
          const auto index = static_cast<std::uint32_t>(event.subject);
          const Job& job = trace_.jobs[index];
          const Task task{index, job.cards, gangs_.slice(job), job.duration, true};
          if (job.unknown_model) {
            result_.jobs[index].reason = "unknown_model";
          } else if (!could_ever_fit(task, now)) {
            result_.jobs[index].reason = "no_node_of_its_org_can_hold_it";
          } else {
            queues_[queue_of(job.org)].emplace(TaskKey{index, ++sequence_}, task);
            touched[queue_of(job.org)] = true;
          }
          break;
        }
      }
    }
    for (std::size_t queue = 0; queue < queues_.size(); ++queue) {
      if (touched[queue]) schedule(queue, now);
    }
  }
  result_.last_activity = now;
  for (const auto& queue : queues_) {
    for (const auto& [key, task] : queue) {
      if (result_.jobs[task.job].reason.empty())
        result_.jobs[task.job].reason = "still_queued_at_end";
    }
  }
  return std::move(result_);
}

}  // namespace

RunResult run_baseline(const Catalog&, const Trace& trace, const ReplayOptions& options,
                       bool shared) {
  return Baseline(trace, options, shared).run();
}

}  // namespace spotgrid::replay
