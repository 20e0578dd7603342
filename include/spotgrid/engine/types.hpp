#pragma once
// Value types shared by every spotgrid library. Money and time are integers:
// no floating point ever touches either.

#include <cstdint>

namespace spotgrid {

using Micros = std::int64_t;       // 1e-6 of the account currency (USD)
using UnixSeconds = std::int64_t;  // an instant, UTC
using Seconds = std::int64_t;      // a duration
using BasisPoints = std::int32_t;  // 10'000 = 1.0
using MilliCu = std::int32_t;      // compute units x 1000; A100-80G = 1000

using AccountId = std::uint32_t;
using NodeId = std::uint64_t;
using ListingId = std::uint64_t;
using OrderId = std::uint64_t;
using LeaseId = std::uint64_t;

using PoolIndex = std::uint8_t;    // one pool (order book) per GPU model
using RegionIndex = std::uint8_t;  // index into the tariff book's regions
using PoolMask = std::uint64_t;    // bit i = pool i
using RegionMask = std::uint64_t;  // bit i = region i; 0 in an order means "any"
using VendorMask = std::uint32_t;  // bit i = vendor i; 0 in an order means "any"
using CardMask = std::uint64_t;    // bit i = card i of a node

inline constexpr BasisPoints kBasisPointsOne = 10'000;
inline constexpr MilliCu kMilliCuOne = 1'000;
inline constexpr Seconds kSecondsPerHour = 3'600;

}  // namespace spotgrid
