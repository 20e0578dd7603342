// The API client on Beast (compiled once in spotgrid_asio): one connection
// per call, so a CLI command never trips over a server that closed an idle
// keep-alive connection.
#include "spotgrid/client/client.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <charconv>
#include <stdexcept>
#include <vector>

#include "spotgrid/client/connect.hpp"

namespace spotgrid::client {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace websocket = beast::websocket;

// RFC 9110 §7.2: the port too, unless it is the scheme's default.
std::string host_header(const Target& target) {
  const bool bracket = target.host.find(':') != std::string::npos;  // an IPv6 address
  std::string host = bracket ? "[" + target.host + "]" : target.host;
  if (target.port != (target.tls ? 443 : 80)) host += ":" + std::to_string(target.port);
  return host;
}

http::request<http::string_body> make_request(const Target& target, const Request& request) {
  http::request<http::string_body> message{http::string_to_verb(request.method), request.target,
                                           11};
  message.set(http::field::host, host_header(target));
  message.set(http::field::user_agent, "spotgrid-cli");
  if (!request.api_key.empty())
    message.set(http::field::authorization, "Bearer " + request.api_key);
  for (const auto& [name, value] : request.headers)
    message.set(name, value);
  if (!request.body.empty()) {
    message.set(http::field::content_type, "application/json");
    message.body() = request.body;
  }
  message.keep_alive(false);
  message.prepare_payload();
  return message;
}

template <typename Fields>
Headers headers_of(const Fields& fields) {
  Headers headers;
  for (const auto& field : fields)
    headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  return headers;
}

Failure failed(const Target& target, const beast::error_code& error) {
  return Failure{"cannot reach " + target.host + ":" + std::to_string(target.port) + ": " +
                 error.message()};
}

// Runs `talk(stream, io)` on a connected stream of the target's kind.
template <typename Talk>
Result with_connection(const Target& target, Talk&& talk) {
  net::io_context io;
  try {
    const auto tls = target.tls ? tls_client_context(target.ca_file) : nullptr;
    beast::error_code error;
    if (target.tls) {
      auto stream = make_stream<TlsStream>(io, tls);
      if (!connect(stream, target.host, target.port, target.timeout, io, error,
                   target.public_addresses_only))
        return failed(target, error);
      return talk(stream, io);
    }
    auto stream = make_stream<PlainStream>(io, tls);
    if (!connect(stream, target.host, target.port, target.timeout, io, error,
                 target.public_addresses_only))
      return failed(target, error);
    return talk(stream, io);
  } catch (const beast::system_error& error) {
    return failed(target, error.code());
  } catch (const std::exception& error) {
    return Failure{error.what()};
  }
}

// Throws what an operation failed with (caught by with_connection).
void check(const beast::error_code& error) {
  if (error) throw beast::system_error(error);
}

}  // namespace

std::optional<Target> parse_url(std::string_view url) {
  Target target;
  if (url.starts_with("https://")) {
    target.tls = true;
    target.port = 443;
    url.remove_prefix(8);
  } else if (url.starts_with("http://")) {
    target.port = 80;
    url.remove_prefix(7);
  } else {
    return std::nullopt;
  }
  if (!url.empty() && url.back() == '/') url.remove_suffix(1);
  if (url.empty() || url.find_first_of("/?#@ ") != std::string_view::npos) return std::nullopt;
  // RFC 3986 §3.2.2: an IPv6 address is in brackets, "[::1]:8080".
  std::string_view host = url;
  std::string_view port;
  if (url.front() == '[') {
    const std::size_t close = url.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = url.substr(1, close - 1);
    const std::string_view rest = url.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return std::nullopt;
    if (!rest.empty()) port = rest.substr(1);
  } else if (const std::size_t colon = url.rfind(':'); colon != std::string_view::npos) {
    host = url.substr(0, colon);
    port = url.substr(colon + 1);
    if (port.empty()) return std::nullopt;
  }
  if (!port.empty()) {
    unsigned number = 0;
    const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), number);
    if (error != std::errc{} || end != port.data() + port.size() || number == 0 || number > 65535)
      return std::nullopt;
    target.port = static_cast<std::uint16_t>(number);
  }
  if (host.empty() || (url.front() != '[' && host.find(':') != std::string_view::npos))
    return std::nullopt;
  // A DNS name (letters, digits, '-', '.') or an address: no other bytes,
  // which a resolver or a log line might read otherwise (IDNs: punycode).
  const bool plain = std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == ':';
  });
  if (!plain) return std::nullopt;
  target.host = std::string(host);
  return target;
}

std::optional<Endpoint> parse_endpoint_url(std::string_view url) {
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  const std::size_t authority_end = url.find_first_of("/?", scheme_end + 3);
  const std::string_view rest =
      authority_end == std::string_view::npos ? std::string_view() : url.substr(authority_end);
  const bool printable =
      std::all_of(rest.begin(), rest.end(), [](char c) { return c > ' ' && c < 127 && c != '#'; });
  if (!printable) return std::nullopt;
  auto target = parse_url(url.substr(0, authority_end));
  if (!target) return std::nullopt;
  std::string path =
      rest.empty() || rest.front() == '?' ? "/" + std::string(rest) : std::string(rest);
  return Endpoint{*std::move(target), std::move(path)};
}

