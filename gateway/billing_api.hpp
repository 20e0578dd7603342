#pragma once
// Finance routes (docs/architecture.md#finance-reports): billing exports streamed from one
// snapshot, and the trial balance.
#include "api.hpp"

namespace spotgrid::gateway {

// GET /v1/billing/export?from=&to=&format=csv|json|focus; from/to are Unix
// seconds or UTC dates ("2026-11-01", "2026-11-01T00:00:00Z"), to exclusive.
void billing_export(Api& api, const Principal& caller, const HttpRequest& request,
                    Respond& respond);
// GET /v1/billing/invoices|payouts?month=YYYY-MM[&format=json|csv][&account=N]:
// a buyer's invoices or a supplier's payout statements for a month; finance and
// operator see every account's (or one's, with account=).
void billing_statements(Api& api, const Principal& caller, const HttpRequest& request,
                        bool invoices, Respond& respond);
// GET /v1/billing/payout-transfers?from=&to=[&format=json|csv][&account=N]: the
// payouts made in a range, each with the reference an operator reconciles
// against the bank's file; a supplier sees their own.
void payout_transfers(Api& api, const Principal& caller, const HttpRequest& request,
                      Respond& respond);
// GET /v1/ledger/trial-balance: every ledger account kind's total (finance, operator).
void ledger_trial_balance(Api& api, const Principal& caller, Respond& respond);

}  // namespace spotgrid::gateway
