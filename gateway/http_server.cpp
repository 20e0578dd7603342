// The HTTP server on Boost.Beast: one acceptor handing connections round-robin
// to N io_contexts, each run by one thread, plain TCP or TLS. Every limit is explicit
// (ServerOptions): body and header size, a deadline per request (slow-loris and
// idle clients are closed), a deadline per response, a connection cap, and for
// WebSockets a bounded send buffer, a message size limit and an idle timeout.

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "spotgrid/gateway/http.hpp"
#include "spotgrid/util/log.hpp"
#include "spotgrid/util/thread_role.hpp"

namespace spotgrid::gateway {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

namespace {

// Streams on their io_context's own executor type, not the type-erased
// any_io_executor: every completion would otherwise copy and destroy one.
using Executor = net::io_context::executor_type;
using Socket = net::basic_stream_socket<tcp, Executor>;
using PlainStream = beast::basic_stream<tcp, Executor, beast::unlimited_rate_policy>;
using TlsStream = beast::ssl_stream<PlainStream>;

struct Shared {
  ServerOptions options;
  Handler handler;
  std::optional<ssl::context> tls;
  std::atomic<std::size_t> connections{0};
  std::mutex by_address_mutex;
  std::unordered_map<std::string, std::size_t> by_address;  // open connections per client

