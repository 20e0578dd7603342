#pragma once
// The gateway's HTTP front door (DESIGN §2, §9, §10), with Boost.Beast kept out
// of this header: handlers see plain requests and answer through a callback,
// from any thread, so a command can be answered after its commit.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace spotgrid::gateway {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query, as sent
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  // The first header named `name` (case-insensitive), or "".
  std::string_view header(std::string_view name) const;
};

struct HttpResponse {
  unsigned status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};

// The body every error gets: {"error": {"code", "message", "field"}}.
HttpResponse error_response(unsigned status, std::string_view code, std::string_view message,
                            std::string_view field = {});

// Must be called exactly once; any thread.
using Respond = std::function<void(HttpResponse)>;
using Handler = std::function<void(HttpRequest&&, Respond)>;

struct ServerOptions {
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;  // 0: any free port (see HttpServer::port)
  unsigned threads = 2;
  std::size_t body_limit = 65'536;   // larger: 413
  std::size_t header_limit = 8'192;  // larger: 431
  // From the start of reading a request (or of waiting for the next one on a
  // kept-alive connection) to its last byte: slow or idle clients are closed.
  std::chrono::milliseconds request_timeout{10'000};
  std::chrono::milliseconds write_timeout{10'000};
  std::size_t max_connections = 4'096;  // beyond: accepted and closed at once
};

class HttpServer {
 public:
  HttpServer(ServerOptions options, Handler handler);
  ~HttpServer();  // stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens and starts the I/O threads; throws if the address is unusable.
  void start();
  std::uint16_t port() const;
  std::size_t open_connections() const;
  // Closes the listening socket; open connections carry on (draining).
  void stop_accepting();
  // Stops accepting and closes every connection; joins the I/O threads. Call
  // it after whatever answers requests asynchronously has stopped.
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace spotgrid::gateway
