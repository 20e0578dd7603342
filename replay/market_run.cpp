// The trace through the real engine in virtual time. Each org is one buyer
// account and one supplier account; every node lists all its cards at its
// reserve for its availability window; every job is one order (a gang that
// fits a node must fit one node: cards_per_node = cards). Time jumps from one
// thing that happens to the next (a submit, a lease's end, a deferred start, a
// fault, a repair, each hour's boundary), and each jump is one Tick, as the
// server's clock would send it; metering reports every leased second healthy
// (faults aside), cumulatively, when the lease ends.

#include <chrono>
#include <cmath>
#include <queue>
#include <random>
#include <unordered_map>
#include <unordered_set>

#include "spotgrid/engine/limits.hpp"
#include "spotgrid/replay/replay.hpp"
#include "spotgrid/util/check.hpp"

namespace spotgrid::replay {
namespace {

using namespace spotgrid::engine;

// What happens at a time, in the order it happens within that second: a card
// fails before the tick sees the second, the tick ends and starts leases,
// then supply comes back and orders arrive.
enum class ActionKind : std::uint8_t { kFault, kTick, kRelist, kNextSegment, kSubmit };
struct Action {
  UnixSeconds at = 0;
  ActionKind kind = ActionKind::kTick;
  std::uint64_t sequence = 0;  // first scheduled, first done
  std::uint64_t subject = 0;   // a lease, a node index or a job index
  std::uint64_t amount = 0;    // cards back from repair (kRelist)
  bool operator>(const Action& other) const {
    return std::tie(at, kind, sequence) > std::tie(other.at, other.kind, other.sequence);
  }
};

struct LeaseInfo {
  std::uint32_t job = 0;
  std::uint32_t node = 0;  // index into trace.nodes
  ListingId listing = 0;
  std::uint16_t cards = 0;
  UnixSeconds start = 0;  // virtual (epoch-based) seconds
  Micros price = 0;       // per card-hour
  Strategy strategy =
      Strategy::kTimeFirst;    // of its order (requeues and later segments: time-first)
  bool first_attempt = false;  // of the job's first segment: counts towards its start
};

struct JobState {
  std::uint32_t cards_started = 0;
  UnixSeconds first_lease_start = -1;  // of its first segment: a later one means a split gang
  Seconds placed = 0;                  // duration ordered so far, over segments
  std::int64_t segment_target = 0;     // card-seconds the current segment needs
  std::int64_t segment_done = 0;
};

class MarketReplay {
 public:
  MarketReplay(const Catalog& catalog, const TariffBook& tariffs, const Trace& trace,
               const ReplayOptions& options)
      : catalog_(catalog),
        tariffs_(tariffs),
        trace_(trace),
        options_(options),
        engine_(catalog, tariffs, replay_engine_config(trace)),
        rng_(options.seed),
        jobs_(trace.jobs.size()) {
    result_.name = "market";
    result_.jobs.resize(trace.jobs.size());
    result_.busy_per_org_hour.resize(trace.orgs.size());
  }

  RunResult run();

 private:
  AccountId buyer(std::uint32_t org) const { return 1 + org; }
  AccountId supplier(std::uint32_t org) const {
    return 1 + static_cast<AccountId>(trace_.orgs.size()) + org;
  }
  UnixSeconds virtual_time(UnixSeconds trace_seconds) const {
    return options_.epoch + trace_seconds;
  }
  UnixSeconds trace_time(UnixSeconds at) const { return at - options_.epoch; }
  void schedule(UnixSeconds at, ActionKind kind, std::uint64_t subject = 0,
                std::uint64_t amount = 0) {
    actions_.push(Action{at, kind, ++action_sequence_, subject, amount});
  }

  void submit(const CommandBody& body);
  void observe(const Event& event);
  void set_up();
  void list_cards(std::uint32_t node, std::uint16_t cards);
  void relist(std::uint32_t node);
  void place_segment(std::uint32_t job);
  void on_lease_started(const LeaseStarted& started);
  void on_lease_ended(const LeaseEnded& ended);
  void on_listing_closed(const ListingClosed& closed);
  void on_hour(UnixSeconds at);
  void finish();
  void do_action(const Action& action);

  const Catalog& catalog_;
  const TariffBook& tariffs_;
  const Trace& trace_;
  const ReplayOptions& options_;
  Engine engine_;
  std::mt19937_64 rng_;
  RunResult result_;
  std::vector<JobState> jobs_;
  GangRule gangs_{trace_};

