#pragma once
// Connecting a Beast stream to a server, plain or TLS with the server's
// certificate verified (chain and host name). Includes Beast: only for the
// translation units that already talk to a server (client/, metering/).
#include <algorithm>
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
#include <vector>

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

// Whether `address` is a public unicast address: not loopback, private
// (RFC 1918, unique local), shared (RFC 6598), link-local, multicast,
// documentation, benchmarking, discard, unspecified, nor a tunnel (6to4,
// Teredo) that names an IPv4 address of its own; IPv4 inside IPv6 (mapped,
// SIIT, compatible, NAT64) is judged as IPv4.
inline bool is_public_address(const boost::asio::ip::address& address) {
  if (address.is_v6()) {
    const auto v6 = address.to_v6();
    const auto bytes = v6.to_bytes();
    const auto zero = [&](std::ptrdiff_t from, std::ptrdiff_t to) {
      return std::all_of(bytes.begin() + from, bytes.begin() + to,
                         [](unsigned char b) { return b == 0; });
    };
    const auto starts = [&](unsigned a, unsigned b) { return bytes[0] == a && bytes[1] == b; };
    const bool nat64 = starts(0x00, 0x64) && bytes[2] == 0xff && bytes[3] == 0x9b && zero(4, 12);
    const bool siit = zero(0, 8) && bytes[8] == 0xff && bytes[9] == 0xff && zero(10, 12);
    const bool compatible = zero(0, 12) && !v6.is_loopback() && !v6.is_unspecified();
    if (v6.is_v4_mapped() || nat64 || siit || compatible) {
      return is_public_address(
          boost::asio::ip::address_v4({bytes[12], bytes[13], bytes[14], bytes[15]}));
    }
    const bool unique_local = (bytes[0] & 0xfe) == 0xfc;
    const bool documentation = starts(0x20, 0x01) && bytes[2] == 0x0d && bytes[3] == 0xb8;
    const bool teredo = starts(0x20, 0x01) && bytes[2] == 0 && bytes[3] == 0;
    const bool six_to_four = starts(0x20, 0x02);
    const bool local_nat64 = starts(0x00, 0x64) && bytes[2] == 0xff && bytes[3] == 0x9b &&
                             bytes[4] == 0x00 && bytes[5] == 0x01;
    const bool discard = starts(0x01, 0x00) && zero(2, 8);
    return !(v6.is_loopback() || v6.is_unspecified() || v6.is_link_local() || v6.is_site_local() ||
             v6.is_multicast() || unique_local || documentation || teredo || six_to_four ||
             local_nat64 || discard);
  }
  const auto b = address.to_v4().to_bytes();
  const bool refused = b[0] == 0 || b[0] == 10 || b[0] == 127 || b[0] >= 224 ||
                       (b[0] == 100 && (b[1] & 0xc0) == 64) || (b[0] == 169 && b[1] == 254) ||
                       (b[0] == 172 && (b[1] & 0xf0) == 16) || (b[0] == 192 && b[1] == 168) ||
                       (b[0] == 192 && b[1] == 0 && (b[2] == 0 || b[2] == 2)) ||
                       (b[0] == 198 && (b[1] & 0xfe) == 18) ||
                       (b[0] == 198 && b[1] == 51 && b[2] == 100) ||
                       (b[0] == 203 && b[1] == 0 && b[2] == 113);
  return !refused;
}

// Connects `stream` within `timeout`, and for TLS shakes hands (within it
// again): SNI, and the name (or IP address) the certificate must carry.
// `public_only`: only to the public addresses the name resolves to (checked
// on the addresses connected to, so a name cannot resolve otherwise later).
template <typename Stream>
bool connect(Stream& stream, const std::string& host, std::uint16_t port,
             std::chrono::steady_clock::duration timeout, boost::asio::io_context& io,
             boost::beast::error_code& error, bool public_only = false) {
  namespace net = boost::asio;
  net::ip::tcp::resolver resolver(io);
  const auto resolved = resolver.resolve(host, std::to_string(port), error);
  if (error) return false;
  std::vector<net::ip::tcp::endpoint> endpoints;
  for (const auto& entry : resolved) {
    if (!public_only || is_public_address(entry.endpoint().address()))
      endpoints.push_back(entry.endpoint());
  }
  if (endpoints.empty()) {
    error = net::error::make_error_code(net::error::host_unreachable);
    return false;
  }
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
