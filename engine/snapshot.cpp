// Snapshot: the whole state as canonical bytes, written field by field (never
// raw struct memory, so padding cannot leak in). One `fields` function per
// record serves both directions, so writer and reader cannot drift apart.

#include <cstring>
#include <type_traits>

#include "state.hpp"

namespace spotgrid::engine {
namespace {

constexpr std::string_view kMagic = "spotgrid-snapshot-v1";

template <typename T>
concept Scalar = std::is_arithmetic_v<T> || std::is_enum_v<T>;

template <typename A, typename R>
requires std::is_same_v<std::remove_const_t<R>, Target>
void fields(A& a, R& r) {
  a(r.kind, r.pool, r.min_memory_gib, r.min_cu, r.vendors);
}
template <typename A, typename R>
requires std::is_same_v<std::remove_const_t<R>, ClientOrderId>
void fields(A& a, R& r) {
  a(r.bytes, r.length);
}
template <typename A, typename R>
requires std::is_same_v<std::remove_const_t<R>, OrderSpec>
void fields(A& a, R& r) {
  a(r.buyer, r.target, r.cards, r.cards_per_node, r.duration, r.limit_micros_per_hour, r.strategy,
    r.regions, r.latest_start, r.min_reliability, r.immediate_or_cancel, r.client_order_id);
}
template <typename A, typename R>
requires std::is_same_v<std::remove_const_t<R>, NodeRec>
void fields(A& a, R& r) {
  a(r.supplier, r.pool, r.region, r.zone, r.cards, r.cards_listed, r.cu, r.reliability, r.busy);
}
template <typename A, typename R>
requires std::is_same_v<std::remove_const_t<R>, ListingRec>
void fields(A& a, R& r) {
  a(r.node, r.supplier, r.pool, r.region, r.cards_offered, r.cards_leased, r.price, r.floating,
    r.from, r.until, r.arrival, r.state, r.in_book, r.prev, r.next, r.leases_open);
}
template <typename A, typename R>
requires std::is_same_v<std::remove_const_t<R>, OrderRec>
void fields(A& a, R& r) {
  a(r.spec, r.pools, r.limit, r.unit_hold, r.hold, r.cards_open, r.leases_open, r.arrival, r.state,
    r.in_book, r.prev, r.next, r.start_at, r.avoid_node);
}
template <typename A, typename R>
requires std::is_same_v<std::remove_const_t<R>, LeaseRec>
void fields(A& a, R& r) {
  a(r.order, r.listing, r.node, r.buyer, r.supplier, r.pool, r.region, r.cards, r.card_mask,
    r.price, r.limit_at_match, r.start, r.planned_end, r.billable_end, r.reclaim_at, r.status,
    r.max_charge, r.charged, r.fee_charged, r.weighted_settled, r.healthy_settled, r.settled_up_to);
}
template <typename A, typename R>
requires std::is_same_v<std::remove_const_t<R>, AccountRec>
void fields(A& a, R& r) {
  a(r.cash, r.hold, r.receivable);
}
template <typename A, typename R>
requires std::is_same_v<std::remove_const_t<R>, Level>
void fields(A& a, R& r) {
  a(r.head, r.tail, r.cards, r.entries);
}

class Writer {
 public:
  template <typename... T>
  void operator()(const T&... values) {
    (write(values), ...);
  }
  std::string take() { return std::move(out_); }

 private:
  template <Scalar T>
  void write(T value) {
    // Little-endian, fixed width: the host is x86-64 / aarch64 LE; asserted below.
    static_assert(std::endian::native == std::endian::little);
    char bytes[sizeof(T)];
    std::memcpy(bytes, &value, sizeof(T));
    out_.append(bytes, sizeof(T));
  }
  template <typename T, std::size_t N>
  void write(const std::array<T, N>& values) {
    for (const T& v : values)
      write(v);
  }
  template <typename T>
  void write(const std::vector<T>& values) {
    write(static_cast<std::uint64_t>(values.size()));
    for (const T& v : values)
      write(v);
  }
  template <typename K, typename V, typename C>
  void write(const std::map<K, V, C>& values) {
    write(static_cast<std::uint64_t>(values.size()));
    for (const auto& [k, v] : values)
      (write(k), write(v));
  }
  template <typename F, typename S>
  void write(const std::pair<F, S>& value) {
    (write(value.first), write(value.second));
  }
  template <typename T>
  requires(!Scalar<T>) void write(const T& record) { fields(*this, record); }

  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  template <typename... T>
  void operator()(T&... values) {
    (read(values), ...);
  }
  bool ok() const { return ok_; }
  bool finished() const { return ok_ && in_.empty(); }

