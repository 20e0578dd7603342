#pragma once
// The operator's controls (docs/architecture.md#operator-controls): halt and
// resume a pool, suspend and reinstate an account, quarantine and release a
// node, set the platform fee, publish a tariff schedule, each an engine command; and the audit of
// what the operator did.
#include <string_view>

#include "api.hpp"

namespace spotgrid::gateway {

// POST /v1/operator/pools/{pool}/halt | resume
void halt_pool(Api& api, const Principal& caller, const HttpRequest& request,
               std::string_view pool_name, bool halted, Respond respond);
// POST /v1/operator/accounts/{id}/suspend {stop_leases?} | reinstate
void suspend_account(Api& api, const Principal& caller, const HttpRequest& request,
                     AccountId account, bool suspended, Respond respond);
// POST /v1/operator/nodes/{id}/quarantine | release
void quarantine_node(Api& api, const Principal& caller, const HttpRequest& request, NodeId node,
                     bool quarantined, Respond respond);
// GET /v1/operator/platform-fee: the fee leases starting now pay.
void platform_fee(Api& api, const Principal& caller, const Respond& respond);
// PUT /v1/operator/platform-fee {fee_bp}: leases that start from now pay it.
void set_platform_fee(Api& api, const Principal& caller, const HttpRequest& request,
                      Respond respond);
// POST /v1/operator/tariffs {effective_from, regions}: a tariff schedule in
// force from a future hour, for leases that start after it is published.
void publish_tariff_schedule(Api& api, const Principal& caller, const HttpRequest& request,
                             Respond respond);
// POST /v1/operator/gpu-models {model, vendor, memory_gib, bf16_tflops,
// memory_bandwidth_gbps, compute_units, reference_price_micros_per_card_hour}:
// the next pool, open at once.
void add_gpu_model(Api& api, const Principal& caller, const HttpRequest& request, Respond respond);
// GET /v1/operator/audit?from=&to=: the operator's commands in a range.
void operator_audit(Api& api, const Principal& caller, const HttpRequest& request,
                    const Respond& respond);

}  // namespace spotgrid::gateway