  std::priority_queue<Action, std::vector<Action>, std::greater<>> actions_;
  std::uint64_t action_sequence_ = 0;
  std::vector<Event> events_;
  std::vector<CommandBody> follow_ups_;  // commands events call for, in the same second
  UnixSeconds now_ = 0;
  std::optional<std::uint32_t> placing_job_;  // whose PlaceOrder is being submitted
  bool placing_first_ = false;                // ... whether it is its first segment
  Strategy placing_strategy_ = Strategy::kTimeFirst;

  std::vector<NodeId> node_ids_;
  std::unordered_map<NodeId, std::uint32_t> node_index_;
  std::unordered_map<OrderId, std::uint32_t> job_of_order_;
  std::unordered_set<OrderId> first_segment_orders_;
  std::unordered_map<OrderId, Strategy> strategy_of_order_;
  std::unordered_map<LeaseId, LeaseInfo> leases_;
  std::unordered_map<ListingId, std::uint32_t> listing_node_;
  std::unordered_map<ListingId, std::uint16_t> listing_offered_;
  // Per node: cards leased and in repair, and its open listings. The supplier
  // keeps one listing per node (relist() withdraws and lists again), so a gang
  // that fits the node's free cards fits one listing.
  struct NodeSupply {
    std::uint16_t leased = 0;
    std::uint16_t repairing = 0;
    std::vector<ListingId> listings;
  };
  std::vector<NodeSupply> supply_;
  UnixSeconds next_hour_ = 0;
  UnixSeconds last_tick_ = -1;  // one Tick a second at most, as the server's clock sends
};

void MarketReplay::submit(const CommandBody& body) {
  events_.clear();
  const auto began = std::chrono::steady_clock::now();
  const SubmitResult outcome = engine_.submit(Command{now_, body}, events_);
  result_.engine_nanoseconds +=
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - began)
          .count();
  ++result_.commands;
  result_.events += events_.size();
  if (outcome.rejected) ++result_.rejected_commands;
  if (outcome.rejected && placing_job_) {
    result_.jobs[*placing_job_].reason = "rejected: " + std::string(to_string(*outcome.rejected));
  }
  // observe() may submit nothing itself (follow-ups wait), so events_ stays put.
  for (const Event& event : events_)
    observe(event);
}

void MarketReplay::observe(const Event& event) {
  std::visit(
      [&](const auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, OrderAccepted>) {
          if (placing_job_) {
            job_of_order_[body.order] = *placing_job_;
            strategy_of_order_[body.order] = placing_strategy_;
            if (placing_first_) first_segment_orders_.insert(body.order);
          }
        } else if constexpr (std::is_same_v<T, OrderDeferred>) {
          schedule(body.start_at, ActionKind::kTick);
        } else if constexpr (std::is_same_v<T, OrderRequeued>) {
          job_of_order_[body.order] = job_of_order_.at(body.parent);
          strategy_of_order_[body.order] = Strategy::kTimeFirst;
          ++result_.requeues;
        } else if constexpr (std::is_same_v<T, RequeueFailed>) {
          result_.jobs[job_of_order_.at(body.parent)].reason =
              "requeue failed: " + std::string(to_string(body.reason));
        } else if constexpr (std::is_same_v<T, LeaseStarted>) {
          on_lease_started(body);
        } else if constexpr (std::is_same_v<T, LeaseEnded>) {
          on_lease_ended(body);
        } else if constexpr (std::is_same_v<T, LeaseSettled>) {
          const LeaseInfo& lease = leases_.at(body.lease);
          result_.jobs[lease.job].paid[static_cast<std::size_t>(lease.strategy)] += body.charge;
          result_.paid += body.charge;
          result_.platform_fees += body.platform_fee;
          result_.supplier_revenue += body.charge - body.platform_fee;
        } else if constexpr (std::is_same_v<T, LeaseClosed>) {
          leases_.erase(body.lease);
        } else if constexpr (std::is_same_v<T, ListingAdded>) {
          // No wake-up at its end: an hourly tick closes it (and the cards are
          // listed again) while there is anything left to replay.
          listing_offered_[body.listing] = body.cards;
        } else if constexpr (std::is_same_v<T, ListingClosed>) {
          on_listing_closed(body);
        } else if constexpr (std::is_same_v<T, FundsMoved>) {
          result_.deposited += body.amount;
        }
      },
      event.body);
}

