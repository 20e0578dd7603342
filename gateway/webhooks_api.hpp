#pragma once
// An account's webhook endpoints (issue 14): register one (HTTPS URL, event
// types, a balance.low threshold; its signing secret shown once), list them,
// delete one, and read an endpoint's delivery log, a page at a time.
#include <string_view>

#include "api.hpp"

namespace spotgrid::gateway {

void create_webhook(Api& api, const Principal& caller, const HttpRequest& request,
                    const Respond& respond);
void list_webhooks(Api& api, const Principal& caller, const Respond& respond);
void delete_webhook(Api& api, const Principal& caller, std::int64_t endpoint,
                    const Respond& respond);
void webhook_deliveries(Api& api, const Principal& caller, std::int64_t endpoint,
                        const HttpRequest& request, const Respond& respond);

}  // namespace spotgrid::gateway
