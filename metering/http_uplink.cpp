// The agent's HTTP uplink on Beast (compiled once in spotgrid_asio).
#include <rapidjson/document.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <optional>

#include "spotgrid/metering/uplink.hpp"

namespace spotgrid::metering {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

UplinkAnswer unreachable(std::string problem) {
  UplinkAnswer answer;
  answer.kind = UplinkAnswer::Kind::kUnreachable;
  answer.problem = std::move(problem);
  return answer;
}

UplinkAnswer read_answer(unsigned status, const std::string& body) {
  if (status >= 500 || status == 429) {
    return unreachable("server answered " + std::to_string(status) + ": " + body);
  }
  UplinkAnswer answer;
  if (status != 200) {
    answer.kind = UplinkAnswer::Kind::kRefused;
    answer.problem = "server answered " + std::to_string(status) + ": " + body;
    return answer;
  }
  rapidjson::Document document;
  document.Parse(body.c_str(), body.size());
  if (document.HasParseError() || !document.IsObject() || !document.HasMember("acknowledged_seq") ||
      !document["acknowledged_seq"].IsUint64() || !document.HasMember("assignments") ||
      !document["assignments"].IsArray()) {
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

class HttpUplink final : public Uplink {
 public:
  HttpUplink(std::string host, std::uint16_t port, std::chrono::milliseconds timeout)
      : host_(std::move(host)), port_(port), timeout_(timeout) {}

  UplinkAnswer send(const SpooledBatch& batch) override {
    // The spool line is "<signature> <batch JSON>": the body is sent as signed.
    const std::size_t space = batch.payload.find(' ');
    if (space == std::string::npos) {
      UplinkAnswer answer;
      answer.kind = UplinkAnswer::Kind::kRefused;
      answer.problem = "spooled batch without a signature";
      return answer;
    }
    http::request<http::string_body> request{http::verb::post, "/v1/metering/batches", 11};
    request.set(http::field::host, host_);
    request.set(http::field::content_type, "application/json");
    request.set("X-Spotgrid-Signature", batch.payload.substr(0, space));
    request.keep_alive(true);
    request.body() = batch.payload.substr(space + 1);
    request.prepare_payload();
    beast::error_code error;
    for (int attempt = 0; attempt < 2; ++attempt) {  // a kept-alive connection may have closed
      if (!stream_ && !connect(error)) return unreachable("connect: " + error.message());
      stream_->expires_after(timeout_);
      http::write(*stream_, request, error);
      beast::flat_buffer buffer;
      http::response<http::string_body> response;
      if (!error) http::read(*stream_, buffer, response, error);
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
    net::ip::tcp::resolver resolver(io_);
    const auto endpoints = resolver.resolve(host_, std::to_string(port_), error);
    if (error) return false;
    stream_.emplace(io_);
    stream_->expires_after(timeout_);
    stream_->connect(endpoints, error);
    if (error) stream_.reset();
    return !error;
  }

  std::string host_;
  std::uint16_t port_;
  std::chrono::milliseconds timeout_;
  net::io_context io_;
  std::optional<beast::tcp_stream> stream_;
};

}  // namespace

std::unique_ptr<Uplink> http_uplink(std::string host, std::uint16_t port,
                                    std::chrono::milliseconds timeout) {
  return std::make_unique<HttpUplink>(std::move(host), port, timeout);
}

}  // namespace spotgrid::metering
