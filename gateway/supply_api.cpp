// Supplier routes (nodes, listings, reclaim), a buyer's early stop, and the
// leases of either side (docs/architecture.md#domain, #matching, #interfaces).

#include "supply_api.hpp"

#include "api_support.hpp"
#include "spotgrid/engine/limits.hpp"
#include "spotgrid/metering/sample.hpp"
#include "spotgrid/util/clock.hpp"

namespace spotgrid::gateway {

void register_node(Api& api, const Principal& caller, const HttpRequest& request, Respond respond) {
  if (caller.role != Role::kSupplier) return respond(forbidden());
  JsonBody body(request.body);
  // A node's measured CU and reliability are the platform's to set (from the
  // probe report and its interruption history), never the supplier's word:
  // buyers filter on them. Sending either is an unknown field.
  body.only({"pool", "region", "zone", "cards", "probe"});
  engine::RegisterNode node;
  node.supplier = caller.account;
  const auto pool = body.text("pool", 64);
  const auto region = body.text("region", 64);
  const auto cards = body.integer("cards", 1, limits::kMaxCardsPerNode);
  if (body.has("zone"))
    node.zone = static_cast<std::uint16_t>(body.integer("zone", 0, 65'535).value_or(0));
  std::optional<std::int64_t> probe_milli_tflops;
  if (body.has("probe")) probe_milli_tflops = body.probe_bf16_milli_tflops("probe");
  if (body.problem()) return respond(bad_request(*body.problem()));
  const auto pool_index = api.setup.catalog.find_pool(*pool);
  if (!pool_index)
    return respond(
        error_response(400, "invalid_field", "pool is not a GPU model of the catalog", "pool"));
  if (probe_milli_tflops) {
    // The model's CU scaled by what the probe achieved against the datasheet,
    // at most 10 % above it (a probe cannot make a card a better model).
    const engine::GpuModel& model = api.setup.catalog.model(*pool_index);
    const std::int64_t datasheet = std::int64_t{model.bf16_tflops} * 1'000;
    const std::int64_t achieved = std::min(*probe_milli_tflops, datasheet + datasheet / 10);
    node.measured_cu = static_cast<MilliCu>(
        std::max<std::int64_t>(1, std::int64_t{model.compute_units} * achieved / datasheet));
  }
  const auto region_index = api.setup.tariffs.find_region(*region);
  if (!region_index)
    return respond(error_response(400, "invalid_field", "region is not a tariff region", "region"));
  node.pool = *pool_index;
  node.region = *region_index;
  node.cards = static_cast<std::uint16_t>(*cards);
  submit_then(
      api, node, std::move(respond), "the market refused the node",
      [&secret = api.settings.metering_secret, probed = node.measured_cu != 0,
       measured_cu = node.measured_cu != 0 ? node.measured_cu
                                           : api.setup.catalog.model(node.pool).compute_units](
          const ledger::Completion& done) {
        const auto* registered = first_event<engine::NodeRegistered>(done);
        const NodeId id = registered == nullptr ? 0 : registered->node;
        return json(201, [&](Writer& w) {
          field(w, "node_id", id);
          field(w, "cards", registered == nullptr ? 0 : registered->cards);
          field(w, "measured_cu_milli", measured_cu);
          // Where the figure came from: the probe's report, or the catalog's
          // CU for the model until a probe reports.
          field(w, "measured_cu_source", probed ? "probe" : "catalog");
          // What the node's agent signs its batches with (spotgrid-agent's
          // SPOTGRID_AGENT_KEY); derived, so it can be asked for again.
          if (!secret.empty()) field(w, "agent_key", metering::node_key(secret, id));
          field(w, "command_seq", done.command_seq);
        });
      });
}

void node_agent_key(Api& api, const Principal& caller, NodeId id, const Respond& respond) {
  if (caller.role != Role::kSupplier && caller.role != Role::kOperator) return respond(forbidden());
  const ledger::ReadModel& model = api.market.committed();
  if (!model.ready()) return respond(recovering());
  const std::optional<engine::NodeView> node = model.node(id);
  // Another supplier's node is answered like a missing one: nothing to learn.
  if (!node || (caller.role == Role::kSupplier && node->supplier != caller.account))
    return respond(error_response(404, "not_found", "no such node", "node_id"));
  if (api.settings.metering_secret.empty())
    return respond(error_response(503, "unavailable", "metering is not configured on this server"));
  respond(json(200, [&](Writer& w) {
    field(w, "node_id", id);
    field(w, "agent_key", metering::node_key(api.settings.metering_secret, id));
  }));
}

void add_listing(Api& api, const Principal& caller, const HttpRequest& request, Respond respond) {
  if (caller.role != Role::kSupplier) return respond(forbidden());
  JsonBody body(request.body);
  body.only({"node_id", "cards", "reserve_micros_per_card_hour", "floating", "available_from",
             "available_until"});
  engine::AddListing listing;
  listing.supplier = caller.account;
  const auto node = body.integer("node_id", 1, std::numeric_limits<std::int64_t>::max());
  const auto cards = body.integer("cards", 1, limits::kMaxCardsPerNode);
  if (body.has("floating")) listing.floating = body.boolean("floating").value_or(false);
  if (!listing.floating || body.has("reserve_micros_per_card_hour")) {
    listing.reserve_micros_per_card_hour =
        body.integer("reserve_micros_per_card_hour", 1, limits::kMaxPriceMicrosPerHour).value_or(0);
  }
  const auto from = body.integer("available_from", 0, 1LL << 40);
  const auto until = body.integer("available_until", 0, 1LL << 40);
  if (body.problem()) return respond(bad_request(*body.problem()));
  listing.node = static_cast<NodeId>(*node);
  listing.cards = static_cast<std::uint16_t>(*cards);
  listing.from = *from;
  listing.until = *until;
  submit_then(api, listing, std::move(respond), "the market refused the listing",
              [](const ledger::Completion& done) {
                const auto* added = first_event<engine::ListingAdded>(done);
                return json(201, [&](Writer& w) {
                  field(w, "listing_id", added == nullptr ? 0 : added->listing);
                  field(w, "price_micros_per_card_hour",
                        added == nullptr ? 0 : added->price_micros_per_card_hour);
                  write_leases(w, done);  // resting bids it filled at once
                  field(w, "command_seq", done.command_seq);
                });
              });
}

void withdraw_listing(Api& api, const Principal& caller, ListingId id, Respond respond) {
  if (caller.role != Role::kSupplier) return respond(forbidden());
  submit_then(api, engine::WithdrawListing{caller.account, id}, std::move(respond),
              "the listing cannot be withdrawn", [id](const ledger::Completion& done) {
                const auto* closed = first_event<engine::ListingClosed>(done);
                return json(200, [&](Writer& w) {
                  field(w, "listing_id", id);
                  field(w, "cards_still_leased",
                        closed == nullptr ? 0 : closed->cards_still_leased);
                  field(w, "command_seq", done.command_seq);
                });
              });
}

void stop_lease(Api& api, const Principal& caller, LeaseId id, Respond respond) {
  if (caller.role != Role::kBuyer) return respond(forbidden());
  submit_then(api, engine::StopLease{caller.account, id}, std::move(respond),
              "the lease cannot be stopped", [id](const ledger::Completion& done) {
                const auto* ended = first_event<engine::LeaseEnded>(done);
                return json(200, [&](Writer& w) {
                  field(w, "lease_id", id);
                  field(w, "billable_end", ended == nullptr ? 0 : ended->billable_end);
                  field(w, "command_seq", done.command_seq);
                });
              });
}

namespace {

std::string_view lease_status_name(engine::LeaseStatus status) {
  switch (status) {
    case engine::LeaseStatus::kStarting:
      return "starting";
    case engine::LeaseStatus::kRunning:
      return "running";
    case engine::LeaseStatus::kEnded:
      return "ended";
    case engine::LeaseStatus::kInterrupted:
      return "interrupted";
  }
  return "unknown";
}

}  // namespace

// GET /v1/leases/{id}: a live (or recently ended) lease from the committed
// read model, with what metering has billed so far. Its buyer or supplier only.
void get_lease(Api& api, const Principal& caller, LeaseId id, const Respond& respond) {
  const ledger::ReadModel& model = api.market.committed();
  if (!model.ready()) return respond(recovering());
  const std::uint64_t seq = model.committed_seq();
  const auto lease = model.lease(id);
  const bool own = lease && ((caller.role == Role::kBuyer && lease->buyer == caller.account) ||
                             (caller.role == Role::kSupplier && lease->supplier == caller.account));
  if (!own) {
    return respond(error_response(
        404, "not_found", "no live or recent lease with this id is yours; GET /v1/leases lists all",
        "lease_id"));
  }
  respond(as_of(seq, json(200, [&](Writer& w) {
                  field(w, "lease_id", lease->id);
                  if (caller.role == Role::kBuyer) field(w, "order_id", lease->order);
                  field(w, "node_id", lease->node);
                  if (const auto node = model.node(lease->node))
                    field(w, "pool", api.setup.catalog.model(node->pool).model);
                  field(w, "cards", lease->cards);
                  field(w, "price_micros_per_card_hour", lease->price_micros_per_card_hour);
                  field(w, "started_at", lease->start);
                  field(w, "planned_end", lease->planned_end);
                  field(w, "billable_end", lease->billable_end);
                  field(w, "status", lease_status_name(lease->status));
                  key(w, "reclaim_pending");
                  w.Bool(lease->reclaim_pending);
                  field(w, "charged_micros", lease->charged);
                  field(w, "seconds_billed", lease->healthy_settled);
                  field(w, "settled_up_to", lease->settled_up_to);
                })));
}

// GET /v1/leases/{id}/energy: what the agent measured on the lease's cards
// (joules; average and peak power and utilisation), its buyer's or supplier's.
void lease_energy(Api& api, const Principal& caller, LeaseId id, const Respond& respond) {
  if (caller.role != Role::kBuyer && caller.role != Role::kSupplier) return respond(forbidden());
  const auto answer = api.reads.lease_energy(id, caller.account);
  if (answer && *answer == "{}") {
    return respond(error_response(404, "not_found",
                                  "no lease with this id is yours; GET /v1/leases lists yours",
                                  "lease_id"));
  }
  respond(from_store(answer));
}

void reclaim_lease(Api& api, const Principal& caller, LeaseId id, Respond respond) {
  if (caller.role != Role::kSupplier) return respond(forbidden());
  submit_then(api, engine::ReclaimLease{caller.account, id}, std::move(respond),
              "the lease cannot be reclaimed", [id](const ledger::Completion& done) {
                const auto* notice = first_event<engine::LeaseReclaimNotice>(done);
                return json(200, [&](Writer& w) {
                  field(w, "lease_id", id);
                  field(w, "ends_at", notice == nullptr ? 0 : notice->ends_at);
                  field(w, "command_seq", done.command_seq);
                });
              });
}

void own_leases(Api& api, const Principal& caller, const HttpRequest& request,
                const Respond& respond) {
  if (caller.role != Role::kBuyer && caller.role != Role::kSupplier) return respond(forbidden());
  static constexpr StateWords kStates[] = {{"running", "running"}, {"ended", "ended"}};
  const auto page = history_page(api, request, respond, kStates);
  if (!page) return;
  const LeaseSide side = caller.role == Role::kBuyer ? LeaseSide::kBuyer : LeaseSide::kSupplier;
  // A running lease's billing so far, from the committed read model: what
  // metering settled is there before the table's row is read again.
  const ledger::ReadModel& model = api.market.committed();
  const auto live = [&model](LeaseId id, Writer& w) {
    const auto lease = model.lease(id);
    if (!lease) return;
    field(w, "seconds_billed", lease->healthy_settled);
    field(w, "settled_up_to", lease->settled_up_to);
    field(w, "charged_now_micros", lease->charged);
    key(w, "reclaim_pending");
    w.Bool(lease->reclaim_pending);
  };
  respond(from_store(api.reads.leases(caller.account, side, *page, live)));
}

void own_supply(Api& api, const Principal& caller, SupplyView view, const Respond& respond) {
  if (caller.role != Role::kSupplier) return respond(forbidden());
  constexpr int kRows = 200;
  constexpr UnixSeconds kEarningsDays = 30;
  switch (view) {
    case SupplyView::kNodes:
      return respond(from_store(
          api.reads.nodes(caller.account, kRows, [&](NodeId node, ReadStore::RowWriter& w) {
            const auto known = api.market.committed().node(node);
            field(w, "quarantined", known && known->quarantined);
          })));
    case SupplyView::kListings:
      return respond(from_store(api.reads.listings(caller.account, kRows)));
    case SupplyView::kEarnings:
      return respond(from_store(
          api.reads.earnings(caller.account, util::unix_now() - kEarningsDays * 86'400)));
  }
}

}  // namespace spotgrid::gateway