void MarketReplay::set_up() {
  for (std::uint32_t org = 0; org < trace_.orgs.size(); ++org)
    submit(Deposit{buyer(org), limits::kMaxAccountBalance});
  for (std::uint32_t index = 0; index < trace_.nodes.size(); ++index) {
    const Node& node = trace_.nodes[index];
    RegisterNode command;
    command.supplier = supplier(node.org);
    command.pool = node.pool;
    command.region = node.region;
    command.cards = node.cards;
    events_.clear();
    submit(command);
    const auto* registered =
        events_.empty() ? nullptr : std::get_if<NodeRegistered>(&events_[0].body);
    SPOTGRID_CHECK(registered != nullptr);  // traces are bounded below the engine's capacity
    node_ids_.push_back(registered->node);
    node_index_[registered->node] = index;
    supply_.emplace_back();
    if (virtual_time(node.available_from) <= now_) {
      relist(index);
    } else {
      schedule(virtual_time(node.available_from), ActionKind::kRelist, index);
    }
  }
}

// The supplier offers `cards` of a node from now to the end of its window
// (at most the longest listing the market takes).
void MarketReplay::list_cards(std::uint32_t index, std::uint16_t cards) {
  const Node& node = trace_.nodes[index];
  const UnixSeconds until = node.available_until ? std::min(virtual_time(*node.available_until),
                                                            now_ + limits::kMaxListingWindow)
                                                 : now_ + limits::kMaxListingWindow;
  if (cards == 0 || until <= now_) return;
  AddListing listing;
  listing.supplier = supplier(node.org);
  listing.node = node_ids_[index];
  listing.cards = cards;
  listing.reserve_micros_per_card_hour =
      node.reserve_micros_per_card_hour != 0
          ? node.reserve_micros_per_card_hour
          : catalog_.model(node.pool).reference_price_micros_per_card_hour;
  listing.from = now_;
  listing.until = until;
  submit(listing);
  if (!events_.empty()) {
    if (const auto* added = std::get_if<ListingAdded>(&events_[0].body)) {
      listing_node_[added->listing] = index;
      supply_[index].listings.push_back(added->listing);
    }
  }
}

// The node's free cards (neither leased nor in repair) in one listing.
void MarketReplay::relist(std::uint32_t index) {
  if (now_ < virtual_time(trace_.nodes[index].available_from)) return;
  NodeSupply& node = supply_[index];
  const std::vector<ListingId> open = std::move(node.listings);
  node.listings.clear();
  for (const ListingId listing : open)
    submit(WithdrawListing{supplier(trace_.nodes[index].org), listing});
  list_cards(index,
             static_cast<std::uint16_t>(trace_.nodes[index].cards - node.leased - node.repairing));
}

// A buyer's default limit: per card-hour for one model; per CU-hour for any
// model, at the dearest model's price per CU.
Micros default_limit(const Catalog& catalog, const Job& job, const ReplayOptions& options) {
  Micros reference = 0;
  if (job.pool) {
    reference = catalog.model(*job.pool).reference_price_micros_per_card_hour;
  } else {
    for (std::size_t pool = 0; pool < catalog.pool_count(); ++pool) {
      const GpuModel& model = catalog.model(static_cast<PoolIndex>(pool));
      reference = std::max(reference, model.reference_price_micros_per_card_hour * kMilliCuOne /
                                          std::max(model.compute_units, 1));
    }
  }
  return reference * options.limit_over_reference_bp / kBasisPointsOne;
}

void MarketReplay::place_segment(std::uint32_t index) {
  const Job& job = trace_.jobs[index];
  JobState& state = jobs_[index];
  const Seconds segment = std::min(job.duration - state.placed, limits::kMaxLeaseDuration);
  const bool first = state.placed == 0;
  state.placed += segment;
  state.segment_target = std::int64_t{segment} * job.cards;
  state.segment_done = 0;

  OrderSpec spec;
  spec.buyer = buyer(job.org);
  spec.cards = job.cards;
  spec.cards_per_node = gangs_.slice(job);
  spec.duration = segment;
  if (job.pool) {
    spec.target.kind = TargetKind::kModel;
    spec.target.pool = *job.pool;
  } else {
    spec.target.kind = TargetKind::kClass;  // any model: priced per CU-hour
  }
  spec.limit_micros_per_hour = job.limit_micros_per_card_hour != 0
                                   ? job.limit_micros_per_card_hour
                                   : default_limit(catalog_, job, options_);
  spec.strategy = first ? strategy_of(job, index, options_) : Strategy::kTimeFirst;
  if (spec.strategy == Strategy::kCostFirst) {
    spec.latest_start = now_ + std::min(deadline_of(job, options_), limits::kMaxCostFirstDeferral);
  }
  placing_job_ = index;
  placing_first_ = first;
  placing_strategy_ = spec.strategy;
  submit(PlaceOrder{spec});
  placing_job_.reset();
}

