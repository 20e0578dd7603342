#include "http_client.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace spotgrid::testing {

HttpReply http_call(std::uint16_t port, const std::string& method, const std::string& target,
                    const std::string& bearer, const std::string& body) {
  namespace net = boost::asio;
  namespace http = boost::beast::http;
  net::io_context io;
  net::ip::tcp::socket socket(io);
  socket.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  http::request<http::string_body> request{http::string_to_verb(method), target, 11};
  request.set(http::field::host, "127.0.0.1");
  if (!bearer.empty()) request.set(http::field::authorization, "Bearer " + bearer);
  request.body() = body;
  request.prepare_payload();
  http::write(socket, request);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(socket, buffer, response);
  return HttpReply{response.result_int(), response.body(),
                   std::string(response[http::field::content_type]),
                   std::string(response[http::field::www_authenticate])};
}

}  // namespace spotgrid::testing
