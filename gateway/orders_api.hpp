#pragma once
// Buyer routes: POST and GET /v1/orders, POST /v1/quotes, GET and DELETE
// /v1/orders/{id}, POST /v1/orders/{id}/amend.
#include "api.hpp"

namespace spotgrid::gateway {

void place_order(Api& api, const Principal& caller, const HttpRequest& request, Respond respond);
void quote_order(Api& api, const Principal& caller, const HttpRequest& request,
                 const Respond& respond);
void get_order(Api& api, const Principal& caller, OrderId id, const Respond& respond);
void cancel_order(Api& api, const Principal& caller, OrderId id, Respond respond);
void amend_order(Api& api, const Principal& caller, OrderId id, const HttpRequest& request,
                 Respond respond);
// The buyer's orders in every state, newest first, a page at a time (PostgreSQL):
// GET /v1/orders?state=open|completed|cancelled&pool=&from=&to=&cursor=&limit=
void own_orders(Api& api, const Principal& caller, const HttpRequest& request,
                const Respond& respond);

}  // namespace spotgrid::gateway
