#include "stream_hub.hpp"
#include "spotgrid/util/log.hpp"

#include <rapidjson/document.h>

#include <algorithm>
#include <vector>

#include "api_support.hpp"

namespace spotgrid::gateway {

namespace {

std::string error_message(std::string_view code, std::string_view message) {
  return json(200,
              [&](Writer& w) {
                field(w, "type", "error");
                field(w, "code", code);
                field(w, "message", message);
              })
      .body;
}

}  // namespace

// One WebSocket connection's subscriptions. The connection owns it; it only
// points back (weakly), so neither keeps the other alive.
class StreamHub::Subscriber : public StreamSession {
 public:
  Subscriber(StreamHub& hub, Principal caller, const std::shared_ptr<StreamPeer>& peer,
             std::string browser_session)
      : hub_(hub),
        caller_(std::move(caller)),
        peer_(peer),
        browser_session_(std::move(browser_session)) {}
  ~Subscriber() override { hub_.forget(this); }
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;

  std::shared_ptr<StreamPeer> peer_handle() const { return peer_.lock(); }
  const Principal& caller() const { return caller_; }
  const std::string& browser_session() const { return browser_session_; }

  void on_text(std::string_view message) override {
    JsonBody body(message);
    body.only({"op", "channels"});
    const auto op = body.text("op", 16);
    if (body.problem()) return reply_problem(*body.problem());
    if (*op == "ping") {
      send(R"({"type":"pong"})");
      return;
    }
    if (*op != "subscribe" && *op != "unsubscribe") {
      send(error_message("invalid_field", "op must be subscribe, unsubscribe or ping"));
      return;
    }
    const auto asked = body.texts("channels", kMaxChannelsPerConnection, 64);
    if (body.problem()) return reply_problem(*body.problem());
    // All or nothing: one channel the caller cannot have refuses the message.
    std::vector<std::pair<std::string, std::string>> resolved;  // public, internal
    for (const std::string& name : *asked) {
      std::string internal;
      std::string problem;
      if (!hub_.resolve(caller_, name, internal, problem)) {
        std::string why = name;
        why += ": ";
        why += problem;
        send(error_message("invalid_channel", why));
        return;
      }
      resolved.emplace_back(name, std::move(internal));
    }
    const bool subscribe = *op == "subscribe";
    if (subscribe && channels_.size() + resolved.size() > kMaxChannelsPerConnection) {
      send(error_message("too_many_channels", "at most 64 channels per connection"));
      return;
    }
    for (auto& [name, internal] : resolved) {
      if (subscribe && channels_.insert(internal).second) hub_.add(this, internal);
      if (!subscribe && channels_.erase(internal) > 0) hub_.remove(this, internal);
    }
    send(json(200, [&](Writer& w) {
           field(w, "type", subscribe ? "subscribed" : "unsubscribed");
           key(w, "channels");
           w.StartArray();
           for (const auto& [name, internal] : resolved)
             text(w, name);
           w.EndArray();
         }).body);
  }

  void on_closed() override { hub_.forget(this); }

  const std::unordered_set<std::string>& channels() const { return channels_; }

 private:
  void reply_problem(const FieldProblem& problem) {
    send(error_message(
        problem.field.empty() ? "invalid_json" : "invalid_field",
        problem.field.empty() ? problem.message : problem.field + " " + problem.message));
  }

  void send(std::string text) {
    if (auto peer = peer_.lock()) peer->send(std::move(text));
  }

