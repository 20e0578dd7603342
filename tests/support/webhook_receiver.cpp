// The receiver on Beast's parser over a plain blocking socket: the sender is
// spotgridd's dispatcher, one request per connection.
#include "webhook_receiver.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <stdexcept>

namespace spotgrid::testing {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

}  // namespace

WebhookReceiver::WebhookReceiver(std::function<unsigned(std::size_t)> answer,
                                 std::chrono::milliseconds delay, std::uint16_t port)
    : answer_(std::move(answer)), delay_(delay) {
  listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
  const int on = 1;
  ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listener_, 64) != 0) {
    ::close(listener_);
    throw std::runtime_error("webhook receiver: cannot listen");
  }
  socklen_t length = sizeof address;
  ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
  port_ = ntohs(address.sin_port);
  thread_ = std::thread([this] { serve(); });
}

WebhookReceiver::~WebhookReceiver() {
  stopping_ = true;
  thread_.join();
  ::close(listener_);
}

std::vector<ReceivedWebhook> WebhookReceiver::received() const {
  const std::lock_guard lock(mutex_);
  return received_;
}

void WebhookReceiver::serve() {
  net::io_context io;
  while (!stopping_) {
    pollfd waiting{listener_, POLLIN, 0};
    if (::poll(&waiting, 1, 20) <= 0) continue;
    const int connection = ::accept(listener_, nullptr, nullptr);
    if (connection < 0) continue;
    const timeval limit{5, 0};  // a sender that stalls does not hold the test
    ::setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    net::ip::tcp::socket socket(io, net::ip::tcp::v4(), connection);
    beast::error_code error;
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
    http::read(socket, buffer, request, error);
    if (error) continue;
    std::size_t index = 0;
    {
      const std::lock_guard lock(mutex_);
      index = received_.size();
      received_.push_back({std::string(request.target()), std::string(request["Spotgrid-Event-Id"]),
                           std::string(request["Spotgrid-Event-Type"]),
                           std::string(request["Spotgrid-Signature"]), request.body()});
    }
    std::this_thread::sleep_for(delay_);
    http::response<http::string_body> response{static_cast<http::status>(answer_(index)), 11};
    response.body() = "ok";
    response.keep_alive(false);
    response.prepare_payload();
    http::write(socket, response, error);
    socket.shutdown(net::ip::tcp::socket::shutdown_both, error);
  }
}

}  // namespace spotgrid::testing
