#pragma once
// A webhook receiver on 127.0.0.1 for tests: records every request it reads
// and answers each with the status `answer` gives (after `delay`), one
// connection at a time; stops when destroyed.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace spotgrid::testing {

struct ReceivedWebhook {
  std::string target;
  std::string event_id;   // Spotgrid-Event-Id
  std::string type;       // Spotgrid-Event-Type
  std::string signature;  // Spotgrid-Signature
  std::string body;
};

class WebhookReceiver {
 public:
  // `answer(n)`: the status for the n-th request (from 0).
  explicit WebhookReceiver(
      std::function<unsigned(std::size_t)> answer = [](std::size_t) { return 200u; },
      std::chrono::milliseconds delay = std::chrono::milliseconds{0}, std::uint16_t port = 0);
  ~WebhookReceiver();
  WebhookReceiver(const WebhookReceiver&) = delete;
  WebhookReceiver& operator=(const WebhookReceiver&) = delete;

  std::uint16_t port() const { return port_; }
  std::vector<ReceivedWebhook> received() const;

 private:
  void serve();

  std::function<unsigned(std::size_t)> answer_;
  std::chrono::milliseconds delay_;
  std::uint16_t port_ = 0;
  int listener_ = -1;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::vector<ReceivedWebhook> received_;
  std::thread thread_;
};

}  // namespace spotgrid::testing