  StreamHub& hub_;
  const Principal caller_;
  const std::weak_ptr<StreamPeer> peer_;
  const std::string browser_session_;         // "" when opened with a key
  std::unordered_set<std::string> channels_;  // internal names
};

StreamHub::StreamHub(const engine::Catalog& catalog) : catalog_(catalog) {}

StreamHub::~StreamHub() = default;

std::shared_ptr<StreamSession> StreamHub::open(const Principal& caller,
                                               const std::shared_ptr<StreamPeer>& peer,
                                               std::size_t quota, std::string browser_session) {
  auto subscriber = std::make_shared<Subscriber>(*this, caller, peer, std::move(browser_session));
  std::lock_guard lock(mutex_);
  if (closed_ || (quota != 0 && count_of(caller) >= quota)) return nullptr;
  subscribers_.insert(subscriber.get());
  return subscriber;
}

bool StreamHub::closed() const {
  std::lock_guard lock(mutex_);
  return closed_;
}

bool StreamHub::resolve(const Principal& caller, std::string_view asked, std::string& internal,
                        std::string& problem) const {
  if (asked == "orders" || asked == "leases") {
    if (caller.role == Role::kPublic) {
      problem = "orders and leases need a key: sign in";
      return false;
    }
    if (is_platform_role(caller.role)) {
      problem = "this key's role has no account of its own";
      return false;
    }
    if (caller.scope == KeyScope::kBilling) {
      problem = "a billing key reads money only: orders and leases need a full or read key";
      return false;
    }
    internal = std::string(asked) + ":" + std::to_string(caller.account);
    return true;
  }
  const auto colon = asked.find(':');
  const std::string_view kind = asked.substr(0, colon);
  if (colon == std::string_view::npos || (kind != "book" && kind != "trades" && kind != "index")) {
    problem = "channels are book:<pool>, trades:<pool>, index:<pool>, orders and leases";
    return false;
  }
  if (!catalog_.find_pool(asked.substr(colon + 1))) {
    problem = "no such pool";
    return false;
  }
  internal = std::string(asked);
  return true;
}

void StreamHub::add(Subscriber* subscriber, const std::string& channel) {
  std::lock_guard lock(mutex_);
  channels_[channel].insert(subscriber);
}

void StreamHub::remove(Subscriber* subscriber, const std::string& channel) {
  std::lock_guard lock(mutex_);
  const auto found = channels_.find(channel);
  if (found == channels_.end()) return;
  found->second.erase(subscriber);
  if (found->second.empty()) channels_.erase(found);
}

void StreamHub::forget(Subscriber* subscriber) {
  std::lock_guard lock(mutex_);
  for (const std::string& channel : subscriber->channels()) {
    const auto found = channels_.find(channel);
    if (found == channels_.end()) continue;
    found->second.erase(subscriber);
    if (found->second.empty()) channels_.erase(found);
  }
  subscribers_.erase(subscriber);
}

void StreamHub::deliver(std::string_view channel, const std::string& message) {
  std::vector<std::shared_ptr<StreamPeer>> peers;
  {
    std::lock_guard lock(mutex_);
    const auto found = channels_.find(std::string(channel));
    if (found == channels_.end()) return;
    for (Subscriber* subscriber : found->second) {
      if (auto peer = subscriber->peer_handle()) peers.push_back(std::move(peer));
    }
  }
  for (const auto& peer : peers) {
    if (peer->send(message)) {
      ++delivered_;
    } else {
      ++dropped_;
    }
  }
}

void StreamHub::close_all() {
  std::vector<std::shared_ptr<StreamPeer>> peers;
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    for (Subscriber* subscriber : subscribers_) {
      if (auto peer = subscriber->peer_handle()) peers.push_back(std::move(peer));
    }
  }
  for (const auto& peer : peers)
    peer->close(close_code::kGoingAway, "the server is shutting down");
}

std::vector<std::string> StreamHub::key_ids() const {
  std::unordered_set<std::string> ids;
  {
    std::lock_guard lock(mutex_);
    for (const Subscriber* subscriber : subscribers_) {
      if (subscriber->caller().role != Role::kPublic) ids.insert(subscriber->caller().key_id);
    }
  }
  return {ids.begin(), ids.end()};
}

std::size_t StreamHub::close_keys(const std::unordered_set<std::string>& revoked) {
  if (revoked.empty()) return 0;
  // The public's streams have no key to revoke (key_ids() leaves them out).
  return close_if(
      [&](const Subscriber& subscriber) {
        return subscriber.caller().role != Role::kPublic &&
               revoked.contains(subscriber.caller().key_id);
      },
      "the API key is no longer valid", "streams_closed_key_revoked");
}

std::vector<std::string> StreamHub::browser_sessions() const {
  std::unordered_set<std::string> sessions;
  {
    std::lock_guard lock(mutex_);
    for (const Subscriber* subscriber : subscribers_) {
      if (!subscriber->browser_session().empty()) sessions.insert(subscriber->browser_session());
    }
  }
  return {sessions.begin(), sessions.end()};
}

std::size_t StreamHub::close_sessions(const std::unordered_set<std::string>& ended) {
  if (ended.empty()) return 0;
  return close_if(
      [&](const Subscriber& subscriber) { return ended.contains(subscriber.browser_session()); },
      "the console session has ended", "streams_closed_session_ended");
}

template <typename Doomed>
std::size_t StreamHub::close_if(Doomed doomed, std::string_view why, std::string_view event) {
  std::vector<std::shared_ptr<StreamPeer>> peers;
  {
    std::lock_guard lock(mutex_);
    for (Subscriber* subscriber : subscribers_) {
      if (!doomed(*subscriber)) continue;
      if (auto peer = subscriber->peer_handle()) peers.push_back(std::move(peer));
    }
  }
  for (const auto& peer : peers)
    peer->close(close_code::kPolicyViolation, std::string(why));
  if (!peers.empty())
    util::log::info(event, {{"streams", static_cast<std::uint64_t>(peers.size())}});
  return peers.size();
}

std::size_t StreamHub::count_of(const Principal& caller) const {
  const auto same = [&](const Principal& other) {
    return counted_by_key(caller.role) ? other.key_id == caller.key_id
                                       : other.account == caller.account;
  };
  return static_cast<std::size_t>(
      std::count_if(subscribers_.begin(), subscribers_.end(),
                    [&](const Subscriber* subscriber) { return same(subscriber->caller()); }));
}

std::size_t StreamHub::connections() const {
  std::lock_guard lock(mutex_);
  return subscribers_.size();
}

}  // namespace spotgrid::gateway
