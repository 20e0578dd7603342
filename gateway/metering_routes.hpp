#pragma once
// The node agents' door: signed sample batches over HTTP (POST
// /v1/metering/batches) and over a WebSocket (/v1/metering/stream) proved at
// the upgrade. Both answer what ingest::Ingest decides, with the same bodies.
#include <memory>
#include <string_view>

#include "spotgrid/gateway/http.hpp"
#include "spotgrid/gateway/settings.hpp"
#include "spotgrid/ingest/ingest.hpp"

namespace spotgrid::gateway {

inline constexpr std::string_view kMeteringPath = "/v1/metering/batches";
inline constexpr std::string_view kMeteringStreamPath = "/v1/metering/stream";

// POST /v1/metering/batches, after the caller's address bucket: authenticated
// by the batch's signature (X-Spotgrid-Node, X-Spotgrid-Signature), not an API key.
void metering_batch(ingest::Ingest& ingest, const Settings& settings, HttpRequest&& request,
                    Respond done);

// The upgrade of /v1/metering/stream: an agent session, or the refusal.
StreamDecision open_agent_stream(ingest::Ingest& ingest, const Settings& settings,
                                 const HttpRequest& request,
                                 const std::shared_ptr<StreamPeer>& peer);

}  // namespace spotgrid::gateway
