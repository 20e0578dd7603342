// PriceLevels, the flat book side: levels best first for either side, found,
// added and removed anywhere, and read back from a snapshot only in order.
#include "price_levels.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <random>
#include <vector>

#include "archive.hpp"
#include "state.hpp"  // Level

namespace spotgrid::engine {
namespace {

template <typename Levels>
std::vector<Micros> prices(const Levels& levels) {
  std::vector<Micros> out;
  for (const auto& [price, level] : levels)
    out.push_back(price);
  return out;
}

TEST(PriceLevels, AsksRunCheapestFirstAndBidsHighestFirst) {
  PriceLevels<Level, std::less<>> asks;
  PriceLevels<Level, std::greater<>> bids;
  for (const Micros price : {300, 100, 200, 500, 400}) {
    asks[price].cards = static_cast<std::uint32_t>(price);
    bids[price].cards = static_cast<std::uint32_t>(price);
  }
  EXPECT_EQ(prices(asks), (std::vector<Micros>{100, 200, 300, 400, 500}));
  EXPECT_EQ(prices(bids), (std::vector<Micros>{500, 400, 300, 200, 100}));
  EXPECT_EQ(asks.begin()->first, 100);
  EXPECT_EQ(bids.begin()->first, 500);
  EXPECT_EQ(asks.find(300)->second.cards, 300u);
  EXPECT_EQ(bids.find(300)->second.cards, 300u);
  EXPECT_EQ(asks.find(250), asks.end());
  EXPECT_EQ(bids.find(600), bids.end());
  asks[300].entries = 7;  // an existing level: found, not added
  EXPECT_EQ(asks.size(), 5u);
  EXPECT_EQ(asks.find(300)->second.entries, 7u);
}

TEST(PriceLevels, ErasesTheBestTheWorstAndBetween) {
  PriceLevels<Level, std::greater<>> bids;
  for (const Micros price : {1, 2, 3, 4, 5})
    bids[price];
  bids.erase(bids.find(5));  // the best
  bids.erase(bids.find(1));  // the worst
  bids.erase(bids.find(3));
  EXPECT_EQ(prices(bids), (std::vector<Micros>{4, 2}));
  bids.erase(bids.begin());
  bids.erase(bids.begin());
  EXPECT_TRUE(bids.empty());
}

TEST(PriceLevels, KeepsTheOrderOfAMapThroughRandomChanges) {
  std::mt19937_64 random(11);
  PriceLevels<Level, std::less<>> levels;
  std::map<Micros, Level> reference;
  for (int i = 0; i < 20'000; ++i) {
    const auto price = static_cast<Micros>(random() % 500);
    if (random() % 3 == 0) {
      const auto found = levels.find(price);
      ASSERT_EQ(found == levels.end(), reference.count(price) == 0);
      if (found != levels.end()) {
        levels.erase(found);
        reference.erase(price);
      }
    } else {
      levels[price].cards += 1;
      reference[price].cards += 1;
    }
  }
  std::vector<std::pair<Micros, std::uint32_t>> got, want;
  for (const auto& [price, level] : levels)
    got.emplace_back(price, level.cards);
  for (const auto& [price, level] : reference)
    want.emplace_back(price, level.cards);
  EXPECT_EQ(got, want);
}

// A snapshot written while the levels were a std::map restores into them, and
// levels out of order (a damaged snapshot) do not restore. (Cards stand in for
// a level here: the archive writes the engine's Level in snapshot.cpp.)
TEST(PriceLevels, ReadsWhatAMapWroteAndRefusesLevelsOutOfOrder) {
  using Cards = std::uint32_t;
  const std::map<Micros, Cards, std::greater<>> old_bids{{10, 1}, {30, 3}, {20, 2}};
  archive::Writer writer;
  writer(old_bids);
  const std::string bytes = writer.take();

  PriceLevels<Cards, std::greater<>> bids;
  archive::Reader reader(bytes);
  reader(bids);
  ASSERT_TRUE(reader.finished());
  EXPECT_EQ(prices(bids), (std::vector<Micros>{30, 20, 10}));
  EXPECT_EQ(bids.find(20)->second, 2u);

  archive::Writer rewriter;  // and writes the same bytes back
  rewriter(bids);
  EXPECT_EQ(rewriter.take(), bytes);

  PriceLevels<Cards, std::less<>> asks;  // the same bytes are in the wrong order for asks
  archive::Reader wrong_side(bytes);
  wrong_side(asks);
  EXPECT_FALSE(wrong_side.ok());
  EXPECT_TRUE(asks.empty());

  archive::Writer twice;  // one price twice
  twice(std::uint64_t{2}, Micros{5}, Cards{1}, Micros{5}, Cards{2});
  const std::string repeated = twice.take();
  PriceLevels<Cards, std::less<>> again;
  archive::Reader reread(repeated);
  reread(again);
  EXPECT_FALSE(reread.ok());
}

}  // namespace
}  // namespace spotgrid::engine
