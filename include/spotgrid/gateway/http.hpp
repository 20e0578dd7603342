#pragma once
// The gateway's HTTP front door (docs/architecture.md#threads, #interfaces, #security), with
// Boost.Beast kept out of this header: handlers see plain requests and answer through a
// callback, from any thread, so a command can be answered after its commit.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace spotgrid::gateway {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query, as sent
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string client_address;  // the peer's IP address, as text ("" when unknown)

  // The first header named `name` (case-insensitive), or "".
  std::string_view header(std::string_view name) const;
  // How many headers are named `name` (case-insensitive).
  std::size_t header_count(std::string_view name) const;
  // The first header named `name` now holds `value` (added when there is none).
  void set_header(std::string_view name, std::string value);
};

// A request target's path: without its query.
inline std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
}

// The value of `name` in the target's query string, if present. Values we
// accept are plain (digits, letters, '-', ':'); anything percent-encoded is
// refused by the routes' parsers rather than decoded.
inline std::optional<std::string_view> query_value(std::string_view target, std::string_view name) {
  const std::size_t question = target.find('?');
  if (question == std::string_view::npos) return std::nullopt;
  std::string_view query = target.substr(question + 1);
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const std::size_t equals = pair.find('=');
    if (pair.substr(0, equals) == name)
      return equals == std::string_view::npos ? std::string_view{} : pair.substr(equals + 1);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
  }
  return std::nullopt;
}

// A name the target's query string gives twice, if any: query_value reads the
// first, and a proxy in front might read another, so such a query is refused.
std::optional<std::string_view> repeated_query_name(std::string_view target);
// A name in the target's query that is not one of `known` (space-separated), if any.
std::optional<std::string_view> unknown_query_name(std::string_view target, std::string_view known);

// A body too large to hold: pulled a piece at a time while the connection
// writes it (HTTP/1.1 chunked), so memory stays one piece whatever the size.
class BodySource {
 public:
  // What next() hands over: a piece, the end, or a failure. A failure ends
  // the connection without the closing chunk, so the client sees a truncated
  // body rather than a complete-looking one.
  struct Piece {
    enum class Kind : std::uint8_t { kData, kEnd, kFailed };
    Kind kind = Kind::kEnd;
    std::string data;
  };
  virtual ~BodySource() = default;
  // Asks for the next piece, called from an I/O thread between writes, which
  // must not wait for it: `deliver` is called once, from any thread.
  virtual void next(std::function<void(Piece)> deliver) = 0;
};

struct HttpResponse {
  unsigned status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::shared_ptr<BodySource> stream;  // when set, the body (and `body` is ignored)
};

// The body every error gets: {"error": {"code", "message", "field"}}.
HttpResponse error_response(unsigned status, std::string_view code, std::string_view message,
                            std::string_view field = {});

// Whether a Content-Type is JSON's: "application/json" in any case, alone or
// with parameters ("; charset=utf-8"), not "application/json-seq" or "application/jsonx".
bool is_json_media_type(std::string_view content_type);

// Must be called exactly once; any thread.
using Respond = std::function<void(HttpResponse)>;
using Handler = std::function<void(HttpRequest&&, Respond)>;

// A WebSocket connection as the application sees it; any thread.
class StreamPeer {
 public:
  virtual ~StreamPeer() = default;
  // Queues a text message. False when the connection is closing, or when the
  // message would overflow the send buffer: the peer is a slow consumer and is
  // disconnected (close code 1008) rather than let memory grow.
  virtual bool send(std::string text) = 0;
  // Sends a close frame (RFC 6455 code and reason) once what is queued is out.
  virtual void close(std::uint16_t code, std::string reason) = 0;
};

// What the application keeps per WebSocket connection.
class StreamSession {
 public:
  virtual ~StreamSession() = default;
  virtual void on_text(std::string_view message) = 0;
  // Called once when the connection ended, whoever ended it.
  virtual void on_closed() = 0;
  // The largest message it takes; 0: the server's stream_message_limit.
  virtual std::size_t message_limit() const { return 0; }
};

// Decides a WebSocket upgrade request: a session accepts it, a response refuses
// it. The connection owns the session; the session must hold the peer weakly
// (a strong reference would be a cycle outliving the server). The opener
// answers through `decide`, once, from any thread (it may look a key up on a
// thread that can wait).
using StreamDecision = std::variant<HttpResponse, std::shared_ptr<StreamSession>>;
using StreamOpener = std::function<void(const HttpRequest&, std::shared_ptr<StreamPeer>,
                                        std::function<void(StreamDecision)> decide)>;

// RFC 6455 §7.4.1 close codes the gateway uses.
namespace close_code {
constexpr std::uint16_t kNormal = 1000;
constexpr std::uint16_t kGoingAway = 1001;
constexpr std::uint16_t kUnsupportedData = 1003;
constexpr std::uint16_t kPolicyViolation = 1008;
constexpr std::uint16_t kTooBig = 1009;
constexpr std::uint16_t kInternalError = 1011;
}  // namespace close_code

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
  // From one client address (HTTP and WebSocket together); 0: no cap. So that
  // one client cannot take every connection the server has.
  std::size_t max_connections_per_address = 0;
  // TLS (PEM files) when both are set: then every connection is HTTPS / WSS.
  std::string tls_certificate_file;
  std::string tls_private_key_file;
  // WebSocket: upgrades go to the opener (none: 404).
  StreamOpener stream_opener;
  std::size_t stream_send_buffer = 1 << 20;  // bytes queued per connection
  std::size_t stream_message_limit = 4'096;  // larger incoming message: close 1009
  // No frame for this long closes the connection; a ping goes out at half of it.
  std::chrono::milliseconds stream_idle_timeout{30'000};
};

class HttpServer {
 public:
  HttpServer(ServerOptions options, Handler handler);
  ~HttpServer();  // stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens and starts the I/O threads; throws if the address is unusable
  // or the TLS certificate or key cannot be loaded.
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
