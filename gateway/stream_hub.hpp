#pragma once
// WebSocket /v1/stream (docs/architecture.md#market-data-and-streams): who is subscribed to
// what on this process.
//
// A client sends {"op": "subscribe" | "unsubscribe", "channels": [...]} or
// {"op": "ping"}. Channels: "book:<pool>", "trades:<pool>", "index:<pool>"
// (anyone authenticated), "orders" and "leases" (the caller's own account).
// The server answers {"type": "subscribed" | "unsubscribed" | "pong" | "error",
// ...} and sends {"type": "event", "channel", "data"} for what it publishes.
// Internally the private channels are "orders:<account>" and "leases:<account>",
// so a caller can never name someone else's.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "spotgrid/engine/catalog.hpp"
#include "spotgrid/gateway/auth.hpp"
#include "spotgrid/gateway/http.hpp"

namespace spotgrid::gateway {

class StreamHub {
 public:
  static constexpr std::size_t kMaxChannelsPerConnection = 64;

  explicit StreamHub(const engine::Catalog& catalog);
  ~StreamHub();
  StreamHub(const StreamHub&) = delete;
  StreamHub& operator=(const StreamHub&) = delete;

  // A session for the caller, or nullptr when the caller's account (platform
  // roles: key) has `quota` connections open already (0: no quota) or the hub
  // is closed (closed()).
  // `browser_session`: the console session whose ticket opened it ("" for one
  // opened with a key), which it lives no longer than.
  std::shared_ptr<StreamSession> open(const Principal& caller,
                                      const std::shared_ptr<StreamPeer>& peer, std::size_t quota,
                                      std::string browser_session = {});
  bool closed() const;
  // Sends `message` to every local subscriber of the internal `channel`.
  void deliver(std::string_view channel, const std::string& message);
  // Closes every connection (1001 going away) and opens no more, for a shutdown.
  void close_all();
  // The API key ids of the open connections (each once; the public's have none).
  std::vector<std::string> key_ids() const;
  // Closes (1008) every connection opened with one of the `revoked` key ids:
  // a revoked key loses its streams as it loses its REST calls. How many.
  // Named, not "every key but the valid": a stream opened after the check
  // was not checked.
  std::size_t close_keys(const std::unordered_set<std::string>& revoked);
  // The browser sessions that opened the open connections (each once).
  std::vector<std::string> browser_sessions() const;
  // Closes (1008) every connection opened through one of the `ended` browser
  // sessions: signing out or the session's expiry ends its streams. How many.
  std::size_t close_sessions(const std::unordered_set<std::string>& ended);

  std::size_t connections() const;
  // Messages not sent: the connection was closing or too slow (then it is closed).
  std::uint64_t dropped() const { return dropped_.load(); }
  std::uint64_t delivered() const { return delivered_.load(); }

  class Subscriber;

 private:
  friend class Subscriber;
  // The internal name of a channel a caller asked for, or a reason it cannot have it.
  bool resolve(const Principal& caller, std::string_view asked, std::string& internal,
               std::string& problem) const;
  void add(Subscriber* subscriber, const std::string& channel);
  void remove(Subscriber* subscriber, const std::string& channel);
  void forget(Subscriber* subscriber);
  std::size_t count_of(const Principal& caller) const;  // under mutex_
  // Closes (1008, `why`) the connections `doomed` picks, and logs `event`.
  template <typename Doomed>
  std::size_t close_if(Doomed doomed, std::string_view why, std::string_view event);

  const engine::Catalog& catalog_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::unordered_set<Subscriber*>> channels_;
  std::unordered_set<Subscriber*> subscribers_;
  bool closed_ = false;
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> delivered_{0};
};

}  // namespace spotgrid::gateway
