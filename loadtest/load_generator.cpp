#include "load_generator.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cmath>
#include <deque>
#include <memory>
#include <stdexcept>
#include <thread>
#include <variant>

#include "spotgrid/client/client.hpp"

namespace spotgrid::loadtest {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

http::request<http::string_body> make_request(const RequestTemplate& what, const std::string& key,
                                              const std::string& host) {
  http::request<http::string_body> request{http::string_to_verb(what.method), what.path, 11};
  request.set(http::field::host, host);
  request.set(http::field::authorization, "Bearer " + key);
  request.keep_alive(true);
  if (!what.body.empty()) {
    request.set(http::field::content_type, "application/json");
    request.body() = what.body;
  }
  request.prepare_payload();
  return request;
}

// One thread's share: its connections, its schedule, its measurements.
class Worker {
 public:
  Worker(const LoadOptions& options, const Scenario& scenario, const std::vector<std::string>& keys,
         std::uint32_t index, std::uint32_t workers)
      : options_(options),
        scenario_(scenario),
        keys_(keys),
        index_(index),
        workers_(workers),
        timer_(io_),
        endpoint_(net::ip::make_address(options.host), options.port) {
    const std::uint32_t share =
        options.connections / workers + (index < options.connections % workers ? 1 : 0);
    for (std::uint32_t i = 0; i < std::max(share, 1u); ++i)
      connections_.push_back(std::make_unique<Connection>(io_));
  }

  void run(Clock::time_point start) {
    start_ = start;
    end_ = start + options_.duration;
    for (auto& connection : connections_)
      connect(*connection);
    tick();
    io_.run();
    result_.seconds = std::chrono::duration<double>(std::max(last_answer_, end_) - start_).count();
  }

  LoadResult& result() { return result_; }

 private:
  struct Connection {
    explicit Connection(net::io_context& io) : stream(io) {}
    beast::tcp_stream stream;
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
    http::response<http::string_body> response;
    Clock::time_point due;
    bool open = false;
    bool busy = false;
  };

  // Every millisecond: the requests that fell due, then sending what can be.
  // The workers' requests interleave: this one's k-th falls due at
  // (k * workers + index) / rate from the start.
  void tick() {
    const auto now = Clock::now();
    const double per_worker = options_.rate / workers_;
    const auto first_due = start_ + std::chrono::duration_cast<Clock::duration>(
                                        std::chrono::duration<double>(index_ / options_.rate));
    const std::uint64_t should_have = requests_due(now - first_due, per_worker, end_ - first_due);
    for (; scheduled_ < should_have; ++scheduled_) {
      ++result_.due;
      const auto due =
          first_due + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                          static_cast<double>(scheduled_) / per_worker));
      if (backlog_.size() >= options_.max_backlog) {
        ++result_.dropped;
        continue;
      }
      backlog_.push_back(due);
    }
    send_what_can_be_sent();
    if (now < end_) {
      timer_.expires_after(std::chrono::milliseconds(1));
      timer_.async_wait([this](beast::error_code) { tick(); });
    } else {
      finishing_ = true;
      result_.dropped += backlog_.size();  // due at the end and never sent
      backlog_.clear();
      close_idle();
    }
  }

  void send_what_can_be_sent() {
    for (auto& connection : connections_) {
      if (backlog_.empty()) return;
      if (!connection->open || connection->busy) continue;
      send(*connection, backlog_.front());
      backlog_.pop_front();
    }
  }

  void connect(Connection& connection) {
    connection.stream.async_connect(endpoint_, [this, &connection](beast::error_code ec) {
      if (ec) {
        ++result_.errors;
        return;
      }
      connection.stream.socket().set_option(tcp::no_delay(true));
      connection.open = true;
      send_what_can_be_sent();
    });
  }

  void send(Connection& connection, Clock::time_point due) {
    const std::uint64_t n = sent_++ * workers_ + index_;
    const RequestTemplate& what = scenario_.pick(n);
    connection.request = make_request(what, keys_[n % keys_.size()], options_.host);
    connection.due = due;
    connection.busy = true;
    http::async_write(connection.stream, connection.request,
                      [this, &connection](beast::error_code ec, std::size_t) {
                        if (ec) return failed(connection);
                        connection.response = {};
                        http::async_read(connection.stream, connection.buffer, connection.response,
                                         [this, &connection](beast::error_code ec2, std::size_t) {
                                           if (ec2) return failed(connection);
                                           answered(connection);
                                         });
                      });
  }

  void answered(Connection& connection) {
    last_answer_ = Clock::now();
    ++result_.completed;
    const unsigned status = connection.response.result_int();
    ++result_.statuses[status];
    if (status >= 400) {
      ++result_.errors;
      if (result_.first_error.empty()) result_.first_error = connection.response.body();
    }
    result_.latencies_micros.push_back(static_cast<std::uint32_t>(std::min<std::int64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(last_answer_ - connection.due)
            .count(),
        UINT32_MAX)));
    connection.busy = false;
    if (!connection.response.keep_alive()) {
      connection.open = false;
      beast::error_code ignored;
      connection.stream.socket().close(ignored);
      if (!finishing_) connect(connection);
    }
    if (finishing_) return close_idle();
    send_what_can_be_sent();
  }

  void failed(Connection& connection) {
    ++result_.errors;
    connection.busy = false;
    connection.open = false;
    beast::error_code ignored;
    connection.stream.socket().close(ignored);
    if (!finishing_) connect(connection);
  }

  // After the schedule ended: close connections as their last answers come in.
  void close_idle() {
    for (auto& connection : connections_) {
      if (connection->busy) continue;
      beast::error_code ignored;
      connection->stream.socket().close(ignored);
      connection->open = false;
    }
  }

  const LoadOptions& options_;
  const Scenario& scenario_;
  const std::vector<std::string>& keys_;
  const std::uint32_t index_;
  const std::uint32_t workers_;
  net::io_context io_;
  net::steady_timer timer_;
  tcp::endpoint endpoint_;
  std::vector<std::unique_ptr<Connection>> connections_;
  std::deque<Clock::time_point> backlog_;
  Clock::time_point start_;
  Clock::time_point end_;
  Clock::time_point last_answer_;
  std::uint64_t scheduled_ = 0;
  std::uint64_t sent_ = 0;
  bool finishing_ = false;
  LoadResult result_;
};

