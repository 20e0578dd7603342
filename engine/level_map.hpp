#pragma once
// One side of a book: price levels ordered best first, each at an address that
// does not move while it exists, so a booked record keeps an iterator to its
// level (ListingRec::level, OrderRec::level).
//
// The levels form a list, best to worst, that a walk of the book follows; a
// B+ tree over their prices finds where a new price goes and the level of a
// price. Its nodes hold 14 prices each and are searched without branches: a
// book of a few hundred prices is two nodes deep, where std::map (what this
// replaced) took eight or nine pointer hops down a red-black tree, each a
// likely cache miss and a branch the predictor cannot learn at random prices
// (README, "Price levels in a B+ tree"). Nodes and levels come from the memory
// resource given (the engine's LevelArena), so a warm book allocates nothing.
//
// A node left with fewer prices after an erase is not merged with its
// neighbour; an empty one is freed. The depth then only grows when the root
// splits, which takes at least 7^depth inserts: bounded by kMaxDepth.

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <limits>
#include <memory_resource>
#include <new>
#include <type_traits>
#include <utility>

#include "spotgrid/engine/types.hpp"
#include "spotgrid/util/check.hpp"

namespace spotgrid::engine {

template <typename LevelT, bool kHighestFirst>
class LevelMap {
 public:
  using key_type = Micros;
  using mapped_type = LevelT;
  using value_type = std::pair<const Micros, LevelT>;

 private:
  struct Entry {
    value_type value;
    Entry* better = nullptr;
    Entry* worse = nullptr;
  };

 public:
  // Walks the levels best first; stays valid until its level is erased.
  template <bool kConst>
  class Iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = LevelMap::value_type;
    using difference_type = std::ptrdiff_t;
    using pointer = std::conditional_t<kConst, const value_type*, value_type*>;
    using reference = std::conditional_t<kConst, const value_type&, value_type&>;

    Iterator() = default;
    operator Iterator<true>() const { return Iterator<true>(entry_); }  // NOLINT: as std::map's
    reference operator*() const { return entry_->value; }
    pointer operator->() const { return &entry_->value; }
    Iterator& operator++() {
      entry_ = entry_->worse;
      return *this;
    }
    Iterator operator++(int) {
      Iterator was = *this;
      entry_ = entry_->worse;
      return was;
    }
    friend bool operator==(Iterator a, Iterator b) { return a.entry_ == b.entry_; }

   private:
    friend class LevelMap;
    explicit Iterator(Entry* entry) : entry_(entry) {}
    Entry* entry_ = nullptr;
  };
  using iterator = Iterator<false>;
  using const_iterator = Iterator<true>;

  explicit LevelMap(std::pmr::memory_resource* resource = std::pmr::get_default_resource())
      : resource_(resource) {}
  // A copy (a snapshot's state) takes its nodes from the heap, as a std::pmr
  // container's copy does.
  LevelMap(const LevelMap& other) : resource_(std::pmr::new_delete_resource()) {
    for (const Entry* entry = other.best_; entry != nullptr; entry = entry->worse)
      try_emplace(entry->value.first).first->second = entry->value.second;
  }
  LevelMap(LevelMap&& other) noexcept
      : resource_(other.resource_), root_(other.root_), best_(other.best_), size_(other.size_) {
    other.root_ = nullptr;
    other.best_ = nullptr;
    other.size_ = 0;
  }
  LevelMap& operator=(const LevelMap&) = delete;
  LevelMap& operator=(LevelMap&& other) noexcept {
    if (this == &other) return *this;
    clear();
    resource_ = other.resource_;
    root_ = std::exchange(other.root_, nullptr);
    best_ = std::exchange(other.best_, nullptr);
    size_ = std::exchange(other.size_, 0);
    return *this;
  }
  ~LevelMap() { clear(); }

