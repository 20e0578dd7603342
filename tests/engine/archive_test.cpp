// The canonical bytes' reader (engine/archive.hpp) against damaged input: a
// count that the bytes left cannot hold, and an enum value past its last.

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "archive.hpp"
#include "spotgrid/engine/codec.hpp"

namespace spotgrid::engine {
namespace {

using Entry = std::pair<std::int64_t, std::uint64_t>;  // 16 bytes each

TEST(Archive, a_count_the_bytes_left_cannot_hold_is_refused_before_making_room) {
  archive::Writer writer;
  writer(std::vector<Entry>{{1, 2}, {3, 4}});
  std::string bytes = writer.take();
  ASSERT_EQ(bytes.size(), 8u + 2 * 16);

  bytes[0] = 3;  // three entries, 48 bytes, in the 32 left: fewer than one byte each was enough
  std::vector<Entry> entries{{9, 9}};
  archive::Reader damaged(bytes);
  damaged(entries);
  EXPECT_FALSE(damaged.ok());
  EXPECT_TRUE(entries.empty());  // no room made for the three

  bytes[0] = 2;
  archive::Reader whole(bytes);
  whole(entries);
  EXPECT_TRUE(whole.finished());
  EXPECT_EQ(entries, (std::vector<Entry>{{1, 2}, {3, 4}}));
}

// The minimum a record takes is what a default one is written as, when it
// holds no container: the reader's bound is exact for the engine's records.
TEST(Archive, a_records_minimum_size_is_its_written_size) {
  archive::Writer writer;
  writer(OrderSpec{});
  EXPECT_EQ(archive::minimum_size<OrderSpec>(), writer.take().size());
  EXPECT_EQ(archive::minimum_size<Entry>(), 16u);
  EXPECT_EQ(archive::minimum_size<std::vector<Entry>>(), 8u);  // its count; it may be empty
}

// Decoding a logged command refuses a strategy or target kind past the last:
// the engine would otherwise read a value no command could set.
TEST(Archive, an_enum_value_past_its_last_is_refused) {
  PlaceOrder time_first;
  time_first.spec.buyer = 1;
  time_first.spec.cards = 1;
  PlaceOrder cost_first = time_first;
  cost_first.spec.strategy = Strategy::kCostFirst;
  const std::string a = encode_command(Command{100, time_first});
  const std::string b = encode_command(Command{100, cost_first});
  ASSERT_EQ(a.size(), b.size());
  std::size_t at = 0;
  while (at < a.size() && a[at] == b[at])
    ++at;
  ASSERT_LT(at, a.size());
  ASSERT_EQ(b[at], 1);  // the strategy's byte

  std::string damaged = b;
  ASSERT_TRUE(decode_command(damaged).has_value());
  damaged[at] = 2;
  EXPECT_FALSE(decode_command(damaged).has_value());
  damaged[at] = static_cast<char>(0xff);
  EXPECT_FALSE(decode_command(damaged).has_value());
}

}  // namespace
}  // namespace spotgrid::engine