 private:
  template <Scalar T>
  void read(T& value) {
    if (!ok_ || in_.size() < sizeof(T)) {
      ok_ = false;
      return;
    }
    std::memcpy(&value, in_.data(), sizeof(T));
    in_.remove_prefix(sizeof(T));
  }
  template <typename T, std::size_t N>
  void read(std::array<T, N>& values) {
    for (T& v : values)
      read(v);
  }
  std::uint64_t read_size() {
    std::uint64_t size = 0;
    read(size);
    if (size > in_.size()) ok_ = false;  // every element takes at least one byte
    return ok_ ? size : 0;
  }
  template <typename T>
  void read(std::vector<T>& values) {
    values.resize(read_size());
    for (T& v : values)
      read(v);
  }
  template <typename K, typename V, typename C>
  void read(std::map<K, V, C>& values) {
    values.clear();
    for (std::uint64_t n = read_size(); n > 0 && ok_; --n) {
      K key{};
      V value{};
      (read(key), read(value));
      values.emplace(key, value);
    }
  }
  template <typename F, typename S>
  void read(std::pair<F, S>& value) {
    (read(value.first), read(value.second));
  }
  template <typename T>
  requires(!Scalar<T>) void read(T& record) { fields(*this, record); }

  std::string_view in_;
  bool ok_ = true;
};

template <typename A, typename T>
void slab_fields(A& a, T& slab) {
  a(slab.items(), slab.generations(), slab.live(), slab.free_list());
}

template <typename A, typename S>
void state_fields(A& a, S& s) {
  a(s.now, s.arrival_seq, s.platform_revenue, s.deposited_total, s.withdrawn_total, s.accounts);
  slab_fields(a, s.nodes);
  slab_fields(a, s.listings);
  slab_fields(a, s.orders);
  slab_fields(a, s.leases);
  for (auto& pool : s.pools)
    a(pool.asks, pool.floating_asks, pool.bids, pool.index, pool.cards_leased);
  a(s.class_bids, s.pending_listings, s.listing_expiries, s.lease_deadlines, s.lease_closes,
    s.deferred_orders);
  // Last, so a comparison of market state can leave out what every command advances.
  a(s.command_seq, s.event_seq);
}

template <typename T>
bool slab_fits(Slab<T>& slab) {
  const auto slots = slab.items().size();
  return slots <= slab.capacity() && slab.generations().size() == slots &&
         slab.live().size() == slots && slab.free_list().size() <= slots;
}

}  // namespace

std::string Engine::snapshot() const {
  Writer writer;
  writer(static_cast<std::uint64_t>(kMagic.size()));
  for (char c : kMagic)
    writer(c);
  writer(static_cast<std::uint64_t>(state_->pools.size()),
         static_cast<std::uint64_t>(state_->tariffs.region_count()));
  // The slabs' accessors are non-const only because the reader shares them.
  state_fields(writer, const_cast<State&>(*state_));
  return writer.take();
}

std::optional<Engine> Engine::restore(Catalog catalog, TariffBook tariffs, EngineConfig config,
                                      std::string_view snapshot) {
  Engine engine(std::move(catalog), std::move(tariffs), config);
  State& state = *engine.state_;
  Reader reader(snapshot);
  std::uint64_t magic_size = 0;
  reader(magic_size);
  if (!reader.ok() || magic_size != kMagic.size()) return std::nullopt;
  std::string magic(magic_size, '\0');
  for (char& c : magic)
    reader(c);
  std::uint64_t pools = 0;
  std::uint64_t regions = 0;
  reader(pools, regions);
  if (!reader.ok() || magic != kMagic || pools != state.pools.size() ||
      regions != state.tariffs.region_count()) {
    return std::nullopt;
  }
  state_fields(reader, state);
  if (!reader.finished() || !slab_fits(state.nodes) || !slab_fits(state.listings) ||
      !slab_fits(state.orders) || !slab_fits(state.leases)) {
    return std::nullopt;
  }
  return engine;
}

}  // namespace spotgrid::engine
