#include "browser_sessions.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <vector>

#include "spotgrid/gateway/auth.hpp"
#include "spotgrid/util/hex.hpp"

namespace spotgrid::gateway {

namespace {

using Clock = std::chrono::system_clock;

std::string hashed(std::string_view token) {
  const SecretHash hash = hash_secret(token);
  return util::to_hex(hash.data(), hash.size());
}

// Compared in constant time: a CSRF token is a secret.
bool same_secret(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

// RFC 6265 §4.2.1: "name=value" pairs separated by "; ".
std::string_view cookie_value(std::string_view cookie_header, std::string_view name) {
  while (!cookie_header.empty()) {
    const std::size_t end = std::min(cookie_header.find(';'), cookie_header.size());
    std::string_view pair = cookie_header.substr(0, end);
    cookie_header.remove_prefix(std::min(end + 1, cookie_header.size()));
    while (!pair.empty() && pair.front() == ' ')
      pair.remove_prefix(1);
    const std::size_t equals = pair.find('=');
    if (equals != std::string_view::npos && pair.substr(0, equals) == name)
      return pair.substr(equals + 1);
  }
  return {};
}

std::variant<BrowserSessions::Opened, BrowserSessions::Failure> BrowserSessions::open(
    const std::string& api_key, const std::string& owner) {
  const Clock::time_point now = Clock::now();
  Opened opened{random_hex(32), random_hex(16), now + kLifetime};
  const std::string session_hash = hashed(opened.token);
  std::lock_guard lock(mutex_);
  if (sessions_.size() >= kMaxSessions) sweep(now);
  if (sessions_.size() >= kMaxSessions) return Failure::kFull;
  // An owner holds at most kMaxSessionsPerOwner: one sign-in more ends its
  // oldest, so no one account fills the table.
  if (const auto of_owner = by_owner_.find(owner);
      of_owner != by_owner_.end() && of_owner->second.size() >= kMaxSessionsPerOwner) {
    erase(std::string(of_owner->second.front()));  // a copy: erase() edits the list
  }
  by_owner_[owner].push_back(session_hash);
  sessions_.emplace(session_hash, Session{api_key, owner, opened.csrf, opened.expires_at, {}});
  return opened;
}

std::variant<BrowserSessions::Live, BrowserSessions::Failure> BrowserSessions::find(
    std::string_view token, std::string_view csrf_header, bool state_changing) {
  if (token.empty()) return Failure::kNoSession;
  const std::string key = hashed(token);
  std::lock_guard lock(mutex_);
  const auto found = sessions_.find(key);
  if (found == sessions_.end()) return Failure::kNoSession;
  if (found->second.expires_at <= Clock::now()) {
    erase(key);
    return Failure::kNoSession;
  }
  if (state_changing && !same_secret(csrf_header, found->second.csrf)) return Failure::kBadCsrf;
  return Live{found->second.api_key, found->second.csrf, found->second.expires_at};
}

void BrowserSessions::close(std::string_view token) {
  if (token.empty()) return;
  const std::string key = hashed(token);
  std::lock_guard lock(mutex_);
  erase(key);
}

std::variant<std::string, BrowserSessions::Failure> BrowserSessions::ticket(
    std::string_view token, std::string_view csrf_header) {
  const auto live = find(token, csrf_header, true);
  if (const auto* failure = std::get_if<Failure>(&live)) return *failure;
  const Clock::time_point now = Clock::now();
  std::string ticket = random_hex(24);
  const std::string ticket_hash = hashed(ticket);
  std::lock_guard lock(mutex_);
  const auto session = sessions_.find(hashed(token));
  if (session == sessions_.end()) return Failure::kNoSession;  // closed meanwhile
  if (tickets_.size() >= kMaxTickets) sweep(now);
  if (tickets_.size() >= kMaxTickets) return Failure::kFull;
  // A session holds a few tickets at once: asking for more voids the oldest.
  std::deque<std::string>& own = session->second.tickets;
  if (own.size() >= kMaxTicketsPerSession) {
    tickets_.erase(own.front());
    own.pop_front();
  }
  own.push_back(ticket_hash);
  tickets_.emplace(ticket_hash, Ticket{session->first, now + kTicketLifetime});
  return ticket;
}

std::optional<BrowserSessions::Redeemed> BrowserSessions::redeem(std::string_view ticket) {
  if (ticket.empty()) return std::nullopt;
  const Clock::time_point now = Clock::now();
  std::lock_guard lock(mutex_);
  const auto found = tickets_.find(hashed(ticket));
  if (found == tickets_.end()) return std::nullopt;
  const Ticket used = found->second;
  tickets_.erase(found);  // single use, whatever follows
  if (used.expires_at <= now) return std::nullopt;
  const auto session = sessions_.find(used.session_hash);
  if (session == sessions_.end() || session->second.expires_at <= now) return std::nullopt;
  return Redeemed{session->second.api_key, session->first};
}

std::unordered_set<std::string> BrowserSessions::live_among(
    const std::vector<std::string>& sessions) const {
  const Clock::time_point now = Clock::now();
  std::unordered_set<std::string> live;
  std::lock_guard lock(mutex_);
  for (const std::string& session : sessions) {
    const auto found = sessions_.find(session);
    if (found != sessions_.end() && found->second.expires_at > now) live.insert(session);
  }
  return live;
}

std::size_t BrowserSessions::live() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

void BrowserSessions::sweep(Clock::time_point now) {
  std::vector<std::string> expired;
  for (const auto& [hash, session] : sessions_) {
    if (session.expires_at <= now) expired.push_back(hash);
  }
  for (const std::string& hash : expired)
    erase(hash);
  std::erase_if(tickets_, [&](const auto& entry) { return entry.second.expires_at <= now; });
}

void BrowserSessions::erase(const std::string& session_hash) {
  const auto found = sessions_.find(session_hash);
  if (found == sessions_.end()) return;
  for (const std::string& ticket : found->second.tickets)
    tickets_.erase(ticket);
  const auto of_owner = by_owner_.find(found->second.owner);
  if (of_owner != by_owner_.end()) {
    std::erase(of_owner->second, session_hash);
    if (of_owner->second.empty()) by_owner_.erase(of_owner);
  }
  sessions_.erase(found);
}

}  // namespace spotgrid::gateway
