#include "browser_sessions.hpp"

#include <openssl/crypto.h>

#include <algorithm>

#include "spotgrid/gateway/auth.hpp"
#include "spotgrid/util/hex.hpp"

namespace spotgrid::gateway {

namespace {

using Clock = std::chrono::system_clock;

std::string hashed(std::string_view token) {
  const SecretHash hash = hash_secret(token);
  return util::to_hex(hash.data(), hash.size());
}

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
    const std::string& api_key) {
  const Clock::time_point now = Clock::now();
  Opened opened{random_hex(32), random_hex(16), now + kLifetime};
  std::lock_guard lock(mutex_);
  if (sessions_.size() >= kMaxSessions) sweep(now);
  if (sessions_.size() >= kMaxSessions) return Failure::kFull;
  close_oldest_of(api_key);
  sessions_.emplace(hashed(opened.token), Session{api_key, opened.csrf, opened.expires_at});
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
    sessions_.erase(found);
    return Failure::kNoSession;
  }
  if (state_changing && !same_secret(csrf_header, found->second.csrf)) return Failure::kBadCsrf;
  return Live{found->second.api_key, found->second.csrf, found->second.expires_at};
}

void BrowserSessions::close(std::string_view token) {
  if (token.empty()) return;
  const std::string key = hashed(token);
  std::lock_guard lock(mutex_);
  sessions_.erase(key);
  std::erase_if(tickets_, [&](const auto& entry) { return entry.second.session_hash == key; });
}

std::variant<std::string, BrowserSessions::Failure> BrowserSessions::ticket(
    std::string_view token, std::string_view csrf_header) {
  const auto live = find(token, csrf_header, true);
  if (const auto* failure = std::get_if<Failure>(&live)) return *failure;
  const Clock::time_point now = Clock::now();
  std::string ticket = random_hex(24);
  std::lock_guard lock(mutex_);
  if (tickets_.size() >= kMaxTickets) sweep(now);
  if (tickets_.size() >= kMaxTickets) return Failure::kFull;
  tickets_.emplace(hashed(ticket), Ticket{hashed(token), now + kTicketLifetime});
  return ticket;
}

std::optional<std::string> BrowserSessions::redeem(std::string_view ticket) {
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
  return session->second.api_key;
}

std::size_t BrowserSessions::live() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

void BrowserSessions::sweep(Clock::time_point now) {
  std::erase_if(sessions_, [&](const auto& entry) { return entry.second.expires_at <= now; });
  std::erase_if(tickets_, [&](const auto& entry) { return entry.second.expires_at <= now; });
}

// A key holds at most kMaxSessionsPerKey sessions: signing in once more
// closes its oldest, so one key cannot fill the table.
void BrowserSessions::close_oldest_of(const std::string& api_key) {
  std::size_t count = 0;
  auto oldest = sessions_.end();
  for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
    if (!same_secret(it->second.api_key, api_key)) continue;
    ++count;
    if (oldest == sessions_.end() || it->second.expires_at < oldest->second.expires_at) oldest = it;
  }
  if (count >= kMaxSessionsPerKey) sessions_.erase(oldest);
}

}  // namespace spotgrid::gateway