  // Whether one more connection from `address` fits under the caps.
  bool admits(const std::string& address) {
    if (connections.load() >= options.max_connections) return false;
    if (options.max_connections_per_address == 0) return true;
    std::lock_guard lock(by_address_mutex);
    const auto it = by_address.find(address);
    return it == by_address.end() || it->second < options.max_connections_per_address;
  }
};

// Counts a connection for the caps while it lives.
struct ConnectionSlot {
  ConnectionSlot(std::shared_ptr<Shared> s, std::string client)
      : shared(std::move(s)), address(std::move(client)) {
    ++shared->connections;
    if (shared->options.max_connections_per_address == 0) return;
    std::lock_guard lock(shared->by_address_mutex);
    ++shared->by_address[address];
  }
  ~ConnectionSlot() {
    --shared->connections;
    if (shared->options.max_connections_per_address == 0) return;
    std::lock_guard lock(shared->by_address_mutex);
    const auto it = shared->by_address.find(address);
    if (it != shared->by_address.end() && --it->second == 0) shared->by_address.erase(it);
  }
  ConnectionSlot(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(const ConnectionSlot&) = delete;
  std::shared_ptr<Shared> shared;
  std::string address;
};

// What a request that could not be parsed gets, or nothing: close silently.
std::optional<HttpResponse> answer_to_read_error(const beast::error_code& ec) {
  if (ec == http::error::body_limit)
    return error_response(413, "body_too_large", "the request body exceeds the limit");
  if (ec == http::error::header_limit)
    return error_response(431, "headers_too_large", "the request headers exceed the limit");
  // More unparsed bytes than a header and a body may take: fields past the
  // header's limit that the parser reads whole (a chunked body's trailer, a
  // chunk's extensions), which header_limit and body_limit do not count.
  if (ec == http::error::buffer_overflow)
    return error_response(431, "headers_too_large", "the request's fields exceed the limit");
  if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
      ec == beast::error::timeout ||
      ec.category() != http::make_error_code(http::error::bad_target).category()) {
    return std::nullopt;  // the client left, stalled, or the socket failed
  }
  return error_response(400, "malformed_request",
                        "the request is not valid HTTP/1.1: " + ec.message());
}

// A request whose framing a proxy in front could read otherwise, refused before
// any handler sees it (RFC 9112 §3.2, §6.1). Any Transfer-Encoding: a body comes
// with Content-Length, as every client of this API sends it; a chunked body's
// trailer fields arrived as headers no proxy saw, and `identity` or
// `chunked, chunked` left the body to be read as the next request. An HTTP/1.1
// request names one Host, an HTTP/1.0 one at most.
std::optional<HttpResponse> framing_refusal(const http::request<http::string_body>& message) {
  if (message.count(http::field::transfer_encoding) != 0) {
    return error_response(411, "length_required",
                          "send the request body with Content-Length; Transfer-Encoding is not "
                          "accepted",
                          "Transfer-Encoding");
  }
  const std::size_t hosts = message.count(http::field::host);
  // One host[:port], not a list ("a, b") that a proxy may read another way.
  const bool listed =
      hosts == 1 && message[http::field::host].find_first_of(", \t") != beast::string_view::npos;
  if (hosts > 1 || listed || (hosts == 0 && message.version() >= 11))
    return error_response(400, "invalid_header", "send one Host header, naming one host", "Host");
  return std::nullopt;
}

// The peer as the per-client limits see it: its IPv4 address, or its IPv6
// /64 (one subscriber's prefix: a host picks any address inside it at will);
// "" when the socket no longer knows it.
std::string client_address(const Socket& socket) {
  beast::error_code ec;
  const auto endpoint = socket.remote_endpoint(ec);
  if (ec) return {};
  const net::ip::address address = endpoint.address();
  if (!address.is_v6()) return address.to_string();
  const net::ip::address_v6 v6 = address.to_v6();
  if (v6.is_v4_mapped()) return net::ip::make_address_v4(net::ip::v4_mapped, v6).to_string();
  net::ip::address_v6::bytes_type prefix = v6.to_bytes();
  std::fill(prefix.begin() + 8, prefix.end(), std::uint8_t{0});
  return net::ip::address_v6(prefix).to_string() + "/64";
}

// host [":" port] (RFC 3986 §3.2.2, §3.2.3), with no userinfo or escapes: a
// bracketed IPv6 literal, or a name or IPv4 address; the host not empty.
bool plain_authority(beast::string_view authority) {
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  const auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  const auto all = [](beast::string_view text, auto is) {
    return !text.empty() && std::all_of(text.begin(), text.end(), is);
  };
  std::size_t host_end = 0;
  bool host = false;
  if (!authority.empty() && authority.front() == '[') {
    host_end = authority.find(']');
    if (host_end == beast::string_view::npos) return false;
    host = all(authority.substr(1, host_end - 1), [&](char c) {
      return digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.';
    });
    ++host_end;
  } else {
    host_end = std::min(authority.find(':'), authority.size());
    host = all(authority.substr(0, host_end), [&](char c) {
      return digit(c) || letter(c) || c == '-' || c == '.' || c == '_' || c == '~';
    });
  }
  const beast::string_view port = authority.substr(host_end);
  return host && (port.empty() ||
                  (port.front() == ':' && (port.size() == 1 || all(port.substr(1), digit))));
}

// A target in origin-form ("/path?query"). The absolute-form that a server must
// also accept (RFC 9112 §3.2.2: "http://host/path?query", as a client sends it to
// a proxy) keeps its path and query, when its authority is a plain host and port
// and it has no fragment or backslash (which parsers read differently); the host
// is not used, as no route depends on it. Anything else is left as it came, and
// routes nowhere (404).
std::string origin_form(beast::string_view target) {
  for (const beast::string_view scheme : {"http://", "https://"}) {
    if (target.size() < scheme.size() || !beast::iequals(target.substr(0, scheme.size()), scheme))
      continue;
    const beast::string_view rest = target.substr(scheme.size());
    const std::size_t end = std::min(rest.find_first_of("/?"), rest.size());
    if (!plain_authority(rest.substr(0, end)) ||
        rest.find_first_of("#\\") != beast::string_view::npos)
      break;
    return (end == rest.size() || rest[end] == '?' ? "/" : "") + std::string(rest.substr(end));
  }
  return std::string(target);
}

// Whether the request asks to be told before it sends its body (RFC 9110
// §10.1.1): 100-continue among its Expect fields' comma-separated members.
bool expects_continue(const http::request<http::string_body>& message) {
  if (message.version() < 11) return false;  // an HTTP/1.0 client gets no 1xx
  const auto [first, last] = message.equal_range(http::field::expect);
  for (auto field = first; field != last; ++field) {
    for (const auto& member : http::token_list(field->value()))
      if (beast::iequals(member, "100-continue")) return true;
  }
  return false;
}

HttpRequest to_request(http::request<http::string_body>& message, std::string client) {
  HttpRequest request;
  request.client_address = std::move(client);
  request.method = std::string(message.method_string());
  request.target = origin_form(message.target());
  request.body = std::move(message.body());
  for (const auto& field : message)
    request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  return request;
}

http::response<http::string_body> to_message(HttpResponse answer, unsigned version,
                                             bool keep_alive) {
  http::response<http::string_body> message;
  message.version(version);
  message.result(answer.status);
  message.set(http::field::content_type, answer.content_type);
  for (const auto& [name, value] : answer.headers)
    message.set(name, value);
  message.body() = std::move(answer.body);
  message.keep_alive(keep_alive);
  message.prepare_payload();
  // No Content-Length where the status has no body (RFC 9110 §8.6): Beast's
  // prepare_payload sets one whenever it knows the body's size.
  const unsigned status = message.result_int();
  if (status < 200 || status == 204 || status == 304) message.erase(http::field::content_length);
  return message;
}

// What a connection keeps of its header buffer between answers.
constexpr std::size_t kKeptHeaderBuffer = 4 << 10;

// `message`'s status line and fields as Beast's serializer writes them (with
// Content-Length, set by prepare_payload), into `out` (replaced); false if the
// serializer failed, which a string body in memory does not.
bool serialize_header(const http::response<http::string_body>& message, std::string& out) {
  out.clear();
  http::response_serializer<http::string_body> serializer(message);
  serializer.split(true);  // stop after the header: the body goes out as it is
  beast::error_code ec;
  while (!ec && !serializer.is_header_done()) {
    serializer.next(ec, [&](beast::error_code& visit_ec, const auto& buffers) {
      visit_ec = {};
      for (const net::const_buffer piece : beast::buffers_range_ref(buffers))
        out.append(static_cast<const char*>(piece.data()), piece.size());
      serializer.consume(net::buffer_size(buffers));
    });
  }
  return !ec;
}

// Ends a connection: TLS says close_notify first (bounded by a deadline).
void shut_down(PlainStream& stream, std::chrono::milliseconds /*deadline*/,
               const std::shared_ptr<void>& /*keep_alive*/) {
  beast::error_code ignored;
  stream.socket().shutdown(Socket::shutdown_send, ignored);
  stream.close();
}
void shut_down(TlsStream& stream, std::chrono::milliseconds deadline,
               const std::shared_ptr<void>& keep_alive) {
  beast::get_lowest_layer(stream).expires_after(deadline);
  stream.async_shutdown(
      [&stream, keep_alive](beast::error_code) { beast::get_lowest_layer(stream).close(); });
}

// What a WebSocket keeps of its read buffer between messages.
constexpr std::size_t kKeptReadBuffer = 64 << 10;

// A WebSocket after the upgrade: a read loop handing text messages to the
// application's session, and a write queue bounded in bytes.
template <typename Stream>
class WebSocketSession : public StreamPeer,
                         public std::enable_shared_from_this<WebSocketSession<Stream>> {
 public:
  WebSocketSession(Stream&& stream, std::shared_ptr<Shared> shared, std::string address)
      : socket_(std::move(stream)), slot_(std::move(shared), std::move(address)) {}

  void run(http::request<http::string_body> upgrade, const HttpRequest& request) {
    upgrade_ = std::move(upgrade);
    slot_.shared->options.stream_opener(
        request, this->shared_from_this(),
        [self = this->shared_from_this()](StreamDecision decision) {
          net::post(self->socket_.get_executor(), [self, decision = std::move(decision)]() mutable {
            self->decided(std::move(decision));
          });
        });
  }

  void decided(StreamDecision decision) {
    const Shared& shared = *slot_.shared;
    if (auto* refusal = std::get_if<HttpResponse>(&decision)) return refuse(std::move(*refusal));
    session_ = std::get<std::shared_ptr<StreamSession>>(std::move(decision));
    beast::get_lowest_layer(socket_).expires_never();  // the websocket timeouts take over
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = shared.options.request_timeout;
    timeouts.idle_timeout = shared.options.stream_idle_timeout;
    timeouts.keep_alive_pings = true;
    socket_.set_option(timeouts);
    const std::size_t limit = session_->message_limit();
    socket_.read_message_max(limit != 0 ? limit : shared.options.stream_message_limit);
    socket_.async_accept(upgrade_, beast::bind_front_handler(&WebSocketSession::on_accept,
                                                             this->shared_from_this()));
  }

  bool send(std::string text) override {
    if (closing_.load()) return false;
    const std::size_t size = text.size();
    if (queued_bytes_.fetch_add(size) + size > slot_.shared->options.stream_send_buffer) {
      queued_bytes_ -= size;
      if (!closing_.load()) {
        util::log::warn("stream_slow_consumer",
                        {{"client", slot_.address},
                         {"buffer_bytes",
                          static_cast<std::uint64_t>(slot_.shared->options.stream_send_buffer)}});
      }
      end(close_code::kPolicyViolation, "slow consumer: the send buffer is full", true);
      return false;
    }
    net::post(socket_.get_executor(),
              [self = this->shared_from_this(), text = std::move(text)]() mutable {
                self->queue_.push_back(std::move(text));
                self->write_next();
              });
    return true;
  }

  void close(std::uint16_t code, std::string reason) override {
    end(code, std::move(reason), false);
  }

 private:
  // Closes once: with a close frame after what is queued, or, for a consumer
  // too slow to take its messages (`slow`, while a write waits on it), without
  // one: it cannot take a close frame either.
  void end(std::uint16_t code, std::string reason, bool slow) {
    if (closing_.exchange(true)) return;
    net::post(socket_.get_executor(),
              [self = this->shared_from_this(), code, reason = std::move(reason), slow]() mutable {
                if (slow && self->writing_) return self->finish();
                // A close frame's reason is at most 123 bytes (RFC 6455 §5.5).
                self->close_reason_ = websocket::close_reason(
                    static_cast<websocket::close_code>(code),
                    beast::string_view(reason.data(), std::min<std::size_t>(reason.size(), 123)));
                self->write_next();
              });
  }

  void refuse(HttpResponse answer) {
    response_ = to_message(std::move(answer), upgrade_.version(), false);
    beast::get_lowest_layer(socket_).expires_after(slot_.shared->options.write_timeout);
    http::async_write(socket_.next_layer(), response_,
                      [self = this->shared_from_this()](beast::error_code, std::size_t) {
                        shut_down(self->socket_.next_layer(),
                                  self->slot_.shared->options.write_timeout, self);
                      });
  }

  void on_accept(beast::error_code ec) {
    if (ec) return finish();
    accepted_ = true;
    write_next();
    read();
  }

  void read() {
    socket_.async_read(
        buffer_, beast::bind_front_handler(&WebSocketSession::on_read, this->shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t /*bytes*/) {
    if (ec == websocket::error::message_too_big) {
      close(close_code::kTooBig, "messages are limited in size");
      return;  // the close goes out; the reads end with it
    }
    if (ec) return finish();
    if (!socket_.got_text()) {
      buffer_.consume(buffer_.size());
      close(close_code::kUnsupportedData, "only text messages are accepted");
      return;
    }
    const std::string message = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    // One large message must not pin its size for the connection's life.
    if (buffer_.capacity() > kKeptReadBuffer) buffer_.shrink_to_fit();
    if (session_) session_->on_text(message);
    read();
  }

  // One write at a time; the close frame goes after what was queued before it.
  void write_next() {
    if (!accepted_ || writing_ || close_sent_) return;
    if (!queue_.empty()) {
      writing_ = true;
      socket_.text(true);
      socket_.async_write(
          net::buffer(queue_.front()),
          beast::bind_front_handler(&WebSocketSession::on_write, this->shared_from_this()));
      return;
    }
    if (close_reason_) {
      close_sent_ = true;
      socket_.async_close(*close_reason_,
                          [self = this->shared_from_this()](beast::error_code) { self->finish(); });
    }
  }

  void on_write(beast::error_code ec, std::size_t /*bytes*/) {
    writing_ = false;
    queued_bytes_ -= queue_.front().size();
    queue_.pop_front();
    if (ec) return finish();
    write_next();
  }

  // The end (once for the application): it forgets the connection, and the
  // socket closes, failing whatever is pending (the queue stays until then:
  // a pending write still points into it).
  void finish() {
    closing_ = true;
    close_sent_ = true;
    if (session_) std::exchange(session_, nullptr)->on_closed();
    beast::error_code ignored;
    beast::get_lowest_layer(socket_).socket().close(ignored);
  }

  websocket::stream<Stream> socket_;
  ConnectionSlot slot_;
  http::request<http::string_body> upgrade_;
  http::response<http::string_body> response_;
  std::shared_ptr<StreamSession> session_;
  beast::flat_buffer buffer_;
  std::deque<std::string> queue_;
  std::atomic<std::size_t> queued_bytes_{0};
  std::atomic<bool> closing_{false};
  std::optional<websocket::close_reason> close_reason_;
  bool accepted_ = false;
  bool writing_ = false;
  bool close_sent_ = false;
};

template <typename Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  // The read buffer holds at most a header and a body's worth of unparsed bytes
  // (a body is consumed as it is parsed): past that, a read fails with
  // buffer_overflow (431) instead of the buffer growing with a client's trailer.
  Session(Stream&& stream, std::shared_ptr<Shared> shared, std::string address)
      : stream_(std::move(stream)),
        slot_(std::move(shared), std::move(address)),
        buffer_(options().header_limit + options().body_limit) {}

  void start() {
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      if constexpr (std::is_same_v<Stream, TlsStream>) {
        beast::get_lowest_layer(self->stream_).expires_after(self->options().request_timeout);
        self->stream_.async_handshake(ssl::stream_base::server, [self](beast::error_code ec) {
          if (ec) return beast::get_lowest_layer(self->stream_).close();
          self->read();
        });
      } else {
        self->read();
      }
    });
  }