void MarketReplay::on_lease_started(const LeaseStarted& started) {
  const std::uint32_t job = job_of_order_.at(started.order);
  LeaseInfo info;
  info.job = job;
  info.node = node_index_.at(started.node);
  info.listing = started.listing;
  info.cards = started.cards;
  info.start = started.start;
  info.price = started.price_micros_per_card_hour;
  info.strategy = strategy_of_order_.at(started.order);
  info.first_attempt = first_segment_orders_.contains(started.order);
  leases_[started.lease] = info;
  supply_[info.node].leased = static_cast<std::uint16_t>(supply_[info.node].leased + info.cards);
  ++result_.leases;
  schedule(started.planned_end, ActionKind::kTick);

  JobState& state = jobs_[job];
  if (info.first_attempt) {
    if (state.first_lease_start >= 0 && state.first_lease_start != started.start)
      ++result_.jobs_gang_split;
    if (state.first_lease_start < 0) state.first_lease_start = started.start;
    state.cards_started += started.cards;
    if (state.cards_started == trace_.jobs[job].cards) result_.jobs[job].start = trace_time(now_);
  }
  if (const auto fault = fault_time(rng_, options_, started.cards, started.start,
                                    started.planned_end - started.start)) {
    schedule(*fault, ActionKind::kFault, started.lease);
  }
}

// Metering's last report (every second healthy up to the billable end), the
// busy time, and the job's progress; failed cards come back after repair.
void MarketReplay::on_lease_ended(const LeaseEnded& ended) {
  const LeaseInfo& info = leases_.at(ended.lease);
  const Node& node = trace_.nodes[info.node];
  SettleLease settle;
  settle.lease = ended.lease;
  settle.healthy_seconds = ended.billable_end - info.start;
  settle.weighted_bp_seconds =
      tariffs_.weighted_bp_seconds(node.region, info.start, ended.billable_end);
  settle.up_to = ended.billable_end;
  follow_ups_.emplace_back(settle);

  const std::int64_t card_seconds = settle.healthy_seconds * info.cards;
  // What these seconds must cost by the price rule, worked out here, not by the engine.
  result_.charges_for_leased_seconds +=
      static_cast<Micros>(Int128{info.cards} * info.price * settle.weighted_bp_seconds /
                          (Int128{kSecondsPerHour} * kBasisPointsOne));
  add_card_seconds(result_.busy_per_org_hour[node.org], trace_time(info.start),
                   trace_time(ended.billable_end), info.cards);
  JobResult& job_result = result_.jobs[info.job];
  job_result.card_seconds += card_seconds;
  job_result.card_seconds_by_strategy[static_cast<std::size_t>(info.strategy)] += card_seconds;
  job_result.end = std::max(job_result.end, trace_time(ended.billable_end));
  JobState& state = jobs_[info.job];
  state.segment_done += card_seconds;
  const Job& job = trace_.jobs[info.job];
  if (state.segment_done == state.segment_target && state.placed < job.duration)
    schedule(now_, ActionKind::kNextSegment, info.job);

  NodeSupply& supply = supply_[info.node];
  supply.leased = static_cast<std::uint16_t>(supply.leased - info.cards);
  const bool listing_open = listing_offered_.contains(info.listing);
  if (ended.reason == LeaseEnd::kInterrupted) {
    ++result_.faults;
    supply.repairing = static_cast<std::uint16_t>(supply.repairing + info.cards);
    if (listing_open) listing_offered_[info.listing] -= info.cards;
    schedule(now_ + options_.repair, ActionKind::kRelist, info.node, info.cards);
  } else if (!listing_open) {
    schedule(now_, ActionKind::kRelist, info.node);  // its listing closed meanwhile
  }
}

// An expired listing's free cards are offered again while the node is available.
void MarketReplay::on_listing_closed(const ListingClosed& closed) {
  const auto offered = listing_offered_.find(closed.listing);
  if (offered == listing_offered_.end()) return;
  const auto free = static_cast<std::uint16_t>(offered->second - closed.cards_still_leased);
  listing_offered_.erase(offered);
  const std::uint32_t node = listing_node_.at(closed.listing);
  std::erase(supply_[node].listings, closed.listing);
  if (!closed.withdrawn && free > 0) schedule(now_, ActionKind::kRelist, node);
}

