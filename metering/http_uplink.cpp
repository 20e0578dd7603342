// The agent's uplinks on Beast (compiled once in spotgrid_asio): WebSocket,
// HTTP, and the WebSocket with HTTP as its fallback, each plain or over TLS
// with the server's certificate verified.
#include <rapidjson/document.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <type_traits>

#include "spotgrid/client/connect.hpp"
#include "spotgrid/metering/sample.hpp"
#include "spotgrid/metering/uplink.hpp"
#include "spotgrid/util/json.hpp"

namespace spotgrid::metering {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
namespace websocket = beast::websocket;

UplinkAnswer unreachable(std::string problem) {
  UplinkAnswer answer;
  answer.kind = UplinkAnswer::Kind::kUnreachable;
  answer.problem = std::move(problem);
  return answer;
}

UplinkAnswer refused(std::string problem) {
  UplinkAnswer answer;
  answer.kind = UplinkAnswer::Kind::kRefused;
  answer.problem = std::move(problem);
  return answer;
}

// The acknowledgement (status 200), or why not: 5xx and 429 are for later,
// other errors final.
UplinkAnswer read_answer(unsigned status, const std::string& body) {
  if (status >= 500 || status == 429) {
    return unreachable("server answered " + std::to_string(status) + ": " + body);
  }
  if (status != 200) return refused("server answered " + std::to_string(status) + ": " + body);
  UplinkAnswer answer;
  rapidjson::Document document;
  if (util::parse_json(document, body, limits::kMaxJsonBytes) || !document.IsObject() ||
      !document.HasMember("acknowledged_seq") || !document["acknowledged_seq"].IsUint64() ||
      !document.HasMember("assignments") || !document["assignments"].IsArray()) {
    return unreachable("the server's answer is not an acknowledgement: " + body);
  }
  answer.kind = UplinkAnswer::Kind::kStored;
  answer.acknowledged_seq = document["acknowledged_seq"].GetUint64();
  for (const rapidjson::Value& card : document["assignments"].GetArray()) {
    if (!card.IsObject() || !card.HasMember("card_index") || !card["card_index"].IsUint() ||
        !card.HasMember("lease") || !card["lease"].IsUint64()) {
      continue;
    }
    answer.assignments.push_back({card["card_index"].GetUint(), card["lease"].GetUint64()});
  }
  return answer;
}

using client::PlainStream;
using client::TlsStream;

// Connects `stream` to the target (for TLS: the certificate verified).
template <typename Stream>
bool open(Stream& stream, const UplinkTarget& target, net::io_context& io,
          beast::error_code& error) {
  return client::connect(stream, target.host, target.port, target.timeout, io, error);
}

template <typename Stream>
class HttpUplink final : public Uplink {
 public:
  HttpUplink(UplinkTarget target, std::shared_ptr<ssl::context> tls)
      : target_(std::move(target)), tls_(std::move(tls)) {}

  UplinkAnswer send(const SpooledBatch& batch) override {
    // The spool line is "<signature> <batch JSON>": the body is sent as signed.
    const std::size_t space = batch.payload.find(' ');
    if (space == std::string::npos) return refused("spooled batch without a signature");
    http::request<http::string_body> request{http::verb::post, "/v1/metering/batches", 11};
    request.set(http::field::host, target_.host);
    request.set(http::field::content_type, "application/json");
    request.set("X-Spotgrid-Signature", batch.payload.substr(0, space));
    request.set("X-Spotgrid-Node", std::to_string(target_.node));
    request.keep_alive(true);
    request.body() = batch.payload.substr(space + 1);
    request.prepare_payload();
    beast::error_code error;
    for (int attempt = 0; attempt < 2; ++attempt) {  // a kept-alive connection may have closed
      if (!stream_ && !connect(error)) return unreachable("connect: " + error.message());
      beast::get_lowest_layer(*stream_).expires_after(target_.timeout);
      error = client::run_one(
          io_, [&](auto done) { http::async_write(*stream_, request, std::move(done)); });
      beast::flat_buffer buffer;
      http::response<http::string_body> response;
      if (!error) {
        error = client::run_one(
            io_, [&](auto done) { http::async_read(*stream_, buffer, response, std::move(done)); });
      }
      if (!error) {
        if (!response.keep_alive()) stream_.reset();
        return read_answer(response.result_int(), response.body());
      }
      stream_.reset();
    }
    return unreachable("send: " + error.message());
  }

 private:
  bool connect(beast::error_code& error) {
    stream_.emplace(client::make_stream<Stream>(io_, tls_));
    if (!open(*stream_, target_, io_, error)) stream_.reset();
    return stream_.has_value();
  }

