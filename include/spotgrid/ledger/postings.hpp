#pragma once
// How engine events become double-entry ledger transactions (docs/architecture.md#ledger-rules).
// Pure: no I/O, so the rules are tested without a database.
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "spotgrid/engine/event.hpp"
#include "spotgrid/engine/types.hpp"

namespace spotgrid::ledger {

// The platform's own accounts belong to owner 0, which the engine never issues.
inline constexpr AccountId kPlatformOwner = 0;

enum class LedgerAccount : std::uint8_t {
  kCash,        // a buyer's spendable funds
  kHold,        // reserved by open orders and running leases
  kReceivable,  // what the platform owes a supplier
  kRevenue,     // the platform's fees
  kExternal,    // money outside the platform; deposits drive it negative
};
std::string_view to_string(LedgerAccount account);

enum class TxnKind : std::uint8_t { kDeposit, kWithdrawal, kHold, kRelease, kSettlement, kPayout };
std::string_view to_string(TxnKind kind);

struct Entry {
  AccountId owner = 0;
  LedgerAccount account = LedgerAccount::kCash;
  Micros amount = 0;  // credit-positive: what the platform owes the owner
};

struct Posting {
  std::uint64_t txn_id = 0;  // the event's sequence: unique and replay-stable
  std::uint64_t command_seq = 0;
  UnixSeconds at = 0;
  TxnKind kind = TxnKind::kDeposit;
  OrderId order = 0;
  LeaseId lease = 0;
  std::array<Entry, 3> entry_storage{};
  std::uint8_t entry_count = 0;

  std::span<const Entry> entries() const { return {entry_storage.data(), entry_count}; }
};

// A ledger transaction's id: the sequence of the event that caused it, so
// replay can never post it twice.
inline std::uint64_t txn_id_of(const engine::Event& event) {
  return event.event_seq;
}

// "spotgrid-po-<txn id>": unique, stable, and what a payout's bank transfer
// carries, for reconciliation.
inline std::string payout_reference(std::uint64_t txn_id) {
  return "spotgrid-po-" + std::to_string(txn_id);
}

// The ledger transaction an event implies, if it moves money. Entries with a
// zero amount are left out; an event that moves nothing yields none.
std::optional<Posting> posting_for(const engine::Event& event);

}  // namespace spotgrid::ledger
