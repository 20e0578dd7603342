#pragma once
// Browser sessions (docs/architecture.md#security): a browser signs in once
// with an API key and gets an HttpOnly, SameSite=Strict cookie instead, so
// the key never sits in script-readable storage or a URL. State-changing
// requests must echo the session's CSRF token in X-CSRF-Token, and a
// WebSocket upgrade (a browser cannot set Authorization on it) presents a
// single-use ticket that lives 30 seconds.
//
// Sessions live in this process's memory: bounded, expiring after an hour,
// revocable by signing out, and only as good as the key behind them (every
// request is authenticated with that key, so a revoked key ends its
// sessions). A gateway that restarts or takes over signs its browsers out.
#include <chrono>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

namespace spotgrid::gateway {

inline constexpr std::string_view kSessionCookie = "sg_session";

// The value of cookie `name` in a Cookie header, or "".
std::string_view cookie_value(std::string_view cookie_header, std::string_view name);

class BrowserSessions {
 public:
  static constexpr std::chrono::seconds kLifetime{3'600};
  static constexpr std::chrono::seconds kTicketLifetime{30};
  static constexpr std::size_t kMaxSessions = 65'536;
  // Per owner (an account, or a platform role's key: owner_of()), whatever its
  // keys: one sign-in more closes the oldest. Per key, revoking a key and making
  // another would let one account fill the table (an outsider's attack).
  static constexpr std::size_t kMaxSessionsPerOwner = 16;
  static constexpr std::size_t kMaxTickets = 65'536;
  static constexpr std::size_t kMaxTicketsPerSession = 4;  // more: the oldest is void

  struct Opened {
    std::string token;  // the cookie's value
    std::string csrf;
    std::chrono::system_clock::time_point expires_at;
  };
  struct Live {
    std::string api_key;
    std::string csrf;
    std::chrono::system_clock::time_point expires_at;
  };
  enum class Failure : std::uint8_t { kNoSession, kBadCsrf, kFull };

  // A session for `api_key`, which the caller has verified and which belongs to
  // `owner`; kFull when kMaxSessions are live.
  std::variant<Opened, Failure> open(const std::string& api_key, const std::string& owner);
  // The live session a cookie names. With `state_changing`, `csrf_header`
  // must match its token.
  std::variant<Live, Failure> find(std::string_view token, std::string_view csrf_header,
                                   bool state_changing);
  void close(std::string_view token);
  // A single-use ticket for the session `token` names (live, CSRF checked).
  std::variant<std::string, Failure> ticket(std::string_view token, std::string_view csrf_header);
  struct Redeemed {
    std::string api_key;
    std::string session;  // which session gave the ticket (its hash): live_among() asks after it
  };
  // The key and session behind a ticket, once; nothing when unknown, used or expired.
  std::optional<Redeemed> redeem(std::string_view ticket);
  // Those of `sessions` (as redeem() named them) that are still live.
  std::unordered_set<std::string> live_among(const std::vector<std::string>& sessions) const;

  std::size_t live() const;

 private:
  struct Session {
    std::string api_key;
    std::string owner;  // its entry in by_owner_
    std::string csrf;
    std::chrono::system_clock::time_point expires_at;
    std::deque<std::string> tickets;  // hashes, oldest first; may name used ones
  };
  struct Ticket {
    std::string session_hash;
    std::chrono::system_clock::time_point expires_at;
  };
  // Under mutex_: drops what has expired.
  void sweep(std::chrono::system_clock::time_point now);
  // Under mutex_: ends a session, its tickets and its place in by_owner_.
  void erase(const std::string& session_hash);

  mutable std::mutex mutex_;
  // Keyed by SHA-256 of the token: a lookup's timing says nothing of a token.
  std::unordered_map<std::string, Session> sessions_;
  std::unordered_map<std::string, Ticket> tickets_;
  // Each owner's sessions (hashes), oldest first: at most kMaxSessionsPerOwner.
  std::unordered_map<std::string, std::deque<std::string>> by_owner_;
};

}  // namespace spotgrid::gateway
