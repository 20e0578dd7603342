// The HTTP server on Boost.Beast: one acceptor, sessions on strands over an
// io_context run by N threads. Every limit is explicit (ServerOptions): body and
// header size, a deadline per request (slow-loris and idle clients are closed),
// a deadline per response, and a connection cap.

#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <optional>
#include <thread>

#include "spotgrid/gateway/http.hpp"

namespace spotgrid::gateway {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

struct Shared {
  ServerOptions options;
  Handler handler;
  std::atomic<std::size_t> connections{0};
};

// What a request that could not be parsed gets, or nothing: close silently.
std::optional<HttpResponse> answer_to_read_error(const beast::error_code& ec) {
  if (ec == http::error::body_limit)
    return error_response(413, "body_too_large", "the request body exceeds the limit");
  if (ec == http::error::header_limit)
    return error_response(431, "headers_too_large", "the request headers exceed the limit");
  if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
      ec == beast::error::timeout ||
      ec.category() != http::make_error_code(http::error::bad_target).category()) {
    return std::nullopt;  // the client left, stalled, or the socket failed
  }
  return error_response(400, "malformed_request",
                        "the request is not valid HTTP/1.1: " + ec.message());
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, std::shared_ptr<Shared> shared)
      : stream_(std::move(socket)), shared_(std::move(shared)) {
    ++shared_->connections;
  }
  ~Session() { --shared_->connections; }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void start() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&Session::read, shared_from_this()));
  }

 private:
  void read() {
    parser_.emplace();
    parser_->body_limit(shared_->options.body_limit);
    parser_->header_limit(static_cast<std::uint32_t>(shared_->options.header_limit));
    stream_.expires_after(shared_->options.request_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t /*bytes*/) {
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
    version_ = message.version();
    HttpRequest request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    request.body = std::move(message.body());
    for (const auto& field : message)
      request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    // Until the handler answers, no deadline runs on the socket.
    stream_.expires_never();
    auto self = shared_from_this();
    shared_->handler(std::move(request), [self](HttpResponse response) {
      net::post(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
        self->write(std::move(response));
      });
    });
  }

  void write(HttpResponse answer) {
    response_ = {};
    response_.version(version_);
    response_.result(answer.status);
    response_.set(http::field::content_type, answer.content_type);
    for (const auto& [name, value] : answer.headers)
      response_.set(name, value);
    response_.body() = std::move(answer.body);
    response_.keep_alive(keep_alive_);
    response_.prepare_payload();
    stream_.expires_after(shared_->options.write_timeout);
    http::async_write(stream_, response_,
                      beast::bind_front_handler(&Session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t /*bytes*/) {
    if (ec || !keep_alive_) return close();
    read();
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  std::shared_ptr<Shared> shared_;
  bool keep_alive_ = false;
  unsigned version_ = 11;
};

}  // namespace

struct HttpServer::Impl {
  std::shared_ptr<Shared> shared;
  net::io_context io;
  tcp::acceptor acceptor{io};
  std::vector<std::thread> threads;
  std::uint16_t port = 0;

  void accept() {
    acceptor.async_accept(net::make_strand(io), [this](beast::error_code ec, tcp::socket socket) {
      if (ec) {
        if (ec == net::error::operation_aborted) return;  // stopping
      } else if (shared->connections.load() >= shared->options.max_connections) {
        beast::error_code ignored;
        socket.close(ignored);
      } else {
        std::make_shared<Session>(std::move(socket), shared)->start();
      }
      accept();
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
  const tcp::endpoint endpoint(net::ip::make_address(options.address), options.port);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.set_option(net::socket_base::reuse_address(true));
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen(net::socket_base::max_listen_connections);
  impl_->port = impl_->acceptor.local_endpoint().port();
  impl_->accept();
  for (unsigned i = 0; i < std::max(1u, options.threads); ++i)
    impl_->threads.emplace_back([this] { impl_->io.run(); });
}

std::uint16_t HttpServer::port() const {
  return impl_->port;
}

std::size_t HttpServer::open_connections() const {
  return impl_->shared->connections.load();
}

void HttpServer::stop_accepting() {
  net::post(impl_->io, [this] {
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
  });
}

void HttpServer::stop() {
  if (impl_->threads.empty()) return;
  net::post(impl_->io, [this] {
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
  });
  impl_->io.stop();
  for (std::thread& thread : impl_->threads)
    thread.join();
  impl_->threads.clear();
}

}  // namespace spotgrid::gateway