 private:
  const ServerOptions& options() const { return slot_.shared->options; }

  void read() {
    ++awaited_request_;  // from here on, an answer to an earlier request is stale
    answered_ = false;
    head_request_ = false;  // until this request says otherwise (a read error has a body)
    parser_.emplace();
    parser_->body_limit(options().body_limit);
    parser_->header_limit(static_cast<std::uint32_t>(options().header_limit));
    header_read_ = false;
    beast::get_lowest_layer(stream_).expires_after(options().request_timeout);
    read_some();
  }

  // What http::async_read does, with one step once the header is in (on_header).
  void read_some() {
    http::async_read_some(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&Session::on_read_some, this->shared_from_this()));
  }

  void on_read_some(beast::error_code ec, std::size_t /*bytes*/) {
    if (ec || parser_->is_done()) return on_read(ec);
    if (!header_read_ && parser_->is_header_done()) {
      header_read_ = true;
      return on_header();
    }
    read_some();
  }

  // A client that waits to be told before it sends its body (Expect:
  // 100-continue, and none of the body came with the header) is told now: its
  // refusal if its framing is refused, else 100 Continue (RFC 9110 §10.1.1). A
  // client that sends its body at once has it read, then refused, as without
  // Expect: closing over a body in flight could reset the connection before the
  // refusal is read. The header was parsed alone (a parser is not eager until told),
  // so that what came after it is still in the buffer; the body is parsed
  // eagerly, as http::async_read does, not a completion per chunk.
  void on_header() {
    const auto& message = parser_->get();
    parser_->eager(true);
    if (!expects_continue(message) || buffer_.size() != 0) return read_some();
    if (auto refusal = framing_refusal(message)) {
      version_ = std::min(message.version(), 11u);
      head_request_ = message.method() == http::verb::head;
      keep_alive_ = false;
      return write(std::move(*refusal));
    }
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    net::async_write(
        stream_, net::buffer(kContinue.data(), kContinue.size()),
        [self = this->shared_from_this()](beast::error_code ec, std::size_t /*bytes*/) {
          if (ec) return self->close();
          self->read_some();
        });
  }

