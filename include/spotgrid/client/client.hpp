#pragma once
// A blocking client of spotgridd's API for command-line tools (the
// `spotgrid` CLI, spotgrid-loadtest's set-up): one connection per call, plain
// or HTTPS with the server's certificate verified, a streamed GET for large
// bodies, and the WebSocket stream. Boost.Beast stays out of this header.
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace spotgrid::client {

struct Target {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  bool tls = false;
  std::string ca_file;  // TLS: the CA the server's certificate must chain to; "": the system's
  std::chrono::seconds timeout{30};
  // Refuse to connect to loopback, private, link-local and other non-public
  // addresses, whatever the name resolves to (webhooks: no requests into the
  // operator's own network on a user's say-so).
  bool public_addresses_only = false;
  std::size_t reply_limit = std::size_t{64} << 20;  // a whole answer held in memory
};

// "http://HOST[:PORT]" or "https://HOST[:PORT]" (no path); nothing when malformed.
std::optional<Target> parse_url(std::string_view url);

// A URL with a path: "http[s]://HOST[:PORT][/PATH][?QUERY]", its request
// target ("/" when none) beside. No user info, fragment, space or control
// character; nothing when malformed.
struct Endpoint {
  Target target;
  std::string path;
};
std::optional<Endpoint> parse_endpoint_url(std::string_view url);

// For a host that is an IP address (not a name), in any form a resolver reads
// as one ("127.1" too): whether it is public (connect.hpp's is_public_address);
// nothing for a name.
std::optional<bool> address_is_public(std::string_view host);

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method = "GET";
  std::string target = "/";
  std::string body;     // sent as application/json when not empty
  std::string api_key;  // Authorization: Bearer, when not empty
  Headers headers;
};

struct Reply {
  unsigned status = 0;
  std::string body;
  Headers headers;
  std::string header(std::string_view name) const;  // "" when absent
};

// The server never answered: no connection, TLS refused, a timeout.
struct Failure {
  std::string problem;
};

using Result = std::variant<Reply, Failure>;

class Client {
 public:
  explicit Client(Target target) : target_(std::move(target)) {}

  Result call(const Request& request) const;
  // Hands a 2xx body to `sink` a piece at a time as it arrives (exports);
  // other answers come back whole in the Reply.
  Result download(const Request& request,
                  const std::function<void(std::string_view piece)>& sink) const;
  // Opens the WebSocket `request.target`, sends `first`, then hands each
  // message to `on_message` until it returns false or the server closes.
  // A refused upgrade comes back as the Reply; a closed stream as status 101.
  Result watch(const Request& request, const std::string& first,
               const std::function<bool(std::string_view message)>& on_message) const;

  const Target& target() const { return target_; }

 private:
  Target target_;
};

}  // namespace spotgrid::client
