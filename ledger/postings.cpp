#include "spotgrid/ledger/postings.hpp"

#include <cassert>
#include <numeric>

namespace spotgrid::ledger {

using engine::Event;

std::string_view to_string(LedgerAccount account) {
  switch (account) {
    case LedgerAccount::kCash:
      return "cash";
    case LedgerAccount::kHold:
      return "hold";
    case LedgerAccount::kReceivable:
      return "receivable";
    case LedgerAccount::kRevenue:
      return "revenue";
    case LedgerAccount::kExternal:
      return "external";
  }
  return "?";
}

std::string_view to_string(TxnKind kind) {
  switch (kind) {
    case TxnKind::kDeposit:
      return "deposit";
    case TxnKind::kWithdrawal:
      return "withdrawal";
    case TxnKind::kHold:
      return "hold";
    case TxnKind::kRelease:
      return "release";
    case TxnKind::kSettlement:
      return "settlement";
    case TxnKind::kPayout:
      return "payout";
  }
  return "?";
}

namespace {

class Builder {
 public:
  Builder(const Event& event, TxnKind kind) {
    posting_.txn_id = txn_id_of(event);
    posting_.command_seq = event.command_seq;
    posting_.at = event.at;
    posting_.kind = kind;
  }
  Builder& refs(OrderId order, LeaseId lease) {
    posting_.order = order;
    posting_.lease = lease;
    return *this;
  }
  Builder& entry(AccountId owner, LedgerAccount account, Micros amount) {
    if (amount != 0) posting_.entry_storage[posting_.entry_count++] = Entry{owner, account, amount};
    return *this;
  }
  std::optional<Posting> done() const {
    if (posting_.entry_count == 0) return std::nullopt;
    assert(std::accumulate(posting_.entries().begin(), posting_.entries().end(), Micros{0},
                           [](Micros sum, const Entry& e) { return sum + e.amount; }) == 0);
    return posting_;
  }

 private:
  Posting posting_;
};

struct ToPosting {
  const Event& event;

  std::optional<Posting> operator()(const engine::FundsMoved& b) const {
    const bool deposit = b.amount > 0;
    return Builder(event, deposit ? TxnKind::kDeposit : TxnKind::kWithdrawal)
        .entry(kPlatformOwner, LedgerAccount::kExternal, -b.amount)
        .entry(b.account, LedgerAccount::kCash, b.amount)
        .done();
  }
  std::optional<Posting> operator()(const engine::HoldChanged& b) const {
    return Builder(event, b.amount > 0 ? TxnKind::kHold : TxnKind::kRelease)
        .refs(b.order, 0)
        .entry(b.buyer, LedgerAccount::kCash, -b.amount)
        .entry(b.buyer, LedgerAccount::kHold, b.amount)
        .done();
  }
  std::optional<Posting> operator()(const engine::LeaseSettled& b) const {
    return Builder(event, TxnKind::kSettlement)
        .refs(0, b.lease)
        .entry(b.buyer, LedgerAccount::kHold, -b.charge)
        .entry(b.supplier, LedgerAccount::kReceivable, b.charge - b.platform_fee)
        .entry(kPlatformOwner, LedgerAccount::kRevenue, b.platform_fee)
        .done();
  }
  std::optional<Posting> operator()(const engine::PayoutSent& b) const {
    return Builder(event, TxnKind::kPayout)
        .entry(b.supplier, LedgerAccount::kReceivable, -b.amount)
        .entry(kPlatformOwner, LedgerAccount::kExternal, b.amount)
        .done();
  }
  template <typename Other>
  std::optional<Posting> operator()(const Other&) const {
    return std::nullopt;
  }
};

}  // namespace

std::optional<Posting> posting_for(const Event& event) {
  return std::visit(ToPosting{event}, event.body);
}

}  // namespace spotgrid::ledger
