#pragma once
// Finance routes (DESIGN §7, §9): billing exports streamed from one snapshot,
// and the trial balance.
#include "api.hpp"

namespace spotgrid::gateway {

// GET /v1/billing/export?from=&to=&format=csv|json|focus; from/to are Unix
// seconds or UTC dates ("2026-11-01", "2026-11-01T00:00:00Z"), to exclusive.
void billing_export(Api& api, const Principal& caller, const HttpRequest& request,
                    Respond& respond);
// GET /v1/ledger/trial-balance: every ledger account kind's total (finance, operator).
void ledger_trial_balance(Api& api, const Principal& caller, Respond& respond);

}  // namespace spotgrid::gateway
