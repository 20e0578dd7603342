#pragma once
// Connecting a Beast stream to a server, plain or TLS with the server's
// certificate verified (chain and host name). Includes Beast: only for the
// translation units that already talk to a server (client/, metering/).
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

namespace spotgrid::client {

using PlainStream = boost::beast::tcp_stream;
using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

// A TLS client context: the server's certificate must chain to `ca_file`
// (or, without one, the system's trust store). Throws when it is unreadable.
inline std::shared_ptr<boost::asio::ssl::context> tls_client_context(const std::string& ca_file) {
  namespace ssl = boost::asio::ssl;
  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  context->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  if (ca_file.empty()) {
    context->set_default_verify_paths();
  } else {
    context->load_verify_file(ca_file);
  }
  return context;
}

template <typename Stream>
Stream make_stream(boost::asio::io_context& io,
                   const std::shared_ptr<boost::asio::ssl::context>& tls) {
  if constexpr (std::is_same_v<Stream, TlsStream>) {
    return Stream(io, *tls);
  } else {
    return Stream(io);
  }
}

// Runs one asynchronous operation on `io` to its end; its error. Beast's
// stream expiry (expires_after) bounds asynchronous operations only: a
// synchronous read waits as long as a silent peer does. So each network step
// is started asynchronously and waited for here, and the expiry holds.
// It runs `io` only until this operation completes: other work (a WebSocket's
// keep-alive timer, say) stays pending for the next call.
template <typename Start>
boost::beast::error_code run_one(boost::asio::io_context& io, Start&& start) {
  boost::beast::error_code result;
  bool completed = false;
  std::forward<Start>(start)([&](boost::beast::error_code error, auto&&...) {
    result = error;
    completed = true;
  });
  io.restart();
  while (!completed && io.run_one() > 0) {
  }
  return result;
}

// Connects `stream` within `timeout`, and for TLS shakes hands (within it
// again): SNI, and the name (or IP address) the certificate must carry.
template <typename Stream>
bool connect(Stream& stream, const std::string& host, std::uint16_t port,
             std::chrono::steady_clock::duration timeout, boost::asio::io_context& io,
             boost::beast::error_code& error) {
  namespace net = boost::asio;
  net::ip::tcp::resolver resolver(io);
  const auto endpoints = resolver.resolve(host, std::to_string(port), error);
  if (error) return false;
  auto& lowest = boost::beast::get_lowest_layer(stream);
  lowest.expires_after(timeout);
  error = run_one(io, [&](auto handler) { lowest.async_connect(endpoints, std::move(handler)); });
  if (error) return false;
  if constexpr (std::is_same_v<Stream, TlsStream>) {
    if (SSL_set_tlsext_host_name(stream.native_handle(), host.c_str()) != 1) {
      error = boost::beast::error_code(static_cast<int>(::ERR_get_error()),
                                       net::error::get_ssl_category());
      return false;
    }
    stream.set_verify_callback(net::ssl::host_name_verification(host));
    lowest.expires_after(timeout);
    error = run_one(io, [&](auto handler) {
      stream.async_handshake(net::ssl::stream_base::client, std::move(handler));
    });
  }
  return !error;
}

}  // namespace spotgrid::client
