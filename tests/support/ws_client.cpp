#include "ws_client.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

namespace spotgrid::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;

using PlainSocket = websocket::stream<beast::tcp_stream>;
using TlsSocket = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;

struct WsClient::Impl {
  net::io_context io;
  net::ssl::context tls_context{net::ssl::context::tls_client};
  std::unique_ptr<PlainSocket> plain;
  std::unique_ptr<TlsSocket> tls;
  unsigned refused = 0;
  bool closed = false;
  std::uint16_t close_code = 0;

  template <typename F>
  auto with_socket(F&& f) {
    if (tls) return f(*tls);
    return f(*plain);
  }
};

WsClient::WsClient(std::uint16_t port, const std::string& bearer, const std::string& target,
                   bool tls, const std::vector<std::pair<std::string, std::string>>& headers)
    : impl_(std::make_unique<Impl>()) {
  const net::ip::tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), port);
  if (tls) {
    impl_->tls_context.set_verify_mode(net::ssl::verify_none);
    impl_->tls = std::make_unique<TlsSocket>(impl_->io, impl_->tls_context);
    auto& s = *impl_->tls;
    beast::get_lowest_layer(s).connect(endpoint);
    s.next_layer().handshake(net::ssl::stream_base::client);
  } else {
    impl_->plain = std::make_unique<PlainSocket>(impl_->io);
    auto& s = *impl_->plain;
    beast::get_lowest_layer(s).connect(endpoint);
  }
  impl_->with_socket([&](auto& s) {
    s.set_option(
        websocket::stream_base::decorator([bearer, headers](websocket::request_type& request) {
          if (!bearer.empty()) request.set(http::field::authorization, "Bearer " + bearer);
          for (const auto& [name, value] : headers)
            request.set(name, value);
        }));
    // The asynchronous handshake: Beast 1.74's blocking one leaves the
    // response empty when the upgrade is declined.
    websocket::response_type response;
    beast::error_code result;
    s.async_handshake(response, "127.0.0.1", target, [&](beast::error_code ec) { result = ec; });
    impl_->io.run_for(std::chrono::seconds(10));
    if (result) impl_->refused = response.result_int() == 101 ? 1 : response.result_int();
    return 0;
  });
}

WsClient::~WsClient() = default;

unsigned WsClient::refused_status() const {
  return impl_->refused;
}

void WsClient::send_text(const std::string& text) {
  impl_->with_socket([&](auto& s) {
    s.text(true);
    s.write(net::buffer(text));
    return 0;
  });
}

void WsClient::send_binary(const std::string& data) {
  impl_->with_socket([&](auto& s) {
    s.binary(true);
    s.write(net::buffer(data));
    return 0;
  });
}

std::optional<std::string> WsClient::receive(std::chrono::milliseconds timeout) {
  if (impl_->closed) return std::nullopt;
  return impl_->with_socket([&](auto& s) -> std::optional<std::string> {
    beast::flat_buffer buffer;
    bool done = false;
    beast::error_code result;
    s.async_read(buffer, [&](beast::error_code ec, std::size_t) {
      done = true;
      result = ec;
    });
    impl_->io.restart();
    impl_->io.run_for(timeout);
    if (!done) {  // a cancelled read leaves the stream unusable: this client is done
      beast::get_lowest_layer(s).cancel();
      impl_->io.restart();
      impl_->io.run();
      impl_->closed = true;
      return std::nullopt;
    }
    if (result) {
      impl_->closed = true;
      // The close frame's code, when one came (also when the teardown after it failed).
      impl_->close_code = s.reason().code;
      return std::nullopt;
    }
    return beast::buffers_to_string(buffer.data());
  });
}

std::optional<std::string> WsClient::receive_containing(const std::string& needle,
                                                        std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto message = receive(left);
    if (!message) return std::nullopt;
    if (message->find(needle) != std::string::npos) return message;
  }
}

bool WsClient::closed() const {
  return impl_->closed;
}

std::uint16_t WsClient::close_code() const {
  return impl_->close_code;
}

}  // namespace spotgrid::testing
