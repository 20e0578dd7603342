#pragma once
// Canonical bytes for engine values, written field by field (never raw struct
// memory, so padding cannot leak in). One `fields` function per record serves
// both directions, so writer and reader cannot drift apart. Used by snapshots
// and by the command codec.

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "spotgrid/engine/command.hpp"

namespace spotgrid::engine::archive {

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
requires std::is_same_v<std::remove_const_t<R>, GpuModel>
void fields(A& a, R& r) {
  a(r.model, r.vendor, r.memory_gib, r.bf16_tflops, r.memory_bandwidth_gbps, r.compute_units,
    r.reference_price_micros_per_card_hour);
}
template <typename A, typename R>
requires std::is_same_v<std::remove_const_t<R>, TariffRegion>
void fields(A& a, R& r) {
  a(r.region, r.utc_offset_seconds, r.week_bp);
}
template <typename A, typename R>
requires std::is_same_v<std::remove_const_t<R>, TariffSchedule>
void fields(A& a, R& r) {
  a(r.effective_from, r.regions);
}
template <typename A, typename R>
requires std::is_same_v<std::remove_const_t<R>, OrderSpec>
void fields(A& a, R& r) {
  a(r.buyer, r.target, r.cards, r.cards_per_node, r.duration, r.limit_micros_per_hour, r.strategy,
    r.regions, r.latest_start, r.min_reliability, r.immediate_or_cancel, r.client_order_id);
}
// The fewest bytes a value of type T takes: each scalar's, and a count for a
// container. A reader checks a count against it before making room for that
// many values, so a damaged count cannot make it allocate more than a small
// multiple of the input.
class MinimumSize {
 public:
  template <typename... T>
  void operator()(const T&... values) {
    (add(values), ...);
  }
  std::size_t bytes() const { return bytes_; }

 private:
  template <Scalar T>
  void add(const T& /*value*/) {
    bytes_ += sizeof(T);
  }
  template <typename T, std::size_t N>
  void add(const std::array<T, N>& values) {
    for (const T& v : values)
      add(v);
  }
  // A container takes its count, and may hold nothing.
  void add(const std::string& /*text*/) { bytes_ += sizeof(std::uint64_t); }
  template <typename T, typename A>
  void add(const std::vector<T, A>& /*values*/) {
    bytes_ += sizeof(std::uint64_t);
  }
  template <typename K, typename V, typename C, typename A>
  void add(const std::map<K, V, C, A>& /*values*/) {
    bytes_ += sizeof(std::uint64_t);
  }
  template <typename F, typename S>
  void add(const std::pair<F, S>& value) {
    (add(value.first), add(value.second));
  }
  template <typename T>
  requires(!Scalar<T>) void add(const T& record) { fields(*this, record); }

  std::size_t bytes_ = 0;
};

template <typename T>
std::size_t minimum_size() {
  static const std::size_t bytes = [] {
    MinimumSize size;
    size(T{});
    return std::max<std::size_t>(size.bytes(), 1);
  }();
  return bytes;
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
  void write(const std::string& text) {
    write(static_cast<std::uint64_t>(text.size()));
    out_.append(text);
  }
  template <typename T, typename A>
  void write(const std::vector<T, A>& values) {
    write(static_cast<std::uint64_t>(values.size()));
    for (const T& v : values)
      write(v);
  }
  template <typename K, typename V, typename C, typename A>
  void write(const std::map<K, V, C, A>& values) {
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
  requires(!std::is_enum_v<T>) void read(T& value) {
    if (!ok_ || in_.size() < sizeof(T)) {
      ok_ = false;
      return;
    }
    std::memcpy(&value, in_.data(), sizeof(T));
    in_.remove_prefix(sizeof(T));
  }
  // A byte other than 0 or 1 is no bool: copied into one, reading it would be
  // undefined. Refused as damage, as a short read is.
  void read(bool& value) {
    std::uint8_t byte = 0;
    read(byte);
    if (byte > 1) ok_ = false;
    value = byte == 1;
  }
  template <typename T>
  requires std::is_enum_v<T>
  void read(T& value) {
    // Each enum the bytes carry declares its last_value beside it (found by
    // argument-dependent lookup): a byte past it is damage, refused as a short read is.
    using Raw = std::underlying_type_t<T>;
    static_assert(std::is_unsigned_v<Raw>);
    Raw raw{};
    read(raw);
    if (raw > static_cast<Raw>(last_value(T{}))) ok_ = false;
    value = ok_ ? static_cast<T>(raw) : T{};
  }
  template <typename T, std::size_t N>
  void read(std::array<T, N>& values) {
    for (T& v : values)
      read(v);
  }
  // A count of elements of `element_bytes` or more each, which the bytes left must hold.
  std::uint64_t read_size(std::size_t element_bytes) {
    std::uint64_t size = 0;
    read(size);
    if (size > in_.size() / element_bytes) ok_ = false;
    return ok_ ? size : 0;
  }
  void read(std::string& text) {
    const std::uint64_t size = read_size(1);
    text.assign(in_.substr(0, size));
    in_.remove_prefix(size);
  }
  template <typename T, typename A>
  void read(std::vector<T, A>& values) {
    values.resize(read_size(minimum_size<T>()));
    for (T& v : values)
      read(v);
  }
  template <typename K, typename V, typename C, typename A>
  void read(std::map<K, V, C, A>& values) {
    values.clear();
    for (std::uint64_t n = read_size(minimum_size<std::pair<K, V>>()); n > 0 && ok_; --n) {
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

}  // namespace spotgrid::engine::archive
