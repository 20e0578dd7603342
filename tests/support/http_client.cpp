#include "http_client.hpp"

#include <strings.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace spotgrid::testing {

namespace net = boost::asio;
namespace http = boost::beast::http;

namespace {

template <typename Stream>
HttpReply exchange(Stream& stream, const HttpCall& call) {
  http::request<http::string_body> request{http::string_to_verb(call.method), call.target, 11};
  request.set(http::field::host, "127.0.0.1");
  if (!call.bearer.empty()) request.set(http::field::authorization, "Bearer " + call.bearer);
  for (const auto& [name, value] : call.headers)
    request.insert(name, value);  // not set: a test may send a field twice
  request.body() = call.body;
  request.prepare_payload();
  http::write(stream, request);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(stream, buffer, response);
  HttpReply reply{response.result_int(),
                  response.body(),
                  std::string(response[http::field::content_type]),
                  std::string(response[http::field::www_authenticate]),
                  {}};
  for (const auto& field : response)
    reply.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  return reply;
}

}  // namespace

std::string HttpReply::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key.size() == name.size() && strncasecmp(key.data(), name.data(), name.size()) == 0)
      return value;
  }
  return {};
}

HttpReply http_call(std::uint16_t port, const HttpCall& call) {
  net::io_context io;
  const net::ip::tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), port);
  if (!call.tls) {
    net::ip::tcp::socket socket(io);
    socket.connect(endpoint);
    return exchange(socket, call);
  }
  net::ssl::context context(net::ssl::context::tls_client);
  context.set_verify_mode(net::ssl::verify_none);
  net::ssl::stream<net::ip::tcp::socket> stream(io, context);
  stream.next_layer().connect(endpoint);
  stream.handshake(net::ssl::stream_base::client);
  return exchange(stream, call);
}

HttpReply http_call(std::uint16_t port, const std::string& method, const std::string& target,
                    const std::string& bearer, const std::string& body) {
  return http_call(port, HttpCall{method, target, bearer, body, {}, false});
}

}  // namespace spotgrid::testing
