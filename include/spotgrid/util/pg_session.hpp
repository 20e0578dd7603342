#pragma once
// The one "PostgreSQL connection + mutex + reconnect": a connection opened on
// first use, used by one caller at a time, dropped when PostgreSQL fails and
// opened again on the next use, but not within `reconnect_pause` of a failure
// (every caller then fails at once instead of queueing behind a connect).
// Only on threads that may block (util::assert_may_block).
#include <chrono>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <utility>

#include "spotgrid/util/thread_role.hpp"

namespace spotgrid::util {

class PgSession {
 public:
  explicit PgSession(std::string conninfo,
                     std::chrono::milliseconds reconnect_pause = std::chrono::seconds(1))
      : conninfo_(std::move(conninfo)), reconnect_pause_(reconnect_pause) {}

  // `work(connection)`'s result. What `work` throws is rethrown; a broken
  // connection is dropped first (an SQL error leaves it in use).
  template <typename Work>
  auto run(Work&& work) -> decltype(work(std::declval<pqxx::connection&>())) {
    assert_may_block();
    const std::lock_guard lock(mutex_);
    pqxx::connection& connection = open();
    try {
      return work(connection);
    } catch (const pqxx::broken_connection&) {
      failed();
      throw;
    } catch (const pqxx::failure&) {
      if (!connection.is_open()) failed();
      throw;
    }
  }

 private:
  pqxx::connection& open() {
    if (connection_ && connection_->is_open()) return *connection_;
    const auto now = std::chrono::steady_clock::now();
    if (now - failed_at_ < reconnect_pause_)
      throw pqxx::broken_connection("PostgreSQL failed moments ago: not asked again yet");
    try {
      connection_ = std::make_unique<pqxx::connection>(conninfo_);
    } catch (const pqxx::failure&) {
      failed_at_ = now;
      throw;
    }
    return *connection_;
  }

  void failed() {
    connection_.reset();
    failed_at_ = std::chrono::steady_clock::now();
  }

  std::string conninfo_;
  std::chrono::milliseconds reconnect_pause_;
  std::mutex mutex_;
  std::unique_ptr<pqxx::connection> connection_;
  std::chrono::steady_clock::time_point failed_at_{};
};

}  // namespace spotgrid::util