void MarketReplay::on_hour(UnixSeconds at) {
  const auto hour = static_cast<std::size_t>(trace_time(at) / kSecondsPerHour);
  if (result_.index_per_hour.size() <= hour) result_.index_per_hour.resize(hour + 1);
  auto& prices = result_.index_per_hour[hour];
  prices.resize(catalog_.pool_count());
  for (std::size_t pool = 0; pool < catalog_.pool_count(); ++pool)
    prices[pool] = engine_.index_price(static_cast<PoolIndex>(pool));
}

void MarketReplay::do_action(const Action& action) {
  switch (action.kind) {
    case ActionKind::kFault:
      if (leases_.contains(action.subject))  // it may have ended first
        submit(InterruptLease{action.subject, now_ - 1});
      break;
    case ActionKind::kTick:
      if (last_tick_ != now_) submit(Tick{});
      last_tick_ = now_;
      break;
    case ActionKind::kRelist: {  // `amount` cards are back from repair
      NodeSupply& supply = supply_[action.subject];
      supply.repairing = static_cast<std::uint16_t>(supply.repairing - action.amount);
      relist(static_cast<std::uint32_t>(action.subject));
      break;
    }
    case ActionKind::kNextSegment:
      place_segment(static_cast<std::uint32_t>(action.subject));
      break;
    case ActionKind::kSubmit: {
      const auto index = static_cast<std::uint32_t>(action.subject);
      if (trace_.jobs[index].unknown_model) {
        result_.jobs[index].reason = "unknown_model";
      } else {
        place_segment(index);
      }
      break;
    }
  }
  // Settlements the events called for, in the same second.
  for (std::size_t i = 0; i < follow_ups_.size(); ++i)
    submit(CommandBody(follow_ups_[i]));
  follow_ups_.clear();
}

RunResult MarketReplay::run() {
  UnixSeconds origin = trace_.jobs.empty() ? 0 : trace_.jobs.front().submit;
  for (const Node& node : trace_.nodes)
    origin = std::min(origin, node.available_from);
  now_ = virtual_time(origin);
  set_up();
  for (std::uint32_t index = 0; index < trace_.jobs.size(); ++index)
    schedule(virtual_time(trace_.jobs[index].submit), ActionKind::kSubmit, index);
  next_hour_ = (now_ + kSecondsPerHour - 1) / kSecondsPerHour * kSecondsPerHour;
  while (!actions_.empty()) {
    now_ = std::max(now_, std::min(actions_.top().at, next_hour_));
    // Each hour's boundary is a tick like any other, after the faults of that second.
    const bool on_the_hour = now_ == next_hour_;
    if (on_the_hour) schedule(now_, ActionKind::kTick);
    while (!actions_.empty() && actions_.top().at <= now_) {
      const Action action = actions_.top();
      actions_.pop();
      do_action(action);
    }
    if (on_the_hour) {
      on_hour(now_);
      next_hour_ += kSecondsPerHour;
    }
  }
  finish();
  return std::move(result_);
}

// Jobs that never ran say why, as the engine sees their orders now; the
// money the engine holds at the end, to set against what was deposited.
void MarketReplay::finish() {
  result_.last_activity = trace_time(now_);
  for (const OrderView& order : engine_.open_orders(Engine::ReasonNow::kCompute)) {
    const auto job = job_of_order_.find(order.id);
    if (job == job_of_order_.end() || order.cards_open == 0) continue;
    JobResult& result = result_.jobs[job->second];
    if (result.reason.empty()) result.reason = std::string(to_string(order.unfilled_reason));
  }
  result_.invariant_failures = engine_.check_invariants();
  Micros balances = engine_.platform_revenue();
  Micros earned = engine_.platform_revenue();
  for (AccountId account = 1; account < engine_.account_count(); ++account) {
    const AccountView view = engine_.account(account);
    balances += view.cash + view.hold + view.receivable;
    earned += view.receivable;
  }
  result_.balances_at_end = balances;
  result_.earned_in_engine = earned;
}

}  // namespace

RunResult run_market(const Catalog& catalog, const TariffBook& tariffs, const Trace& trace,
                     const ReplayOptions& options) {
  return MarketReplay(catalog, tariffs, trace, options).run();
}

}  // namespace spotgrid::replay
