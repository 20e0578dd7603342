#pragma once
// Market data for any caller: a pool's book and index (from the committed read
// model, on the I/O thread), its recent trades and index history (from
// PostgreSQL, on the worker pool).
#include <string_view>

#include "api.hpp"

namespace spotgrid::gateway {

void pool_book(Api& api, std::string_view pool_name, const Respond& respond);
void pool_index(Api& api, std::string_view pool_name, const Respond& respond);
void pool_trades(Api& api, std::string_view pool_name, const Respond& respond);
void pool_history(Api& api, std::string_view pool_name, const Respond& respond);

}  // namespace spotgrid::gateway