  void on_read(beast::error_code ec) {
    if (ec) {
      if (auto answer = answer_to_read_error(ec)) {
        keep_alive_ = false;
        write(std::move(*answer));
      } else {
        close();
      }
      return;
    }
    http::request<http::string_body> message = parser_->release();
    keep_alive_ = message.keep_alive();
    version_ = std::min(message.version(), 11u);  // Beast reads "HTTP/2.0" too
    head_request_ = message.method() == http::verb::head;
    if (auto refusal = framing_refusal(message)) {
      keep_alive_ = false;  // what follows on this connection may be the refused body
      return write(std::move(*refusal));
    }
    if (websocket::is_upgrade(message)) return upgrade(std::move(message));
    // Until the handler answers, no deadline runs on the socket.
    beast::get_lowest_layer(stream_).expires_never();
    auto self = this->shared_from_this();
    // dispatch: an answer given at once (on this strand) is written at once;
    // one given later from another thread is queued to the strand.
    // The executor is taken now: a late answer must not read the stream, which
    // an upgrade on this connection may have moved away by then.
    const std::uint64_t request = awaited_request_;
    auto executor = stream_.get_executor();
    slot_.shared->handler(
        to_request(message, slot_.address), [self, executor, request](HttpResponse response) {
          net::dispatch(executor, [self, request, response = std::move(response)]() mutable {
            self->answer(request, std::move(response));
          });
        });
  }

