#include "metering_routes.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <charconv>
#include <optional>

#include "spotgrid/metering/sample.hpp"

namespace spotgrid::gateway {

namespace {

// An ingest answer as JSON: the acknowledgement and the node's lease
// assignments, or the error (the same bodies over HTTP and the agent stream).
HttpResponse ingest_response(const ingest::IngestReply& reply) {
  if (reply.status != 200) {
    HttpResponse refused = error_response(reply.status, reply.code, reply.message, reply.field);
    if (reply.status == 503 || reply.status == 429)
      refused.headers.emplace_back("Retry-After", "1");
    return refused;
  }
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartObject();
  writer.Key("acknowledged_seq");
  writer.Uint64(reply.acknowledged_seq);
  writer.Key("samples_stored");
  writer.Uint(reply.samples_stored);
  writer.Key("duplicate");
  writer.Bool(reply.duplicate);
  writer.Key("assignments");
  writer.StartArray();
  for (const ingest::CardAssignment& card : reply.assignments) {
    writer.StartObject();
    writer.Key("card_index");
    writer.Uint(card.card_index);
    writer.Key("lease");
    writer.Uint64(card.lease);
    writer.EndObject();
  }
  writer.EndArray();
  writer.EndObject();
  return HttpResponse{200, buffer.GetString(), "application/json", {}, {}};
}

// A positive decimal header value (a node id, a unix time), or nothing.
std::optional<std::uint64_t> header_number(std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size() || value == 0) return std::nullopt;
  return value;
}

// A node agent's WebSocket, authenticated at the upgrade: each text message is
// a spool line ("<signature> <batch JSON>", still signed), answered in order
// with what POST /v1/metering/batches answers.
class AgentStream final : public StreamSession {
 public:
  AgentStream(ingest::Ingest& ingest, NodeId node, const std::shared_ptr<StreamPeer>& peer)
      : ingest_(ingest), node_(node), peer_(peer) {}

  void on_text(std::string_view message) override {
    const std::size_t space = message.find(' ');
    const std::weak_ptr<StreamPeer> peer = peer_;
    const auto answer = [peer](const ingest::IngestReply& reply) {
      if (const auto alive = peer.lock()) alive->send(ingest_response(reply).body);
    };
    if (space == std::string_view::npos) {
      ingest::IngestReply refused;
      refused.status = 401;
      refused.code = "bad_signature";
      refused.message = "send \"<hex HMAC> <batch JSON>\"";
      return answer(refused);
    }
    ingest_.submit(node_, message.substr(0, space), message.substr(space + 1),
                   [answer](ingest::IngestReply&& reply) { answer(reply); });
  }
  void on_closed() override {}
  // "<64 hex> <batch>": the largest batch a node can send, and no more.
  std::size_t message_limit() const override { return metering::kMaxBatchBytes + 65; }

 private:
  ingest::Ingest& ingest_;
  NodeId node_;
  std::weak_ptr<StreamPeer> peer_;
};

}  // namespace

// From a node agent: authenticated by the batch's signature, not an API key.
void metering_batch(ingest::Ingest& ingest, const Settings& settings, HttpRequest&& request,
                    Respond done) {
  if (request.method != "POST") {
    HttpResponse refused =
        error_response(405, "method_not_allowed", "only POST is served here", "method");
    refused.headers.emplace_back("Allow", "POST");
    return done(std::move(refused));
  }
  const std::string_view signature = request.header("X-Spotgrid-Signature");
  if (signature.empty()) {
    return done(error_response(401, "bad_signature", "send X-Spotgrid-Signature: <hex HMAC>",
                               "X-Spotgrid-Signature"));
  }
  const auto node = header_number(request.header("X-Spotgrid-Node"));
  if (!node) {
    return done(
        error_response(401, "bad_signature", "send X-Spotgrid-Node: <node id>", "X-Spotgrid-Node"));
  }
  if (settings.metering_secret.empty())
    return done(error_response(503, "unavailable", "metering is not configured on this server"));
  ingest.submit(
      *node, signature, std::move(request.body),
      [done = std::move(done)](ingest::IngestReply&& reply) { done(ingest_response(reply)); });
}

StreamDecision open_agent_stream(ingest::Ingest& ingest, const Settings& settings,
                                 const HttpRequest& request,
                                 const std::shared_ptr<StreamPeer>& peer) {
  if (settings.metering_secret.empty())
    return error_response(503, "unavailable", "metering is not configured on this server");
  // The node proves its key at the upgrade (no unauthenticated socket is
  // ever held open); every batch is signed besides.
  const auto node = header_number(request.header("X-Spotgrid-Node"));
  const auto at = header_number(request.header("X-Spotgrid-Time"));
  if (!node || !at ||
      !ingest.stream_proof_valid(*node, static_cast<std::int64_t>(*at),
                                 request.header("X-Spotgrid-Signature"))) {
    return error_response(401, "bad_signature",
                          "send X-Spotgrid-Node, X-Spotgrid-Time (unix seconds, within "
                          "5 minutes) and X-Spotgrid-Signature (HMAC of \"spotgrid-stream "
                          "<node> <time>\" under the node's key)",
                          "X-Spotgrid-Signature");
  }
  return std::make_shared<AgentStream>(ingest, *node, peer);
}

}  // namespace spotgrid::gateway
