#pragma once
// A child process for tests: its stdout on a pipe, read line by line with a
// deadline, signalled and reaped. Always reaped (SIGKILL) when destroyed.
#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace spotgrid::testing {

class ChildProcess {
 public:
  // Runs `argv[0]` with `argv`, the environment plus `env`, stdout piped to us.
  ChildProcess(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // The next line of its stdout, or nothing at `deadline` or end of output.
  std::optional<std::string> read_line(std::chrono::steady_clock::time_point deadline);
  void signal(int number);
  // Waits for it to end; the raw wait status.
  int wait();

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string buffer_;
  bool reaped_ = false;
};

}  // namespace spotgrid::testing