  void upgrade(http::request<http::string_body> message) {
    if (!options().stream_opener) {
      keep_alive_ = false;
      return write(error_response(404, "not_found", "no WebSocket here", "path"));
    }
    const HttpRequest request = to_request(message, slot_.address);
    // The request's body was moved out; an upgrade has none worth keeping.
    std::make_shared<WebSocketSession<Stream>>(std::move(stream_), slot_.shared, slot_.address)
        ->run(std::move(message), request);
  }

  // The handler's answer to the connection's `request`-th request, on this
  // connection's thread. A handler answers once (http.hpp); a second answer
  // would overwrite a write in flight or answer a later request, so it is
  // dropped and logged rather than sent.
  void answer(std::uint64_t request, HttpResponse response) {
    if (request != awaited_request_ || answered_) {
      util::log::error("http_answered_twice", {{"status", std::uint64_t{response.status}}});
      return;
    }
    answered_ = true;
    write(std::move(response));
  }

  // Beast serializes the status line and fields into a buffer the connection
  // keeps; they and the body go out in one gathered async_write. (Handing the
  // message to http::async_write walked the serializer's buffer sequence,
  // each field in pieces, through nested iterators on every write_some.) An
  // answer to HEAD has its Content-Length and no body.
  void write(HttpResponse answer) {
    if (answer.stream) return write_streamed(std::move(answer));
    http::response<http::string_body> message =
        to_message(std::move(answer), version_, keep_alive_);
    if (!serialize_header(message, head_)) {
      util::log::error("http_serialize_failed", {{"status", std::uint64_t{message.result_int()}}});
      return close();
    }
    body_ = head_request_ ? std::string() : std::move(message.body());
    beast::get_lowest_layer(stream_).expires_after(options().write_timeout);
    const std::array<net::const_buffer, 2> wire{net::buffer(head_), net::buffer(body_)};
    net::async_write(stream_, wire,
                     beast::bind_front_handler(&Session::on_write, this->shared_from_this()));
  }

