#pragma once
// Every bound the engine enforces, in one place (TigerBeetle style: a limit on
// everything). Inputs beyond these are rejected, never truncated.

#include <cstddef>
#include <cstdint>

#include "spotgrid/engine/types.hpp"

namespace spotgrid::limits {

inline constexpr std::size_t kMaxPools = 64;           // fits PoolMask
inline constexpr std::size_t kMaxRegions = 64;         // fits RegionMask
inline constexpr std::size_t kMaxVendors = 32;         // fits VendorMask
inline constexpr std::uint32_t kMaxCardsPerNode = 64;  // fits CardMask
inline constexpr std::uint32_t kMaxCardsPerOrder = 4'096;
inline constexpr Seconds kMaxLeaseDuration = Seconds{30} * 24 * 3'600;
inline constexpr Seconds kMaxCostFirstDeferral = Seconds{7} * 24 * 3'600;
inline constexpr Seconds kMaxListingWindow = Seconds{366} * 24 * 3'600;
inline constexpr Micros kMaxPriceMicrosPerHour = 10'000'000'000;  // 10'000 USD per card- or CU-hour
inline constexpr Micros kMaxAccountBalance = 1'000'000'000'000'000;  // 1e9 USD
inline constexpr AccountId kMaxAccounts = 1u << 20;
inline constexpr BasisPoints kMaxTariffMultiplier = 100'000;  // x10
inline constexpr std::size_t kMaxTariffSchedules = 128;  // kept at once (compact drops the rest)
// A GPU model's figures (gpus.json and AddGpuModel alike); each at least 1.
inline constexpr std::int64_t kMaxMemoryGib = 65'536;
inline constexpr std::int64_t kMaxModelFigure = 1'000'000;        // BF16 TFLOP/s, memory GB/s
inline constexpr std::int64_t kMaxComputeUnitsMilli = 100'000;    // 100 CU
inline constexpr std::int32_t kMaxUtcOffsetSeconds = 14 * 3'600;  // a tariff region's
// The latest instant the engine takes, 9999-12-31T23:59:59Z. With every window
// and duration bounded too, a time plus a duration, or a time's seconds times a
// tariff multiplier, fits 64 bits.
inline constexpr UnixSeconds kLatestTime = 253'402'300'799;
inline constexpr Seconds kMaxTariffNotice = Seconds{366} * 24 * 3'600;  // how far ahead
inline constexpr BasisPoints kMaxPlatformFeeBp = 5'000;                 // half of each settlement

// Engine capacities: slabs are sized at construction up to these.
inline constexpr std::uint32_t kMaxNodes = 1u << 22;
inline constexpr std::uint32_t kMaxListings = 1u << 22;
inline constexpr std::uint32_t kMaxOrders = 1u << 23;
inline constexpr std::uint32_t kMaxLeases = 1u << 23;

// Per-command work bounds. A scan that reaches its bound stops as if the book
// ended there, so one command can never take unbounded time.
inline constexpr std::uint32_t kMaxCandidatesScannedPerMatch = 65'536;
inline constexpr std::uint32_t kMaxTimersPerTick = 65'536;
// Daily payouts looked at per tick: every plan (one per account) is reached
// within 256 ticks of midnight, long before the next.
inline constexpr std::uint32_t kMaxPayoutPlansPerTick = 4'096;
static_assert(kMaxAccounts / kMaxPayoutPlansPerTick <= 256);
// Resting bids matched again when a pool resumes or a node is released.
inline constexpr std::uint32_t kMaxRematchedBids = 4'096;
// Payouts leave the market in whole cents, as banks move them.
inline constexpr Micros kPayoutStepMicros = 10'000;
// When an order rests, how many more asks the matcher probes to say why (price
// or constraints). Beyond it the reason is "no supply meets constraints"; a query
// of the order recomputes it with the full scan bound.
inline constexpr std::uint32_t kMaxReasonProbe = 16;

// Input read at the edges (requests, WebSocket messages, agent batches, config
// files). Every JSON reader nests at most this deep: a parser that recursed
// once per `[` would let one message overflow a thread's stack.
inline constexpr std::size_t kMaxJsonDepth = 32;
// The largest JSON text any reader takes (the HTTP body limit may be set lower,
// never higher: settings cap limits.body_bytes at this).
inline constexpr std::size_t kMaxJsonBytes = std::size_t{16} << 20;
// The longest string a client may name anything with (account names, client
// order ids, card ids, labels); routes may allow less.
inline constexpr std::size_t kMaxTextBytes = 256;

}  // namespace spotgrid::limits
