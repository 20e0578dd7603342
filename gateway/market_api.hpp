#pragma once
// Market data for anyone, with or without a key: the pools, a pool's book and
// index (from the committed read model, on the I/O thread), the tariffs
// (configuration), its recent trades, index history and candles (from
// PostgreSQL, on the worker pool).
#include <string_view>

#include "api.hpp"

namespace spotgrid::gateway {

void pool_book(Api& api, std::string_view pool_name, const Respond& respond);
void pool_index(Api& api, std::string_view pool_name, const Respond& respond);
// GET /v1/market/{pool}/trades?from=&to=&limit=&cursor=
void pool_trades(Api& api, std::string_view pool_name, const HttpRequest& request,
                 const Respond& respond);
void pool_history(Api& api, std::string_view pool_name, const Respond& respond);
void pool_candles(Api& api, std::string_view pool_name, const HttpRequest& request,
                  const Respond& respond);
void market_pools(Api& api, const Respond& respond);
void market_tariffs(Api& api, const HttpRequest& request, const Respond& respond);

inline constexpr std::int64_t kMaxCandles = 500;
// The index is kept as a row per change (at most one a second per pool): a
// public query aggregates at most this many seconds of it.
inline constexpr std::int64_t kMaxCandleSpan = std::int64_t{31} * 86'400;

}  // namespace spotgrid::gateway
