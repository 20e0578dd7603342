#include "api.hpp"

#include "api_support.hpp"

#include <algorithm>
#include <array>
#include <string_view>
#include <vector>

#include "billing_api.hpp"
#include "front_door.hpp"
#include "keys_api.hpp"
#include "market_api.hpp"
#include "operator_api.hpp"
#include "orders_api.hpp"
#include "spotgrid/engine/limits.hpp"
#include "spotgrid/finance/payouts.hpp"
#include "spotgrid/ledger/postings.hpp"
#include "spotgrid/util/check.hpp"
#include "spotgrid/util/utc.hpp"
#include "supply_api.hpp"
#include "webhooks_api.hpp"

namespace spotgrid::gateway {

namespace {

// POST /v1/accounts (operator): a new account and its first API key.
void create_account(Api& api, const Principal& caller, const HttpRequest& request,
                    const Respond& respond) {
  if (caller.role != Role::kOperator) return respond(forbidden());
  JsonBody body(request.body);
  body.only({"name", "role"});
  const auto name = body.text("name", 128);
  const auto role_name = body.text("role", 16);
  if (body.problem()) return respond(bad_request(*body.problem()));
  const auto role = role_from(*role_name);
  if (!role || *role == Role::kOperator) {
    return respond(error_response(400, "invalid_field",
                                  "role must be buyer, supplier, finance or agent", "role"));
  }
  const auto answer = [&](AccountId account, std::string_view api_key) {
    return json(201, [&](Writer& w) {
      field(w, "account_id", account);
      field(w, "name", *name);
      field(w, "role", to_string(*role));
      field(w, "api_key", api_key);  // shown once; only its hash is stored
    });
  };
  try {
    std::optional<ledger::RequestKey> key;
    if (api.idempotency) {
      key = ledger::RequestKey{api.idempotency->scope, api.idempotency->key,
                               api.idempotency->fingerprint, api.idempotency->lifetime_seconds,
                               nullptr};
    }
    const auto created =
        api.keys.create_account(*name, *role, key ? &*key : nullptr, [&](AccountId account) {
          const HttpResponse stored = answer(account, "");
          return ledger::StoredAnswer{stored.status, redact_secrets(stored.body)};
        });
    respond(answer(created.first, created.second.token()));
  } catch (const std::exception&) {
    respond(error_response(503, "unavailable", "storage is unavailable: nothing was created"));
  }
}

// POST /v1/accounts/{id}/deposits (operator): credits cash, once committed.
void deposit(Api& api, const Principal& caller, const HttpRequest& request, AccountId account,
             Respond respond) {
  if (caller.role != Role::kOperator) return respond(forbidden());
  JsonBody body(request.body);
  body.only({"amount_micros"});
  const auto amount = body.integer("amount_micros", 1, limits::kMaxAccountBalance);
  if (body.problem()) return respond(bad_request(*body.problem()));
  const auto exists = api.keys.account_exists(account);
  if (!exists) return respond(error_response(503, "unavailable", "storage is unavailable"));
  if (!*exists) return respond(error_response(404, "not_found", "no such account", "account_id"));
  submit_then(api, engine::Deposit{account, *amount}, std::move(respond),
              "the market refused the deposit", [account](const ledger::Completion& done) {
                const auto* moved = first_event<engine::FundsMoved>(done);
                return json(201, [&](Writer& w) {
                  field(w, "account_id", account);
                  field(w, "command_seq", done.command_seq);
                  field(w, "cash_micros", moved == nullptr ? 0 : moved->cash_after);
                });
              });
}

// POST /v1/account/withdrawals {amount_micros}: available cash out of the
// market (a ledger withdrawal, cash -> external), once committed. Holds and
// receivables are not cash: they cannot be withdrawn.
void withdraw(Api& api, const Principal& caller, const HttpRequest& request, Respond respond) {
  if (caller.role != Role::kBuyer && caller.role != Role::kSupplier) return respond(forbidden());
  JsonBody body(request.body);
  body.only({"amount_micros"});
  const auto amount = body.integer("amount_micros", 1, limits::kMaxAccountBalance);
  if (body.problem()) return respond(bad_request(*body.problem()));
  submit_then(api, engine::Withdraw{caller.account, *amount}, std::move(respond),
              "the market refused the withdrawal",
              [account = caller.account](const ledger::Completion& done) {
                const auto* moved = first_event<engine::FundsMoved>(done);
                return json(201, [&](Writer& w) {
                  field(w, "account_id", account);
                  field(w, "command_seq", done.command_seq);
                  field(w, "withdrawn_micros", moved == nullptr ? 0 : -moved->amount);
                  field(w, "cash_micros", moved == nullptr ? 0 : moved->cash_after);
                });
              });
}

// POST /v1/account/payouts {amount_micros}: a supplier's earnings out of the
// market (a ledger payout, receivable -> external), once committed; whole cents
// of at most what is payable. Money out must never leave twice, so a payout
// needs an Idempotency-Key: a retry after a lost answer answers the first.
void request_payout(Api& api, const Principal& caller, const HttpRequest& request,
                    Respond respond) {
  if (caller.role != Role::kSupplier) return respond(forbidden());
  if (!api.idempotency) {
    return respond(error_response(
        400, "missing_header",
        "a payout needs an Idempotency-Key (any unique text) so that a retry cannot pay twice",
        "Idempotency-Key"));
  }
  JsonBody body(request.body);
  body.only({"amount_micros"});
  const auto amount = body.integer("amount_micros", 1, limits::kMaxAccountBalance);
  if (body.problem()) return respond(bad_request(*body.problem()));
  if (*amount % limits::kPayoutStepMicros != 0) {
    return respond(
        error_response(400, "invalid_field",
                       "amount_micros must be whole cents (a multiple of 10000): banks move cents",
                       "amount_micros"));
  }
  submit_then(api, engine::Payout{caller.account, *amount}, std::move(respond),
              "the market refused the payout", [](const ledger::Completion& done) {
                const engine::Event* sent = first_event_of<engine::PayoutSent>(done);
                if (sent == nullptr)
                  return error_response(500, "internal", "the market answered without its event");
                const auto& payout = std::get<engine::PayoutSent>(sent->body);
                return json(201, [&](Writer& w) {
                  field(w, "reference", ledger::payout_reference(ledger::txn_id_of(*sent)));
                  field(w, "account_id", payout.supplier);
                  field(w, "amount_micros", payout.amount);
                  field(w, "receivable_micros", payout.receivable_after);
                  field(w, "paid_at", util::format_utc(sent->at));
                  field(w, "command_seq", done.command_seq);
                });
              });
}

// PUT /v1/account/payout-schedule {daily, minimum_micros}: pay what is payable
// out at each UTC midnight when it is at least the minimum; {daily: false} ends it.
void set_payout_schedule(Api& api, const Principal& caller, const HttpRequest& request,
                         Respond respond) {
  if (caller.role != Role::kSupplier) return respond(forbidden());
  JsonBody body(request.body);
  body.only({"daily", "minimum_micros"});
  const auto daily = body.boolean("daily");
  const bool has_minimum = body.has("minimum_micros");
  const auto minimum = has_minimum ? body.integer("minimum_micros", 0, limits::kMaxAccountBalance)
                                   : std::optional<std::int64_t>(0);
  if (body.problem()) return respond(bad_request(*body.problem()));
  if (*daily != has_minimum) {
    return respond(error_response(
        400, "invalid_field",
        *daily ? "a daily schedule needs minimum_micros (0 pays any whole cents)"
               : "minimum_micros belongs to a daily schedule; send {\"daily\": false} alone",
        "minimum_micros"));
  }
  submit_then(api, engine::SetPayoutSchedule{caller.account, *daily, *minimum}, std::move(respond),
              "the market refused the schedule", [](const ledger::Completion& done) {
                const auto* set = first_event<engine::PayoutScheduleSet>(done);
                if (set == nullptr)
                  return error_response(500, "internal", "the market answered without its event");
                return json(200, [&](Writer& w) {
                  field(w, "daily", set->daily);
                  field(w, "minimum_micros", set->minimum);
                  field(w, "command_seq", done.command_seq);
                });
              });
}

// GET /v1/account: the caller's own balances.
void own_account(Api& api, const Principal& caller, const Respond& respond) {
  if (is_platform_role(caller.role)) return respond(forbidden());
  const ledger::ReadModel& model = api.market.committed();
  if (!model.ready()) return respond(recovering());
  const std::uint64_t seq = model.committed_seq();
  const engine::AccountView view = model.account(caller.account);
  respond(as_of(seq, json(200, [&](Writer& w) {
                  field(w, "account_id", caller.account);
                  field(w, "role", to_string(caller.role));
                  field(w, "cash_micros", view.cash);
                  field(w, "hold_micros", view.hold);
                  field(w, "receivable_micros", view.receivable);
                  field(w, "suspended", view.suspended);
                  if (caller.role == Role::kSupplier) {
                    field(w, "payable_micros", view.payable);
                    key(w, "payout_schedule");
                    w.StartObject();
                    field(w, "daily", view.pays_out_daily);
                    field(w, "minimum_micros", view.payout_minimum);
                    w.EndObject();
                  }
                })));
}

}  // namespace

namespace {

// A path parameter: "{...}" in a pattern matches one non-empty segment.
using Params = std::vector<std::string_view>;
// `respond` may be moved from (to answer after a commit).
using RouteHandler = void (*)(Api&, const Principal&, HttpRequest&, const Params&, Respond&);

// How a route runs. kHere: on the I/O thread, because it is cheap or it only
// hands a command to the engine and answers from the commit. kOnWorker: it
// waits on PostgreSQL, so it runs on the worker pool.
// kOnMarketWorker: market data from PostgreSQL, on a worker of its own.
enum class Runs : std::uint8_t { kHere, kOnWorker, kOnMarketWorker };

// Who may call a route: any caller with a key (or a browser session), or
// anyone, for market data (the public is rate-limited by address).
enum class Access : std::uint8_t { kKey, kAnyone };

struct V1Route {
  const char* method;
  const char* path;
  Runs runs;
  Access access;
  RouteHandler handle;
  // The query parameters it reads, space-separated: any other is refused, as
  // an unknown body field is (a misspelt filter must not be ignored silently).
  const char* query = "";
};

template <typename Id, typename Handle>
void with_id(std::string_view segment, const Respond& respond, Handle&& handle) {
  const auto id = id_of<Id>(segment);
  if (!id) return respond(error_response(404, "not_found", "no such id", "id"));
  handle(*id);
}

// Every /v1 route, in one table: dispatch reads it, and so does the test that
// holds the OpenAPI document to what the server serves.
const V1Route kV1Routes[] = {
    {"POST", "/v1/accounts", Runs::kOnWorker, Access::kKey,
     [](Api& api, const Principal& caller, HttpRequest& request, const Params&, Respond& respond) {
       create_account(api, caller, request, respond);
     }},
    {"POST", "/v1/accounts/{account_id}/deposits", Runs::kOnWorker, Access::kKey,
     [](Api& api, const Principal& caller, HttpRequest& request, const Params& params,
        Respond& respond) {
       with_id<AccountId>(params[0], respond, [&](AccountId id) {
         deposit(api, caller, request, id, std::move(respond));
       });
     }},
    {"POST", "/v1/account/withdrawals", Runs::kHere, Access::kKey,
     [](Api& api, const Principal& caller, HttpRequest& request, const Params&, Respond& respond) {
       withdraw(api, caller, request, std::move(respond));
     }},
    {"POST", "/v1/account/payouts", Runs::kHere, Access::kKey,
     [](Api& api, const Principal& caller, HttpRequest& request, const Params&, Respond& respond) {
       request_payout(api, caller, request, std::move(respond));
     }},
    {"PUT", "/v1/account/payout-schedule", Runs::kHere, Access::kKey,
     [](Api& api, const Principal& caller, HttpRequest& request, const Params&, Respond& respond) {
       set_payout_schedule(api, caller, request, std::move(respond));
     }},
    {"POST", "/v1/keys", Runs::kOnWorker, Access::kKey,
     [](Api& api, const Principal& caller, HttpRequest& request, const Params&, Respond& respond) {
       create_key(api, caller, request, respond);
     }},
    {"GET", "/v1/keys", Runs::kOnWorker, Access::kKey,
     [](Api& api, const Principal& caller, HttpRequest&, const Params&, Respond& respond) {
       list_keys(api, caller, respond);
     }},
    {"POST", "/v1/keys/{key_id}/rotate", Runs::kOnWorker, Access::kKey,
     [](Api& api, const Principal& caller, HttpRequest& request, const Params& params,
        Respond& respond) { rotate_key(api, caller, params[0], request, respond); }},
    {"DELETE", "/v1/keys/{key_id}", Runs::kOnWorker, Access::kKey,
     [](Api& api, const Principal& caller, HttpRequest&, const Params& params, Respond& respond) {
       revoke_key(api, caller, params[0], respond);
     }},
    {"POST", "/v1/webhooks", Runs::kOnWorker, Access::kKey,
     [](Api& api, const Principal& caller, HttpRequest& request, const Params&, Respond& respond) {
       create_webhook(api, caller, request, respond);
     }},
    {"GET", "/v1/webhooks", Runs::kOnWorker, Access::kKey,
     [](Api& api, const Principal& caller, HttpRequest&, const Params&, Respond& respond) {
       list_webhooks(api, caller, respond);
     }},
    {"DELETE", "/v1/webhooks/{endpoint_id}", Runs::kOnWorker, Access::kKey,
     [](Api& api, const Principal& caller, HttpRequest&, const Params& params, Respond& respond) {
       with_id<std::int64_t>(params[0], respond,
                             [&](std::int64_t id) { delete_webhook(api, caller, id, respond); });
     }},
    {"GET", "/v1/webhooks/{endpoint_id}/deliveries", Runs::kOnWorker, Access::kKey,
     [](Api& api, const Principal& caller, HttpRequest& request, const Params& params,
        Respond& respond) {
       with_id<std::int64_t>(params[0], respond, [&](std::int64_t id) {
         webhook_deliveries(api, caller, id, request, respond);
       });
     },
     "state from to limit cursor"},
    {"GET", "/v1/account", Runs::kHere, Access::kKey,
     [](Api& api, const Principal& caller, HttpRequest&, const Params&, Respond& respond) {
       own_account(api, caller, respond);
     }},
    {"POST", "/v1/quotes", Runs::kHere, Access::kKey,
     [](Api& api, const Principal& caller, HttpRequest& request, const Params&, Respond& respond) {
       quote_order(api, caller, request, respond);
     }},
    {"POST", "/v1/orders", Runs::kHere, Access::kKey,
     [](Api& api, const Principal& caller, HttpRequest& request, const Params&, Respond& respond) {
       place_order(api, caller, request, std::move(respond));
     }},
    {"GET", "/v1/orders/{order_id}", Runs::kHere, Access::kKey,
     [](Api& api, const Principal& caller, HttpRequest&, const Params& params, Respond& respond) {
       with_id<OrderId>(params[0], respond,
                        [&](OrderId id) { get_order(api, caller, id, respond); });
     }},
    {"DELETE", "/v1/orders/{order_id}", Runs::kHere, Access::kKey,
     [](Api& api, const Principal& caller, HttpRequest&, const Params& params, Respond& respond) {
       with_id<OrderId>(params[0], respond,
                        [&](OrderId id) { cancel_order(api, caller, id, std::move(respond)); });
     }},
    {"POST", "/v1/orders/{order_id}/amend", Runs::kHere, Access::kKey,
     [](Api& api, const Principal& caller, HttpRequest& request, const Params& params,
        Respond& respond) {
       with_id<OrderId>(params[0], respond, [&](OrderId id) {
         amend_order(api, caller, id, request, std::move(respond));
       });
     }},
    {"POST", "/v1/nodes", Runs::kHere, Access::kKey,
     [](Api& api, const Principal& caller, HttpRequest& request, const Params&, Respond& respond) {
       register_node(api, caller, request, std::move(respond));
     }},
    {"GET", "/v1/nodes/{node_id}/agent-key", Runs::kHere, Access::kKey,
     [](Api& api, const Principal& caller, HttpRequest&, const Params& params, Respond& respond) {
       with_id<NodeId>(params[0], respond,
                       [&](NodeId id) { node_agent_key(api, caller, id, respond); });
     }},
    {"POST", "/v1/listings", Runs::kHere, Access::kKey,
     [](Api& api, const Principal& caller, HttpRequest& request, const Params&, Respond& respond) {
       add_listing(api, caller, request, std::move(respond));
     }},
    {"DELETE", "/v1/listings/{listing_id}", Runs::kHere, Access::kKey,
     [](Api& api, const Principal& caller, HttpRequest&, const Params& params, Respond& respond) {
       with_id<ListingId>(params[0], respond, [&](ListingId id) {
         withdraw_listing(api, caller, id, std::move(respond));
       });
     }},
    {"POST", "/v1/leases/{lease_id}/stop", Runs::kHere, Access::kKey,
     [](Api& api, const Principal& caller, HttpRequest&, const Params& params, Respond& respond) {
       with_id<LeaseId>(params[0], respond,
                        [&](LeaseId id) { stop_lease(api, caller, id, std::move(respond)); });
     }},
    {"POST", "/v1/leases/{lease_id}/reclaim", Runs::kHere, Access::kKey,
     [](Api& api, const Principal& caller, HttpRequest&, const Params& params, Respond& respond) {
       with_id<LeaseId>(params[0], respond,
                        [&](LeaseId id) { reclaim_lease(api, caller, id, std::move(respond)); });
     }},
    {"GET", "/v1/leases/{lease_id}", Runs::kHere, Access::kKey,
     [](Api& api, const Principal& caller, HttpRequest&, const Params& params, Respond& respond) {
       with_id<LeaseId>(params[0], respond,
                        [&](LeaseId id) { get_lease(api, caller, id, respond); });
     }},
    {"GET", "/v1/leases/{lease_id}/energy", Runs::kOnWorker, Access::kKey,
     [](Api& api, const Principal& caller, HttpRequest&, const Params& params, Respond& respond) {
       with_id<LeaseId>(params[0], respond,
                        [&](LeaseId id) { lease_energy(api, caller, id, respond); });
     }},
    {"GET", "/v1/leases", Runs::kOnWorker, Access::kKey,
     [](Api& api, const Principal& caller, HttpRequest& request, const Params&, Respond& respond) {
       own_leases(api, caller, request, respond);
     },
     "state cursor limit pool from to"},
    {"GET", "/v1/market/{pool}/index", Runs::kHere, Access::kAnyone,
     [](Api& api, const Principal&, HttpRequest&, const Params& params, Respond& respond) {
       pool_index(api, params[0], respond);
     }},
    {"GET", "/v1/market/{pool}/trades", Runs::kOnMarketWorker, Access::kAnyone,
     [](Api& api, const Principal&, HttpRequest& request, const Params& params, Respond& respond) {
       pool_trades(api, params[0], request, respond);
     },
     "from to limit cursor"},
    {"GET", "/v1/market/{pool}/history", Runs::kOnMarketWorker, Access::kAnyone,
     [](Api& api, const Principal&, HttpRequest&, const Params& params, Respond& respond) {
       pool_history(api, params[0], respond);
     }},
    {"GET", "/v1/billing/export", Runs::kOnWorker, Access::kKey,
     [](Api& api, const Principal& caller, HttpRequest& request, const Params&, Respond& respond) {
       billing_export(api, caller, request, respond);
     },
     "from to format"},
    {"GET", "/v1/billing/invoices", Runs::kOnWorker, Access::kKey,
     [](Api& api, const Principal& caller, HttpRequest& request, const Params&, Respond& respond) {
       billing_statements(api, caller, request, true, respond);
     },
     "month format account"},
    {"GET", "/v1/billing/payouts", Runs::kOnWorker, Access::kKey,
     [](Api& api, const Principal& caller, HttpRequest& request, const Params&, Respond& respond) {
       billing_statements(api, caller, request, false, respond);
     },
     "month format account"},
    {"GET", "/v1/billing/payout-transfers", Runs::kOnWorker, Access::kKey,
     [](Api& api, const Principal& caller, HttpRequest& request, const Params&, Respond& respond) {
       payout_transfers(api, caller, request, respond);
     },
     "from to format account"},
    {"GET", "/v1/ledger/trial-balance", Runs::kOnWorker, Access::kKey,
     [](Api& api, const Principal& caller, HttpRequest&, const Params&, Respond& respond) {
       ledger_trial_balance(api, caller, respond);
     }},
    {"GET", "/v1/orders", Runs::kOnWorker, Access::kKey,
     [](Api& api, const Principal& caller, HttpRequest& request, const Params&, Respond& respond) {
       own_orders(api, caller, request, respond);
     },
     "state cursor limit pool from to"},
    {"GET", "/v1/nodes", Runs::kOnWorker, Access::kKey,
     [](Api& api, const Principal& caller, HttpRequest&, const Params&, Respond& respond) {
       own_supply(api, caller, SupplyView::kNodes, respond);
     }},
    {"GET", "/v1/listings", Runs::kOnWorker, Access::kKey,
     [](Api& api, const Principal& caller, HttpRequest&, const Params&, Respond& respond) {
       own_supply(api, caller, SupplyView::kListings, respond);
     }},
    {"GET", "/v1/billing/earnings", Runs::kOnWorker, Access::kKey,
     [](Api& api, const Principal& caller, HttpRequest&, const Params&, Respond& respond) {
       own_supply(api, caller, SupplyView::kEarnings, respond);
     }},
    {"GET", "/v1/market/pools", Runs::kHere, Access::kAnyone,
     [](Api& api, const Principal&, HttpRequest&, const Params&, Respond& respond) {
       market_pools(api, respond);
     }},
    {"GET", "/v1/market/tariffs", Runs::kHere, Access::kAnyone,
     [](Api& api, const Principal&, HttpRequest& request, const Params&, Respond& respond) {
       market_tariffs(api, request, respond);
     },
     "from hours"},
    {"GET", "/v1/market/{pool}/candles", Runs::kOnMarketWorker, Access::kAnyone,
     [](Api& api, const Principal&, HttpRequest& request, const Params& params, Respond& respond) {
       pool_candles(api, params[0], request, respond);
     },
     "interval from to source"},
    {"POST", "/v1/operator/pools/{pool}/halt", Runs::kHere, Access::kKey,
     [](Api& api, const Principal& caller, HttpRequest& request, const Params& params,
        Respond& respond) {
       halt_pool(api, caller, request, params[0], true, std::move(respond));
     }},
    {"POST", "/v1/operator/pools/{pool}/resume", Runs::kHere, Access::kKey,
     [](Api& api, const Principal& caller, HttpRequest& request, const Params& params,
        Respond& respond) {
       halt_pool(api, caller, request, params[0], false, std::move(respond));
     }},
    {"POST", "/v1/operator/accounts/{account_id}/suspend", Runs::kOnWorker, Access::kKey,
     [](Api& api, const Principal& caller, HttpRequest& request, const Params& params,
        Respond& respond) {
       with_id<AccountId>(params[0], respond, [&](AccountId id) {
         suspend_account(api, caller, request, id, true, std::move(respond));
       });
     }},
    {"POST", "/v1/operator/accounts/{account_id}/reinstate", Runs::kOnWorker, Access::kKey,
     [](Api& api, const Principal& caller, HttpRequest& request, const Params& params,
        Respond& respond) {
       with_id<AccountId>(params[0], respond, [&](AccountId id) {
         suspend_account(api, caller, request, id, false, std::move(respond));
       });
     }},
    {"POST", "/v1/operator/nodes/{node_id}/quarantine", Runs::kHere, Access::kKey,
     [](Api& api, const Principal& caller, HttpRequest& request, const Params& params,
        Respond& respond) {
       with_id<NodeId>(params[0], respond, [&](NodeId id) {
         quarantine_node(api, caller, request, id, true, std::move(respond));
       });
     }},
    {"POST", "/v1/operator/nodes/{node_id}/release", Runs::kHere, Access::kKey,
     [](Api& api, const Principal& caller, HttpRequest& request, const Params& params,
        Respond& respond) {
       with_id<NodeId>(params[0], respond, [&](NodeId id) {
         quarantine_node(api, caller, request, id, false, std::move(respond));
       });
     }},
    {"GET", "/v1/operator/platform-fee", Runs::kHere, Access::kKey,
     [](Api& api, const Principal& caller, HttpRequest&, const Params&, Respond& respond) {
       platform_fee(api, caller, respond);
     }},
    {"PUT", "/v1/operator/platform-fee", Runs::kHere, Access::kKey,
     [](Api& api, const Principal& caller, HttpRequest& request, const Params&, Respond& respond) {
       set_platform_fee(api, caller, request, std::move(respond));
     }},
    {"POST", "/v1/operator/gpu-models", Runs::kHere, Access::kKey,
     [](Api& api, const Principal& caller, HttpRequest& request, const Params&, Respond& respond) {
       add_gpu_model(api, caller, request, std::move(respond));
     }},
    {"POST", "/v1/operator/tariffs", Runs::kHere, Access::kKey,
     [](Api& api, const Principal& caller, HttpRequest& request, const Params&, Respond& respond) {
       publish_tariff_schedule(api, caller, request, std::move(respond));
     }},
    {"GET", "/v1/operator/audit", Runs::kOnWorker, Access::kKey,
     [](Api& api, const Principal& caller, HttpRequest& request, const Params&, Respond& respond) {
       operator_audit(api, caller, request, respond);
     },
     "from to cursor"},
    {"GET", "/v1/market/{pool}/book", Runs::kHere, Access::kAnyone,
     [](Api& api, const Principal&, HttpRequest&, const Params& params, Respond& respond) {
       pool_book(api, params[0], respond);
     }},
};

// A read key reads (GET), but not a credential (a node's agent key signs
// metering); a billing key reads money: billing, the ledger and its account.
bool scope_allows(KeyScope scope, const V1Route& route) {
  const std::string_view method = route.method;
  const std::string_view path = route.path;
  const bool reads = method == "GET" && !path.ends_with("/agent-key");
  switch (scope) {
    case KeyScope::kFull:
      return true;
    case KeyScope::kRead:
      return reads;
    case KeyScope::kBilling:
      return reads && (path.starts_with("/v1/billing/") || path.starts_with("/v1/ledger/") ||
                       path == "/v1/account");
  }
  return false;
}

// Runs route `index` on the worker pool; its path parameters are taken there
// from the request, which the job owns. The job owns a copy of `api` too: the
// caller's may be one request's (with its Idempotency-Key).
void on_worker(const Api& api, const Principal& caller, HttpRequest&& request, std::size_t index,
               Respond respond);

// A path cut before each '/' ("/v1", "/orders", "/{id}"): routes are matched
// segment by segment, the table cut once.
constexpr std::size_t kMaxRouteSegments = 8;
struct Segments {
  std::array<std::string_view, kMaxRouteSegments> parts{};
  std::size_t count = 0;  // kMaxRouteSegments + 1: longer than any route
};

Segments segments_of(std::string_view path) {
  Segments segments;
  while (!path.empty()) {
    if (segments.count == kMaxRouteSegments) {
      ++segments.count;
      break;
    }
    const auto end = std::min(path.find('/', 1), path.size());
    segments.parts[segments.count++] = path.substr(0, end);
    path.remove_prefix(end);
  }
  return segments;
}

struct CompiledRoute {
  std::string_view method;
  Segments pattern;
};

const std::vector<CompiledRoute>& compiled_routes() {
  static const std::vector<CompiledRoute> routes = [] {
    std::vector<CompiledRoute> compiled;
    for (const V1Route& route : kV1Routes) {
      compiled.push_back({route.method, segments_of(route.path)});
      SPOTGRID_CHECK(compiled.back().pattern.count <= kMaxRouteSegments);  // else cut short
    }
    return compiled;
  }();
  return routes;
}

// Whether `path` fits `pattern`, collecting the "{...}" segments.
bool matches(const Segments& pattern, const Segments& path, Params& params) {
  params.clear();
  if (pattern.count != path.count) return false;
  for (std::size_t i = 0; i < pattern.count; ++i) {
    const std::string_view want = pattern.parts[i];
    const std::string_view have = path.parts[i];
    if (want.size() > 2 && want[1] == '{') {
      if (have.size() < 2) return false;
      params.push_back(have.substr(1));
    } else if (want != have) {
      return false;
    }
  }
  return true;
}

// The "{...}" segments of `path`, which route `index` was matched to; false
// if the path no longer fits it (the request was changed after matching).
bool params_of(std::size_t index, std::string_view path, Params& params) {
  return matches(compiled_routes()[index].pattern, segments_of(path), params);
}

HttpResponse rematch_failed() {
  return error_response(500, "internal", "the request changed after it was routed");
}

void on_worker(const Api& api, const Principal& caller, HttpRequest&& request, std::size_t index,
               Respond respond) {
  const V1Route& route = kV1Routes[index];
  WorkerPool& pool = route.runs == Runs::kOnMarketWorker ? api.market_workers : api.workers;
  run_on_worker(
      pool, owner_of(caller),
      [api = Api(api), caller, request = std::move(request), index,
       &route](const Respond& answer) mutable {
        Params params;
        Respond once = answer;
        if (!params_of(index, path_of(request.target), params)) return once(rematch_failed());
        route.handle(api, caller, request, params, once);
      },
      std::move(respond));
}

}  // namespace

std::string_view v1_route_query(std::size_t route) {
  return kV1Routes[route].query;
}

std::vector<std::pair<std::string, std::string>> v1_routes() {
  std::vector<std::pair<std::string, std::string>> routes;
  for (const V1Route& route : kV1Routes)
    routes.emplace_back(route.method, route.path);
  return routes;
}

V1Match match_v1(std::string_view method, std::string_view path) {
  V1Match match;
  Params params;
  const Segments segments = segments_of(path);
  const std::vector<CompiledRoute>& compiled = compiled_routes();
  for (std::size_t i = 0; i < compiled.size(); ++i) {
    if (!matches(compiled[i].pattern, segments, params)) continue;
    if (method == compiled[i].method) {
      match.route = i;
      match.allowed.clear();
      return match;
    }
    if (!match.allowed.empty()) match.allowed += ", ";
    match.allowed += compiled[i].method;
  }
  return match;
}

std::optional<HttpResponse> scope_refusal(const Principal& caller, const V1Match& match) {
  if (!match.route) return std::nullopt;  // handle_v1 answers 404 or 405
  const V1Route& route = kV1Routes[*match.route];
  if (scope_allows(caller.scope, route)) return std::nullopt;
  return error_response(403, "forbidden_scope",
                        std::string("this key's scope is ") + std::string(to_string(caller.scope)) +
                            ": it may not " + route.method + " " + route.path + "; use a full key",
                        "Authorization");
}

void handle_v1(Api& api, const Principal& caller, HttpRequest&& request, const V1Match& match,
               Respond respond) {
  if (!match.route && match.allowed.empty()) {
    return respond(error_response(404, "not_found",
                                  "no route for " + std::string(path_of(request.target)), "path"));
  }
  if (!match.route) {
    HttpResponse refused =
        error_response(405, "method_not_allowed", "allowed: " + match.allowed, "method");
    refused.headers.emplace_back("Allow", match.allowed);
    return respond(std::move(refused));
  }
  const V1Route& route = kV1Routes[*match.route];
  if (caller.role == Role::kPublic && route.access != Access::kAnyone)
    return respond(FrontDoor::refused(AuthFailure::kMissing));
  if (route.runs != Runs::kHere)
    return on_worker(api, caller, std::move(request), *match.route, std::move(respond));
  Params params;
  if (!params_of(*match.route, path_of(request.target), params)) return respond(rematch_failed());
  route.handle(api, caller, request, params, respond);
}

}  // namespace spotgrid::gateway
