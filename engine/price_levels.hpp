#pragma once
// A book side's price levels, best first, in one sorted vector whose back is
// the best price: finding a level is a binary search over contiguous memory,
// walking the levels in priority order is a linear read, and a level is added
// or removed without an allocation (the vector keeps its capacity), most
// often near the best price, where the elements behind it are few.
// Iterators run best first and, as a vector's do, are invalidated by adding or
// removing a level: the engine walks a side only while planning, which changes
// nothing (docs/architecture.md#matching).

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <utility>
#include <vector>

#include "spotgrid/engine/types.hpp"

namespace spotgrid::engine {

// `Better(a, b)`: price a comes before price b (std::less for asks, the
// cheapest first; std::greater for bids, the highest limit first).
template <typename Level, typename Better>
class PriceLevels {
 public:
  using value_type = std::pair<Micros, Level>;
  using iterator = typename std::vector<value_type>::reverse_iterator;
  using const_iterator = typename std::vector<value_type>::const_reverse_iterator;

  iterator begin() { return levels_.rbegin(); }
  iterator end() { return levels_.rend(); }
  const_iterator begin() const { return levels_.rbegin(); }
  const_iterator end() const { return levels_.rend(); }
  bool empty() const { return levels_.empty(); }
  std::size_t size() const { return levels_.size(); }
  void clear() { levels_.clear(); }

  iterator find(Micros price) {
    const auto at = place_of(price);
    return at != levels_.end() && at->first == price ? iterator(std::next(at)) : end();
  }
  const_iterator find(Micros price) const {
    const auto at = place_of(price);
    return at != levels_.end() && at->first == price ? const_iterator(std::next(at)) : end();
  }

  // The level at `price`, added empty if there is none.
  Level& operator[](Micros price) {
    const auto at = place_of(price);
    if (at != levels_.end() && at->first == price) return at->second;
    return levels_.insert(at, value_type{price, Level{}})->second;
  }

  void erase(iterator level) { levels_.erase(std::next(level).base()); }

  // For a snapshot's reader: `best_first` as iteration gives the levels. False
  // (and no levels) unless each price is strictly worse than the one before.
  bool assign_best_first(std::vector<value_type> best_first) {
    levels_.clear();
    for (std::size_t i = 1; i < best_first.size(); ++i) {
      if (!Better{}(best_first[i - 1].first, best_first[i].first)) return false;
    }
    std::reverse(best_first.begin(), best_first.end());
    levels_ = std::move(best_first);
    return true;
  }

 private:
  // Stored worst first: the first level that is not worse than `price`.
  auto place_of(Micros price) {
    return std::lower_bound(levels_.begin(), levels_.end(), price, worse_than);
  }
  auto place_of(Micros price) const {
    return std::lower_bound(levels_.begin(), levels_.end(), price, worse_than);
  }
  static bool worse_than(const value_type& level, Micros price) {
    return Better{}(price, level.first);
  }

  std::vector<value_type> levels_;  // worst first, best last
};

}  // namespace spotgrid::engine