  iterator begin() { return iterator(best_); }
  iterator end() { return iterator(nullptr); }
  const_iterator begin() const { return const_iterator(best_); }
  const_iterator end() const { return const_iterator(nullptr); }
  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }
  std::pmr::memory_resource* resource() const { return resource_; }

  // The level at `price`, made empty if there was none (then `second` is true).
  std::pair<iterator, bool> try_emplace(Micros price) {
    const Key key = key_of(price);
    if (root_ == nullptr) root_ = new_node(/*leaf=*/true);
    Path path;
    Node* leaf = descend(key, path);
    const std::size_t at = position(*leaf, key);
    if (at < leaf->count && leaf->keys[at] == key) return {iterator(entry_at(*leaf, at)), false};

    Entry* entry = new_entry(price);
    link(entry, *leaf, at);
    insert(path, leaf, at, key, entry);
    ++size_;
    return {iterator(entry), true};
  }

  void erase(const_iterator it) {
    Entry* entry = it.entry_;
    SPOTGRID_CHECK(entry != nullptr && root_ != nullptr);
    const Key key = key_of(entry->value.first);
    Path path;
    Node* leaf = descend(key, path);
    const std::size_t at = position(*leaf, key);
    SPOTGRID_CHECK(at < leaf->count && leaf->slots[at] == entry);
    remove_slot(*leaf, at);
    (entry->better == nullptr ? best_ : entry->better->worse) = entry->worse;
    if (entry->worse != nullptr) entry->worse->better = entry->better;
    free_entry(entry);
    --size_;
    prune(path, leaf);
  }

  void clear() {
    while (best_ != nullptr)
      free_entry(std::exchange(best_, best_->worse));
    if (root_ != nullptr) free_tree(root_);
    root_ = nullptr;
    size_ = 0;
  }

  // Whether the tree holds exactly the list's prices, in its order, each once:
  // for the invariant checks.
  bool consistent() const {
    const Entry* expected = best_;
    std::size_t seen = 0;
    const bool tree_sound = root_ == nullptr || walk(*root_, expected, seen, 0);
    return tree_sound && expected == nullptr && seen == size_;
  }

 private:
  // Prices as keys that ascend from best to worst: bids negate theirs (a
  // price is positive, so its negation fits).
  using Key = std::int64_t;
  static Key key_of(Micros price) { return kHighestFirst ? -price : price; }
  static constexpr Key kNoKey = std::numeric_limits<Key>::max();  // past every key
  static constexpr std::size_t kFanout = 14;                      // a node fits 256 bytes
  static constexpr std::size_t kMaxDepth = 24;

  // A leaf's slots are its levels; an inner node's, its children, each with
  // the least key that may be under it (its first's is not used).
  struct Node {
    Key keys[kFanout];
    void* slots[kFanout];
    std::uint8_t count;
    bool leaf;
  };
  static_assert(sizeof(Node) <= 256);
  struct Step {
    Node* node;
    std::size_t slot;
  };
  struct Path {
    Step steps[kMaxDepth];
    std::size_t depth = 0;
  };

  // How many of the node's keys are below `key` (or at or below it): a leaf's
  // position for `key`, an inner node's child past it. Unused keys are kNoKey.
  static std::size_t position(const Node& node, Key key) {
    std::size_t below = 0;
    for (std::size_t i = 0; i < kFanout; ++i)
      below += static_cast<std::size_t>(node.keys[i] < key);
    return below;
  }
  static std::size_t child_for(const Node& node, Key key) {
    std::size_t at_or_below = 0;
    for (std::size_t i = 0; i < kFanout; ++i)
      at_or_below += static_cast<std::size_t>(node.keys[i] <= key);
    return at_or_below == 0 ? 0 : at_or_below - 1;
  }
  static Entry* entry_at(const Node& leaf, std::size_t at) {
    return static_cast<Entry*>(leaf.slots[at]);
  }

  Node* descend(Key key, Path& path) const {
    Node* node = root_;
    while (!node->leaf) {
      SPOTGRID_CHECK(path.depth < kMaxDepth);
      const std::size_t child = child_for(*node, key);
      path.steps[path.depth++] = {node, child};
      node = static_cast<Node*>(node->slots[child]);
    }
    return node;
  }

  // Puts a new level into the list beside its neighbour in the leaf: the
  // leaf's prices are a run of the list's, and it holds at least one.
  void link(Entry* entry, const Node& leaf, std::size_t at) {
    if (leaf.count == 0) {
      best_ = entry;
    } else if (at > 0) {
      Entry* before = entry_at(leaf, at - 1);
      entry->better = before;
      entry->worse = before->worse;
      if (before->worse != nullptr) before->worse->better = entry;
      before->worse = entry;
    } else {
      Entry* after = entry_at(leaf, 0);
      entry->worse = after;
      entry->better = after->better;
      (after->better == nullptr ? best_ : after->better->worse) = entry;
      after->better = entry;
    }
  }

  // Inserts (key, slot) at `at` of `node`, splitting full nodes up the path.
  void insert(Path& path, Node* node, std::size_t at, Key key, void* slot) {
    while (true) {
      if (node->count < kFanout) {
        put_slot(*node, at, key, slot);
        return;
      }
      Node* right = new_node(node->leaf);
      constexpr std::size_t kLeft = kFanout / 2;
      for (std::size_t i = kLeft; i < kFanout; ++i)
        put_slot(*right, i - kLeft, node->keys[i], node->slots[i]);
      for (std::size_t i = kLeft; i < kFanout; ++i)
        node->keys[i] = kNoKey;
      node->count = kLeft;
      if (at <= kLeft && !(at == kLeft && key >= right->keys[0])) {
        put_slot(*node, at, key, slot);
      } else {
        put_slot(*right, at - kLeft, key, slot);
      }
      if (path.depth == 0) {  // the root split: a new root above both
        Node* root = new_node(/*leaf=*/false);
        put_slot(*root, 0, node->keys[0], node);
        put_slot(*root, 1, right->keys[0], right);
        root_ = root;
        return;
      }
      const Step parent = path.steps[--path.depth];
      node = parent.node;
      at = parent.slot + 1;
      key = right->keys[0];
      slot = right;
    }
  }

  // After a slot left `node`: frees it if empty, up the path; then lowers the
  // root while it has one child.
  void prune(Path& path, Node* node) {
    while (node->count == 0 && path.depth > 0) {
      free_node(node);
      const Step parent = path.steps[--path.depth];
      remove_slot(*parent.node, parent.slot);
      node = parent.node;
    }
    if (root_->count == 0) {
      free_node(root_);
      root_ = nullptr;
      return;
    }
    while (!root_->leaf && root_->count == 1) {
      Node* only = static_cast<Node*>(root_->slots[0]);
      free_node(root_);
      root_ = only;
    }
  }

  static void put_slot(Node& node, std::size_t at, Key key, void* slot) {
    SPOTGRID_CHECK(node.count < kFanout && at <= node.count);
    for (std::size_t i = node.count; i > at; --i) {
      node.keys[i] = node.keys[i - 1];
      node.slots[i] = node.slots[i - 1];
    }
    node.keys[at] = key;
    node.slots[at] = slot;
    ++node.count;
  }
  static void remove_slot(Node& node, std::size_t at) {
    SPOTGRID_CHECK(at < node.count);
    for (std::size_t i = at; i + 1 < node.count; ++i) {
      node.keys[i] = node.keys[i + 1];
      node.slots[i] = node.slots[i + 1];
    }
    --node.count;
    node.keys[node.count] = kNoKey;
    node.slots[node.count] = nullptr;
  }

  // In order: every leaf's keys ascend, name the list's entries in turn, and
  // sit within the bounds their inner nodes give.
  bool walk(const Node& node, const Entry*& expected, std::size_t& seen, std::size_t depth) const {
    if (depth >= kMaxDepth || node.count == 0 || node.count > kFanout) return false;
    for (std::size_t i = node.count; i < kFanout; ++i) {
      if (node.keys[i] != kNoKey) return false;
    }
    for (std::size_t i = 0; i < node.count; ++i) {
      if (i > 0 && node.keys[i - 1] >= node.keys[i]) return false;
      if (node.leaf) {
        const Entry* entry = entry_at(node, i);
        if (entry != expected || key_of(entry->value.first) != node.keys[i]) return false;
        expected = entry->worse;
        ++seen;
      } else {
        const Node& child = *static_cast<const Node*>(node.slots[i]);
        if (i > 0 && (child.count == 0 || child.keys[0] < node.keys[i])) return false;
        if (i + 1 < node.count && child.count > 0 &&
            child.keys[child.count - 1] >= node.keys[i + 1])
          return false;
        if (!walk(child, expected, seen, depth + 1)) return false;
      }
    }
    return true;
  }

  Node* new_node(bool leaf) {
    auto* node = static_cast<Node*>(resource_->allocate(sizeof(Node), alignof(Node)));
    ::new (node) Node{};
    for (Key& key : node->keys)
      key = kNoKey;
    node->leaf = leaf;
    return node;
  }
  void free_node(Node* node) { resource_->deallocate(node, sizeof(Node), alignof(Node)); }
  void free_tree(Node* node) {
    if (!node->leaf) {
      for (std::size_t i = 0; i < node->count; ++i)
        free_tree(static_cast<Node*>(node->slots[i]));
    }
    free_node(node);
  }
  Entry* new_entry(Micros price) {
    void* memory = resource_->allocate(sizeof(Entry), alignof(Entry));
    return ::new (memory) Entry{value_type{price, LevelT{}}, nullptr, nullptr};
  }
  void free_entry(Entry* entry) {
    entry->~Entry();
    resource_->deallocate(entry, sizeof(Entry), alignof(Entry));
  }

  std::pmr::memory_resource* resource_;
  Node* root_ = nullptr;
  Entry* best_ = nullptr;  // the list's head; each entry links the next worse
  std::size_t size_ = 0;
};

}  // namespace spotgrid::engine
