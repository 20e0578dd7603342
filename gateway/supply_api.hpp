#pragma once
// Supplier routes: POST /v1/nodes, POST /v1/listings, DELETE /v1/listings/{id},
// POST /v1/leases/{id}/reclaim; a buyer's POST /v1/leases/{id}/stop; and
// GET /v1/leases for either side.
#include <string_view>

#include "api.hpp"

namespace spotgrid::gateway {

void register_node(Api& api, const Principal& caller, const HttpRequest& request, Respond respond);
// The key a node's agent signs with (its supplier, or an operator): derived,
// so a supplier that lost it asks again.
void node_agent_key(Api& api, const Principal& caller, NodeId id, const Respond& respond);
void add_listing(Api& api, const Principal& caller, const HttpRequest& request, Respond respond);
void withdraw_listing(Api& api, const Principal& caller, ListingId id, Respond respond);
void stop_lease(Api& api, const Principal& caller, LeaseId id, Respond respond);
void reclaim_lease(Api& api, const Principal& caller, LeaseId id, Respond respond);
// GET /v1/leases?state=running|ended&pool=&from=&to=&cursor=&limit=
void own_leases(Api& api, const Principal& caller, const HttpRequest& request,
                const Respond& respond);
void get_lease(Api& api, const Principal& caller, LeaseId id, const Respond& respond);
void lease_energy(Api& api, const Principal& caller, LeaseId id, const Respond& respond);
// A supplier's own nodes (with cards leased now), listings, or earnings per
// day over the last 30 days, from PostgreSQL.
enum class SupplyView : std::uint8_t { kNodes, kListings, kEarnings };
void own_supply(Api& api, const Principal& caller, SupplyView view, const Respond& respond);

}  // namespace spotgrid::gateway