  UplinkTarget target_;
  std::shared_ptr<ssl::context> tls_;  // TLS only
  net::io_context io_;
  std::optional<Stream> stream_;
};

// Over the stream the answer carries no status: an error body's code says
// whether to retry (unavailable, overloaded) or give the batch up.
UplinkAnswer read_stream_answer(const std::string& body) {
  rapidjson::Document document;
  if (!util::parse_json(document, body, limits::kMaxJsonBytes) && document.IsObject() &&
      document.HasMember("error") && document["error"].IsObject() &&
      document["error"].HasMember("code") && document["error"]["code"].IsString()) {
    const std::string code = document["error"]["code"].GetString();
    return read_answer(code == "unavailable" || code == "overloaded" ? 503 : 400, body);
  }
  return read_answer(200, body);
}

template <typename Stream>
class WebSocketUplink final : public Uplink {
 public:
  WebSocketUplink(UplinkTarget target, std::shared_ptr<ssl::context> tls)
      : target_(std::move(target)), tls_(std::move(tls)) {}

  UplinkAnswer send(const SpooledBatch& batch) override {
    beast::error_code error;
    if (!socket_ && !connect(error)) return unreachable("websocket: " + error.message());
    beast::get_lowest_layer(*socket_).expires_after(target_.timeout);
    socket_->text(true);
    error = client::run_one(
        io_, [&](auto done) { socket_->async_write(net::buffer(batch.payload), std::move(done)); });
    beast::flat_buffer buffer;
    if (!error)
      error =
          client::run_one(io_, [&](auto done) { socket_->async_read(buffer, std::move(done)); });
    if (error) {
      socket_.reset();
      return unreachable("websocket: " + error.message());
    }
    return read_stream_answer(beast::buffers_to_string(buffer.data()));
  }

 private:
  bool connect(beast::error_code& error) {
    socket_.emplace(client::make_stream<Stream>(io_, tls_));
    if (!open(socket_->next_layer(), target_, io_, error)) {
      socket_.reset();
      return false;
    }
    // The upgrade proves the node's key for this moment (the key stays here).
    const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
    socket_->set_option(
        websocket::stream_base::decorator([this, now](websocket::request_type& request) {
          request.set("X-Spotgrid-Node", std::to_string(target_.node));
          request.set("X-Spotgrid-Time", std::to_string(now));
          request.set("X-Spotgrid-Signature",
                      sign(target_.key, stream_proof_payload(target_.node, now)));
        }));
    beast::get_lowest_layer(*socket_).expires_after(target_.timeout);
    error = client::run_one(io_, [&](auto done) {
      socket_->async_handshake(target_.host, "/v1/metering/stream", std::move(done));
    });
    if (error) socket_.reset();
    return !error;
  }

  UplinkTarget target_;
  std::shared_ptr<ssl::context> tls_;  // TLS only
  net::io_context io_;
  std::optional<websocket::stream<Stream>> socket_;
};

class FallbackUplink final : public Uplink {
 public:
  FallbackUplink(std::unique_ptr<Uplink> preferred, std::unique_ptr<Uplink> fallback)
      : preferred_(std::move(preferred)), fallback_(std::move(fallback)) {}

  UplinkAnswer send(const SpooledBatch& batch) override {
    const auto now = std::chrono::steady_clock::now();
    if (now >= retry_preferred_at_) {
      UplinkAnswer answer = preferred_->send(batch);
      if (answer.kind != UplinkAnswer::Kind::kUnreachable ||
          answer.problem.rfind("websocket:", 0) != 0) {
        return answer;  // taken, refused, or the server itself said later
      }
      retry_preferred_at_ = now + std::chrono::minutes(1);
    }
    return fallback_->send(batch);
  }

 private:
  std::unique_ptr<Uplink> preferred_;
  std::unique_ptr<Uplink> fallback_;
  std::chrono::steady_clock::time_point retry_preferred_at_{};
};

}  // namespace

std::unique_ptr<Uplink> websocket_uplink(const UplinkTarget& target) {
  if (target.tls)
    return std::make_unique<WebSocketUplink<TlsStream>>(target,
                                                        client::tls_client_context(target.ca_file));
  return std::make_unique<WebSocketUplink<PlainStream>>(target, nullptr);
}

std::unique_ptr<Uplink> agent_uplink(const UplinkTarget& target) {
  return std::make_unique<FallbackUplink>(websocket_uplink(target), http_uplink(target));
}

std::unique_ptr<Uplink> http_uplink(const UplinkTarget& target) {
  if (target.tls)
    return std::make_unique<HttpUplink<TlsStream>>(target,
                                                   client::tls_client_context(target.ca_file));
  return std::make_unique<HttpUplink<PlainStream>>(target, nullptr);
}

}  // namespace spotgrid::metering
