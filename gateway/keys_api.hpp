#pragma once
// An account's own API keys (issue 14): create one (a label, an optional
// lifetime, a scope; the secret shown once), list them (never a secret, with
// their last use), revoke one, rotate one (the old key lives on for a grace).
#include <string_view>

#include "api.hpp"

namespace spotgrid::gateway {

void create_key(Api& api, const Principal& caller, const HttpRequest& request,
                const Respond& respond);
void list_keys(Api& api, const Principal& caller, const Respond& respond);
void revoke_key(Api& api, const Principal& caller, std::string_view key_id, const Respond& respond);
void rotate_key(Api& api, const Principal& caller, std::string_view key_id,
                const HttpRequest& request, const Respond& respond);

}  // namespace spotgrid::gateway