std::optional<bool> address_is_public(std::string_view host) {
  const std::string text(host);
  beast::error_code error;
  const auto address = net::ip::make_address(text, error);
  if (!error) return is_public_address(address);
  // What a resolver also reads as an IPv4 address ("127.1", "2130706433",
  // "0x7f000001": inet_aton's forms) is an address, not a name.
  in_addr legacy{};
  if (::inet_aton(text.c_str(), &legacy) != 0)
    return is_public_address(net::ip::address_v4(ntohl(legacy.s_addr)));
  return std::nullopt;
}

std::string Reply::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (beast::iequals(key, beast::string_view(name.data(), name.size()))) return value;
  }
  return {};
}

Result Client::call(const Request& request) const {
  return with_connection(target_, [&](auto& stream, net::io_context& io) -> Result {
    auto message = make_request(target_, request);
    beast::get_lowest_layer(stream).expires_after(target_.timeout);
    check(run_one(io, [&](auto done) { http::async_write(stream, message, std::move(done)); }));
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(target_.reply_limit);
    check(
        run_one(io, [&](auto done) { http::async_read(stream, buffer, parser, std::move(done)); }));
    const auto& response = parser.get();
    return Reply{response.result_int(), response.body(), headers_of(response)};
  });
}

Result Client::download(const Request& request,
                        const std::function<void(std::string_view)>& sink) const {
  return with_connection(target_, [&](auto& stream, net::io_context& io) -> Result {
    auto message = make_request(target_, request);
    beast::get_lowest_layer(stream).expires_after(target_.timeout);
    check(run_one(io, [&](auto done) { http::async_write(stream, message, std::move(done)); }));
    beast::flat_buffer buffer;
    http::response_parser<http::buffer_body> parser;
    parser.body_limit(boost::none);  // streamed: nothing is held
    check(run_one(
        io, [&](auto done) { http::async_read_header(stream, buffer, parser, std::move(done)); }));
    Reply reply{parser.get().result_int(), {}, headers_of(parser.get())};
    const bool success = reply.status / 100 == 2;
    std::vector<char> piece(std::size_t{64} * 1'024);
    while (!parser.is_done()) {
      parser.get().body().data = piece.data();
      parser.get().body().size = piece.size();
      beast::get_lowest_layer(stream).expires_after(target_.timeout);  // per piece
      const beast::error_code error = run_one(
          io, [&](auto done) { http::async_read(stream, buffer, parser, std::move(done)); });
      if (error && error != http::error::need_buffer) throw beast::system_error(error);
      const std::size_t got = piece.size() - parser.get().body().size;
      if (success) {
        sink(std::string_view(piece.data(), got));
      } else if (reply.body.size() < target_.reply_limit) {
        reply.body.append(piece.data(), got);
      }
    }
    return reply;
  });
}

Result Client::watch(const Request& request, const std::string& first,
                     const std::function<bool(std::string_view)>& on_message) const {
  return with_connection(target_, [&](auto& stream, net::io_context& io) -> Result {
    using Stream = std::remove_reference_t<decltype(stream)>;
    websocket::stream<Stream> socket(std::move(stream));
    // The stream's own timeouts from here: a server silent for a minute
    // (it pings every 15 s) is gone.
    beast::get_lowest_layer(socket).expires_never();
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = target_.timeout;
    timeouts.idle_timeout = std::chrono::seconds(60);
    timeouts.keep_alive_pings = true;
    socket.set_option(timeouts);
    socket.set_option(websocket::stream_base::decorator([&](websocket::request_type& upgrade) {
      upgrade.set(http::field::user_agent, "spotgrid-cli");
      if (!request.api_key.empty())
        upgrade.set(http::field::authorization, "Bearer " + request.api_key);
    }));
    websocket::response_type answer;
    const std::string host = host_header(target_);
    const beast::error_code refused = run_one(io, [&](auto done) {
      socket.async_handshake(answer, host, request.target, std::move(done));
    });
    if (refused) {
      if (answer.result_int() != 0 && answer.result_int() != 101)
        return Reply{answer.result_int(), answer.body(), headers_of(answer)};
      throw beast::system_error(refused);
    }
    check(run_one(io, [&](auto done) { socket.async_write(net::buffer(first), std::move(done)); }));
    beast::flat_buffer buffer;
    for (;;) {
      buffer.clear();
      const beast::error_code error =
          run_one(io, [&](auto done) { socket.async_read(buffer, std::move(done)); });
      if (error == websocket::error::closed) break;
      check(error);
      if (!on_message(beast::buffers_to_string(buffer.data()))) break;
    }
    return Reply{101, {}, {}};
  });
}

}  // namespace spotgrid::client
