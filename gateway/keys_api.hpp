#pragma once
// An account's own API keys (issue 14): create one (a label, an optional
// lifetime; the secret shown once), list them (never a secret), revoke one.
#include <string_view>

#include "api.hpp"

namespace spotgrid::gateway {

void create_key(Api& api, const Principal& caller, const HttpRequest& request,
                const Respond& respond);
void list_keys(Api& api, const Principal& caller, const Respond& respond);
void revoke_key(Api& api, const Principal& caller, std::string_view key_id, const Respond& respond);

}  // namespace spotgrid::gateway