double percentile(const std::vector<std::uint32_t>& sorted, double fraction) {
  if (sorted.empty()) return 0;
  const auto at = static_cast<std::size_t>(fraction * static_cast<double>(sorted.size() - 1));
  return sorted[at] / 1000.0;
}

}  // namespace

std::uint64_t requests_due(std::chrono::duration<double> elapsed, double rate,
                           std::chrono::duration<double> run) {
  if (elapsed.count() < 0 || run.count() <= 0) return 0;
  const auto in_run = static_cast<std::uint64_t>(std::ceil(run.count() * rate));
  const double counted = std::min(elapsed, run).count() * rate;
  return std::min(in_run, static_cast<std::uint64_t>(counted) + 1);
}

LoadResult run_load(const LoadOptions& options, const Scenario& scenario,
                    const std::vector<std::string>& keys) {
  const std::uint32_t count = std::max(options.threads, 1u);
  std::vector<std::unique_ptr<Worker>> workers;
  for (std::uint32_t i = 0; i < count; ++i)
    workers.push_back(std::make_unique<Worker>(options, scenario, keys, i, count));
  const auto start = Clock::now() + std::chrono::milliseconds(100);  // connections first
  std::vector<std::thread> threads;
  threads.reserve(workers.size());
  for (auto& worker : workers)
    threads.emplace_back([&worker, start] { worker->run(start); });
  for (std::thread& thread : threads)
    thread.join();
  LoadResult total;
  for (auto& worker : workers) {
    LoadResult& part = worker->result();
    total.due += part.due;
    total.completed += part.completed;
    total.errors += part.errors;
    total.dropped += part.dropped;
    for (const auto& [status, n] : part.statuses)
      total.statuses[status] += n;
    total.seconds = std::max(total.seconds, part.seconds);
    if (total.first_error.empty()) total.first_error = part.first_error;
    total.latencies_micros.insert(total.latencies_micros.end(), part.latencies_micros.begin(),
                                  part.latencies_micros.end());
  }
  std::sort(total.latencies_micros.begin(), total.latencies_micros.end());
  return total;
}

std::string to_json(const LoadResult& result, const LoadOptions& options,
                    const Scenario& scenario) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("scenario");
  w.String(scenario.name.c_str());
  w.Key("target_rate_per_s");
  w.Double(options.rate);
  w.Key("connections");
  w.Uint(options.connections);
  w.Key("duration_s");
  w.Double(result.seconds);
  w.Key("due");
  w.Uint64(result.due);
  w.Key("completed");
  w.Uint64(result.completed);
  w.Key("throughput_per_s");
  w.Double(result.seconds > 0 ? static_cast<double>(result.completed) / result.seconds : 0);
  w.Key("errors");
  w.Uint64(result.errors);
  w.Key("dropped");
  w.Uint64(result.dropped);
  w.Key("statuses");
  w.StartObject();
  for (const auto& [status, n] : result.statuses) {
    const std::string name = std::to_string(status);
    w.Key(name.c_str());
    w.Uint64(n);
  }
  w.EndObject();
  if (!result.first_error.empty()) {
    w.Key("first_error");
    w.String(result.first_error.c_str());
  }
  w.Key("latency_ms");
  w.StartObject();
  w.Key("p50");
  w.Double(percentile(result.latencies_micros, 0.5));
  w.Key("p99");
  w.Double(percentile(result.latencies_micros, 0.99));
  w.Key("p99_9");
  w.Double(percentile(result.latencies_micros, 0.999));
  w.Key("max");
  w.Double(percentile(result.latencies_micros, 1.0));
  w.EndObject();
  w.EndObject();
  return buffer.GetString();
}

SimpleReply request_once(const LoadOptions& options, const std::string& method,
                         const std::string& target, const std::string& key,
                         const std::string& body) {
  client::Target where;
  where.host = options.host;
  where.port = options.port;
  const client::Result result = client::Client(where).call({method, target, body, key, {}});
  if (const auto* failure = std::get_if<client::Failure>(&result))
    throw std::runtime_error(failure->problem);
  const auto& reply = std::get<client::Reply>(result);
  return {reply.status, reply.body};
}

}  // namespace spotgrid::loadtest
