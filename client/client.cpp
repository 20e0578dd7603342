// The API client on Beast (compiled once in spotgrid_asio): one connection
// per call, so a CLI command never trips over a server that closed an idle
// keep-alive connection.
#include "spotgrid/client/client.hpp"

#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <cctype>
#include <charconv>
#include <stdexcept>

#include "spotgrid/client/connect.hpp"

namespace spotgrid::client {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace websocket = beast::websocket;

constexpr std::size_t kReplyLimit = std::size_t{64} << 20;  // a whole answer held in memory

bool same_name(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

http::request<http::string_body> make_request(const Target& target, const Request& request) {
  http::request<http::string_body> message{http::string_to_verb(request.method), request.target,
                                           11};
  message.set(http::field::host, target.host);
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

// Runs `talk(stream)` on a connected stream of the target's kind.
template <typename Talk>
Result with_connection(const Target& target, Talk&& talk) {
  net::io_context io;
  try {
    const auto tls = target.tls ? tls_client_context(target.ca_file) : nullptr;
    beast::error_code error;
    if (target.tls) {
      auto stream = make_stream<TlsStream>(io, tls);
      if (!connect(stream, target.host, target.port, target.timeout, io, error))
        return failed(target, error);
      return talk(stream);
    }
    auto stream = make_stream<PlainStream>(io, tls);
    if (!connect(stream, target.host, target.port, target.timeout, io, error))
      return failed(target, error);
    return talk(stream);
  } catch (const beast::system_error& error) {
    return failed(target, error.code());
  } catch (const std::exception& error) {
    return Failure{error.what()};
  }
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
  if (url.empty() || url.find('/') != std::string_view::npos) return std::nullopt;
  const std::size_t colon = url.rfind(':');
  if (colon != std::string_view::npos && url.find(']') == std::string_view::npos) {
    const std::string_view digits = url.substr(colon + 1);
    unsigned port = 0;
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (error != std::errc{} || end != digits.data() + digits.size() || port == 0 || port > 65535)
      return std::nullopt;
    target.port = static_cast<std::uint16_t>(port);
    url = url.substr(0, colon);
  }
  if (url.empty()) return std::nullopt;
  target.host = std::string(url);
  return target;
}

std::string Reply::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (same_name(key, name)) return value;
  }
  return {};
}

Result Client::call(const Request& request) const {
  return with_connection(target_, [&](auto& stream) -> Result {
    beast::get_lowest_layer(stream).expires_after(target_.timeout);
    http::write(stream, make_request(target_, request));
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(kReplyLimit);
    http::read(stream, buffer, parser);
    const auto& response = parser.get();
    return Reply{response.result_int(), response.body(), headers_of(response)};
  });
}

Result Client::download(const Request& request,
                        const std::function<void(std::string_view)>& sink) const {
  return with_connection(target_, [&](auto& stream) -> Result {
    beast::get_lowest_layer(stream).expires_after(target_.timeout);
    http::write(stream, make_request(target_, request));
    beast::flat_buffer buffer;
    http::response_parser<http::buffer_body> parser;
    parser.body_limit(boost::none);  // streamed: nothing is held
    http::read_header(stream, buffer, parser);
    Reply reply{parser.get().result_int(), {}, headers_of(parser.get())};
    const bool success = reply.status / 100 == 2;
    char piece[64 * 1024];
    while (!parser.is_done()) {
      parser.get().body().data = piece;
      parser.get().body().size = sizeof piece;
      beast::error_code error;
      beast::get_lowest_layer(stream).expires_after(target_.timeout);  // per piece
      http::read(stream, buffer, parser, error);
      if (error && error != http::error::need_buffer) throw beast::system_error(error);
      const std::size_t got = sizeof piece - parser.get().body().size;
      if (success) {
        sink(std::string_view(piece, got));
      } else if (reply.body.size() < kReplyLimit) {
        reply.body.append(piece, got);
      }
    }
    return reply;
  });
}

Result Client::watch(const Request& request, const std::string& first,
                     const std::function<bool(std::string_view)>& on_message) const {
  return with_connection(target_, [&](auto& stream) -> Result {
    using Stream = std::remove_reference_t<decltype(stream)>;
    websocket::stream<Stream> socket(std::move(stream));
    beast::get_lowest_layer(socket).expires_never();
    socket.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
    socket.set_option(websocket::stream_base::decorator([&](websocket::request_type& upgrade) {
      upgrade.set(http::field::user_agent, "spotgrid-cli");
      if (!request.api_key.empty())
        upgrade.set(http::field::authorization, "Bearer " + request.api_key);
    }));
    websocket::response_type answer;
    beast::error_code error;
    socket.handshake(answer, target_.host, request.target, error);
    if (error) {
      if (answer.result_int() != 0 && answer.result_int() != 101)
        return Reply{answer.result_int(), answer.body(), headers_of(answer)};
      throw beast::system_error(error);
    }
    socket.write(net::buffer(first));
    beast::flat_buffer buffer;
    for (;;) {
      buffer.clear();
      socket.read(buffer, error);
      if (error == websocket::error::closed) break;
      if (error) throw beast::system_error(error);
      if (!on_message(beast::buffers_to_string(buffer.data()))) break;
    }
    return Reply{101, {}, {}};
  });
}

}  // namespace spotgrid::client
