#pragma once
// What each thread is for, so that the rule "an I/O, engine or persister thread
// never waits on PostgreSQL, Redis or another thread" is checked, not hoped
// for: every helper that blocks calls `assert_may_block()`, which fails in
// debug builds (the sanitizer test run) on a thread that must not block.
#include <pthread.h>

#include <cassert>
#include <cstdint>

namespace spotgrid::util {

enum class ThreadRole : std::uint8_t {
  kOther,      // tests, main, background threads that may wait
  kIo,         // the gateway's network threads
  kWorker,     // the gateway's worker pool: may wait on PostgreSQL
  kEngine,     // the market's single writer
  kPersister,  // the market's group commit: waits only on its own commit
};

inline ThreadRole& this_thread_role() {
  thread_local ThreadRole role = ThreadRole::kOther;
  return role;
}

// Also names the thread (`top -H`, `perf`, gdb show it): "sg-io", "sg-engine", ...
inline void set_thread_role(ThreadRole role) {
  this_thread_role() = role;
  const char* name = "sg-other";
  switch (role) {
    case ThreadRole::kOther:
      return;  // a test's or main's thread keeps its name
    case ThreadRole::kIo:
      name = "sg-io";
      break;
    case ThreadRole::kWorker:
      name = "sg-worker";
      break;
    case ThreadRole::kEngine:
      name = "sg-engine";
      break;
    case ThreadRole::kPersister:
      name = "sg-persister";
      break;
  }
  pthread_setname_np(pthread_self(), name);  // at most 15 characters
}

inline bool may_block() {
  const ThreadRole role = this_thread_role();
  return role != ThreadRole::kIo && role != ThreadRole::kEngine && role != ThreadRole::kPersister;
}

// In every helper that waits on a database, Redis or another thread.
inline void assert_may_block() {
  assert(may_block() && "a blocking call on an I/O, engine or persister thread");
}

}  // namespace spotgrid::util