  // Chunked: the header, then one piece of the source at a time.
  void write_streamed(HttpResponse answer) {
    source_ = std::move(answer.stream);
    stream_header_.emplace();
    stream_header_->version(version_);
    stream_header_->result(answer.status);
    stream_header_->set(http::field::content_type, answer.content_type);
    for (const auto& [name, value] : answer.headers)
      stream_header_->set(name, value);
    stream_header_->keep_alive(keep_alive_);
    stream_header_->chunked(true);
    stream_serializer_.emplace(*stream_header_);
    beast::get_lowest_layer(stream_).expires_after(options().write_timeout);
    http::async_write_header(
        stream_, *stream_serializer_,
        beast::bind_front_handler(&Session::write_piece, this->shared_from_this()));
  }

  void write_piece(beast::error_code ec, std::size_t /*bytes*/) {
    if (ec) return close();
    // The session is held once, and handed to its own thread with the piece:
    // copies of this callback left on a worker keep nothing alive, so the
    // session is never destroyed off its I/O thread.
    auto held = std::make_shared<std::shared_ptr<Session>>(this->shared_from_this());
    source_->next([held](BodySource::Piece piece) {
      std::shared_ptr<Session> self = std::move(*held);
      if (!self) return;  // delivered already
      auto executor = self->stream_.get_executor();
      net::post(executor, [self = std::move(self), piece = std::move(piece)]() mutable {
        self->on_piece(std::move(piece));
      });
    });
  }

