#include <gtest/gtest.h>

#include "spotgrid/ledger/postings.hpp"

namespace spotgrid::ledger {
namespace {

using engine::Event;

Event event(engine::EventBody body) {
  return Event{7, 42, 1'767'571'200, body};
}

std::vector<std::tuple<AccountId, LedgerAccount, Micros>> entries(const Posting& posting) {
  std::vector<std::tuple<AccountId, LedgerAccount, Micros>> out;
  for (const Entry& e : posting.entries())
    out.emplace_back(e.owner, e.account, e.amount);
  return out;
}

TEST(Postings, DepositCreditsCashAgainstExternal) {
  const auto posting = posting_for(event(engine::FundsMoved{3, 500, 500}));
  ASSERT_TRUE(posting);
  EXPECT_EQ(posting->kind, TxnKind::kDeposit);
  EXPECT_EQ(posting->txn_id, 42u);
  EXPECT_EQ(posting->command_seq, 7u);
  using E = std::vector<std::tuple<AccountId, LedgerAccount, Micros>>;
  EXPECT_EQ(entries(*posting),
            (E{{kPlatformOwner, LedgerAccount::kExternal, -500}, {3, LedgerAccount::kCash, 500}}));
}

TEST(Postings, WithdrawalDebitsCash) {
  const auto posting = posting_for(event(engine::FundsMoved{3, -200, 300}));
  ASSERT_TRUE(posting);
  EXPECT_EQ(posting->kind, TxnKind::kWithdrawal);
  using E = std::vector<std::tuple<AccountId, LedgerAccount, Micros>>;
  EXPECT_EQ(entries(*posting),
            (E{{kPlatformOwner, LedgerAccount::kExternal, 200}, {3, LedgerAccount::kCash, -200}}));
}

TEST(Postings, PayoutMovesTheReceivableOutOfTheMarket) {
  const auto posting = posting_for(event(engine::PayoutSent{9, 750, 250, true}));
  ASSERT_TRUE(posting);
  EXPECT_EQ(posting->kind, TxnKind::kPayout);
  EXPECT_EQ(to_string(posting->kind), "payout");
  using E = std::vector<std::tuple<AccountId, LedgerAccount, Micros>>;
  EXPECT_EQ(entries(*posting), (E{{9, LedgerAccount::kReceivable, -750},
                                  {kPlatformOwner, LedgerAccount::kExternal, 750}}));
  EXPECT_FALSE(posting_for(event(engine::PayoutScheduleSet{9, true, 0})));  // moves no money
}

TEST(Postings, HoldAndReleaseMoveBetweenCashAndHold) {
  const auto hold = posting_for(event(engine::HoldChanged{5, 99, 1'000}));
  const auto release = posting_for(event(engine::HoldChanged{5, 99, -400}));
  ASSERT_TRUE(hold && release);
  EXPECT_EQ(hold->kind, TxnKind::kHold);
  EXPECT_EQ(release->kind, TxnKind::kRelease);
  EXPECT_EQ(hold->order, 99u);
  using E = std::vector<std::tuple<AccountId, LedgerAccount, Micros>>;
  EXPECT_EQ(entries(*hold),
            (E{{5, LedgerAccount::kCash, -1'000}, {5, LedgerAccount::kHold, 1'000}}));
  EXPECT_EQ(entries(*release),
            (E{{5, LedgerAccount::kCash, 400}, {5, LedgerAccount::kHold, -400}}));
}

TEST(Postings, SettlementPaysSupplierLessFeeAndPlatformTheFee) {
  const auto posting =
      posting_for(event(engine::LeaseSettled{11, 3, 5, 9, 1'000, 50, 1'000, false}));
  ASSERT_TRUE(posting);
  EXPECT_EQ(posting->kind, TxnKind::kSettlement);
  EXPECT_EQ(posting->lease, 11u);
  using E = std::vector<std::tuple<AccountId, LedgerAccount, Micros>>;
  EXPECT_EQ(entries(*posting), (E{{5, LedgerAccount::kHold, -1'000},
                                  {9, LedgerAccount::kReceivable, 950},
                                  {kPlatformOwner, LedgerAccount::kRevenue, 50}}));
}

TEST(Postings, ZeroAmountsAreLeftOut) {
  // A charge of 1 micro-unit whose fee rounds up to all of it: the supplier gets nothing.
  const auto posting = posting_for(event(engine::LeaseSettled{11, 3, 5, 9, 1, 1, 1, false}));
  ASSERT_TRUE(posting);
  EXPECT_EQ(posting->entries().size(), 2u);
  EXPECT_FALSE(posting_for(event(engine::LeaseSettled{11, 3, 5, 9, 0, 0, 0, false})));
}

TEST(Postings, EventsThatMoveNoMoneyPostNothing) {
  EXPECT_FALSE(posting_for(event(engine::OrderFilled{1})));
  EXPECT_FALSE(posting_for(event(engine::CommandRejected{engine::Reject::kInvalidAmount})));
  EXPECT_FALSE(posting_for(event(engine::IndexPublished{0, 1'000})));
}

}  // namespace
}  // namespace spotgrid::ledger