  void on_piece(BodySource::Piece piece) {
    // No closing chunk on a failure: the client sees the body was cut short.
    if (piece.kind == BodySource::Piece::Kind::kFailed) return close();
    beast::get_lowest_layer(stream_).expires_after(options().write_timeout);
    if (piece.kind == BodySource::Piece::Kind::kEnd) {
      source_.reset();
      return net::async_write(
          stream_, http::make_chunk_last(),
          beast::bind_front_handler(&Session::on_write, this->shared_from_this()));
    }
    piece_ = std::move(piece.data);
    if (piece_.empty()) return write_piece({}, 0);  // an empty chunk would end the body
    net::async_write(stream_, http::make_chunk(net::buffer(piece_)),
                     beast::bind_front_handler(&Session::write_piece, this->shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t /*bytes*/) {
    std::string().swap(body_);  // an answer's body lives only while it is written
    if (head_.capacity() > kKeptHeaderBuffer) std::string().swap(head_);
    if (ec || !keep_alive_) return close();
    read();
  }

  void close() { shut_down(stream_, options().write_timeout, this->shared_from_this()); }

  Stream stream_;
  ConnectionSlot slot_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string head_;  // the answer being written: its status line and fields, serialized
  std::string body_;  // and its body
  std::shared_ptr<BodySource> source_;  // a streamed answer being written
  std::optional<http::response<http::empty_body>> stream_header_;
  std::optional<http::response_serializer<http::empty_body>> stream_serializer_;
  std::string piece_;
  bool keep_alive_ = false;
  bool head_request_ = false;          // the request being answered is a HEAD
  std::uint64_t awaited_request_ = 0;  // the request being read or answered, counted from 1
  bool answered_ = false;              // it has its answer
  unsigned version_ = 11;
  bool header_read_ = false;  // the request's header is in (on_header has run)
};

}  // namespace

struct HttpServer::Impl {
  using WorkGuard = net::executor_work_guard<net::io_context::executor_type>;

  std::shared_ptr<Shared> shared;
  // One io_context per I/O thread, each run by its thread alone: a connection
  // lives on one thread from accept to close, so answering it needs no
  // hand-off between threads (the kernel wakes the thread that owns it).
  std::vector<std::unique_ptr<net::io_context>> contexts;
  std::vector<WorkGuard> guards;
  std::optional<tcp::acceptor> acceptor;  // on contexts[0]
  std::size_t next_context = 0;           // acceptor's thread only
  std::vector<std::thread> threads;
  std::uint16_t port = 0;

  void accept() {
    net::io_context& owner = *contexts[next_context++ % contexts.size()];
    // No strand: one thread runs `owner`, so its handlers never run at once;
    // other threads reach a connection only by posting to its executor.
    acceptor->async_accept(owner.get_executor(), [this](beast::error_code ec, Socket socket) {
      std::string address = ec ? std::string() : client_address(socket);
      if (ec) {
        if (ec == net::error::operation_aborted) return;  // stopping
      } else if (!shared->admits(address)) {
        beast::error_code ignored;
        socket.close(ignored);
      } else if (shared->tls) {
        std::make_shared<Session<TlsStream>>(TlsStream(std::move(socket), *shared->tls), shared,
                                             std::move(address))
            ->start();
      } else {
        std::make_shared<Session<PlainStream>>(PlainStream(std::move(socket)), shared,
                                               std::move(address))
            ->start();
      }
      accept();
    });
  }

  void close_acceptor() {
    net::post(*contexts.front(), [this] {
      beast::error_code ignored;
      acceptor->close(ignored);
    });
  }
};

HttpServer::HttpServer(ServerOptions options, Handler handler) : impl_(std::make_unique<Impl>()) {
  impl_->shared = std::make_shared<Shared>();
  impl_->shared->options = std::move(options);
  impl_->shared->handler = std::move(handler);
}

HttpServer::~HttpServer() {
  stop();
}

void HttpServer::start() {
  const ServerOptions& options = impl_->shared->options;
  if (!options.tls_certificate_file.empty()) {
    auto& tls = impl_->shared->tls.emplace(ssl::context::tls_server);
    tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                    ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    beast::error_code ec;
    tls.use_certificate_chain_file(options.tls_certificate_file, ec);
    if (ec) {
      throw std::runtime_error("tls.certificate_file: cannot load " + options.tls_certificate_file +
                               ": " + ec.message());
    }
    tls.use_private_key_file(options.tls_private_key_file, ssl::context::pem, ec);
    if (ec) {
      throw std::runtime_error("tls.private_key_file: cannot load " + options.tls_private_key_file +
                               ": " + ec.message());
    }
  }
  const unsigned threads = std::max(1u, options.threads);
  for (unsigned i = 0; i < threads; ++i) {
    impl_->contexts.push_back(std::make_unique<net::io_context>(1));  // one thread each
    impl_->guards.emplace_back(impl_->contexts.back()->get_executor());
  }
  const tcp::endpoint endpoint(net::ip::make_address(options.address), options.port);
  impl_->acceptor.emplace(*impl_->contexts.front());
  impl_->acceptor->open(endpoint.protocol());
  impl_->acceptor->set_option(net::socket_base::reuse_address(true));
  impl_->acceptor->bind(endpoint);
  impl_->acceptor->listen(net::socket_base::max_listen_connections);
  impl_->port = impl_->acceptor->local_endpoint().port();
  impl_->accept();
  for (unsigned i = 0; i < threads; ++i)
    impl_->threads.emplace_back([this, i] {
      util::set_thread_role(util::ThreadRole::kIo);
      impl_->contexts[i]->run();
    });
}

std::uint16_t HttpServer::port() const {
  return impl_->port;
}

std::size_t HttpServer::open_connections() const {
  return impl_->shared->connections.load();
}

void HttpServer::stop_accepting() {
  if (!impl_->contexts.empty()) impl_->close_acceptor();
}

void HttpServer::stop() {
  if (impl_->threads.empty()) return;
  impl_->close_acceptor();
  impl_->guards.clear();
  for (const auto& context : impl_->contexts)
    context->stop();
  for (std::thread& thread : impl_->threads)
    thread.join();
  impl_->threads.clear();
}

}  // namespace spotgrid::gateway
