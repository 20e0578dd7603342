#include "redis.hpp"

#include "spotgrid/util/thread_role.hpp"

#include <hiredis/hiredis.h>
#include <poll.h>

namespace spotgrid::gateway {

namespace {

using Clock = std::chrono::steady_clock;

struct ContextDeleter {
  void operator()(redisContext* context) const { redisFree(context); }
};
using ContextPtr = std::unique_ptr<redisContext, ContextDeleter>;

timeval to_timeval(std::chrono::milliseconds duration) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(duration.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((duration.count() % 1000) * 1000);
  return tv;
}

ContextPtr connect(const RedisOptions& options) {
  ContextPtr context(
      redisConnectWithTimeout(options.host.c_str(), options.port, to_timeval(options.timeout)));
  if (!context || context->err != 0) return nullptr;
  if (redisSetTimeout(context.get(), to_timeval(options.timeout)) != REDIS_OK) return nullptr;
  return context;
}

RedisReply flatten(const redisReply* reply) {
  RedisReply out;
  switch (reply->type) {
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = reply->integer;
      break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      out.type = reply->type == REDIS_REPLY_STRING   ? RedisReply::Type::kString
                 : reply->type == REDIS_REPLY_STATUS ? RedisReply::Type::kStatus
                                                     : RedisReply::Type::kError;
      out.text.assign(reply->str, reply->len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      for (std::size_t i = 0; i < reply->elements; ++i)
        out.elements.push_back(flatten(reply->element[i]));
      break;
    default:
      break;  // nil
  }
  return out;
}

// Takes one reply off the connection; nothing when the connection failed.
std::optional<RedisReply> take_reply(redisContext* context) {
  void* raw = nullptr;
  if (redisGetReply(context, &raw) != REDIS_OK || raw == nullptr) return std::nullopt;
  const auto* reply = static_cast<redisReply*>(raw);
  RedisReply out = flatten(reply);
  freeReplyObject(raw);
  return out;
}

void append(redisContext* context, const std::vector<std::string_view>& arguments) {
  std::vector<const char*> pointers;
  std::vector<std::size_t> lengths;
  for (std::string_view argument : arguments) {
    pointers.push_back(argument.data());
    lengths.push_back(argument.size());
  }
  redisAppendCommandArgv(context, static_cast<int>(arguments.size()), pointers.data(),
                         lengths.data());
}

}  // namespace

struct Redis::Slot {
  std::mutex mutex;
  ContextPtr context;
  Clock::time_point retry_at{};
};

Redis::Redis(RedisOptions options) : options_(std::move(options)) {
  for (unsigned i = 0; i < std::max(1u, options_.connections); ++i)
    slots_.push_back(std::make_unique<Slot>());
}

Redis::~Redis() = default;

// A free connection if there is one, else waits for one in turn.
Redis::Slot& Redis::acquire(std::unique_lock<std::mutex>& lock) {
  const std::size_t start = next_.fetch_add(1);
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    Slot& slot = *slots_[(start + i) % slots_.size()];
    lock = std::unique_lock(slot.mutex, std::try_to_lock);
    if (lock.owns_lock()) return slot;
  }
  Slot& slot = *slots_[start % slots_.size()];
  lock = std::unique_lock(slot.mutex);
  return slot;
}

std::optional<std::vector<RedisReply>> Redis::pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  util::assert_may_block();
  if (!configured() || commands.empty()) return std::nullopt;
  std::unique_lock<std::mutex> lock;
  Slot& slot = acquire(lock);
  if (!slot.context) {
    if (Clock::now() < slot.retry_at) return std::nullopt;
    slot.context = connect(options_);
    if (!slot.context) {
      slot.retry_at = Clock::now() + options_.reconnect_pause;
      ++failures_;
      return std::nullopt;
    }
  }
  for (const auto& command : commands)
    append(slot.context.get(), std::vector<std::string_view>(command.begin(), command.end()));
  std::vector<RedisReply> replies;
  for (std::size_t i = 0; i < commands.size(); ++i) {
    auto reply = take_reply(slot.context.get());
    if (!reply) {
      slot.context.reset();  // a timed-out or broken connection is not reusable
      slot.retry_at = Clock::now() + options_.reconnect_pause;
      ++failures_;
      return std::nullopt;
    }
    replies.push_back(std::move(*reply));
  }
  return replies;
}

std::optional<RedisReply> Redis::command(std::initializer_list<std::string_view> arguments) {
  util::assert_may_block();
  std::vector<std::vector<std::string>> one(1);
  for (std::string_view argument : arguments)
    one[0].emplace_back(argument);
  auto replies = pipeline(one);
  if (!replies) return std::nullopt;
  return std::move(replies->front());
}

struct RedisSubscriber::Context {
  ContextPtr context;
};

RedisSubscriber::RedisSubscriber(RedisOptions options, std::string channel)
    : options_(std::move(options)), channel_(std::move(channel)) {}

RedisSubscriber::~RedisSubscriber() = default;

std::optional<std::string> RedisSubscriber::next_message(std::chrono::milliseconds timeout) {
  if (options_.port == 0) return std::nullopt;
  if (!context_) {
    if (Clock::now() < retry_at_) return std::nullopt;
    auto context = connect(options_);
    bool subscribed = false;
    if (context) {
      append(context.get(), {"SUBSCRIBE", channel_});
      const auto reply = take_reply(context.get());
      subscribed = reply && reply->type == RedisReply::Type::kArray;
    }
    if (!subscribed) {
      retry_at_ = Clock::now() + options_.reconnect_pause;
      return std::nullopt;
    }
    context_ = std::make_unique<Context>(Context{std::move(context)});
  }
  redisContext* context = context_->context.get();
  // A reply already buffered, else wait for the socket without letting hiredis
  // block (its timeout would leave the connection unusable).
  for (int attempt = 0; attempt < 2; ++attempt) {
    void* raw = nullptr;
    if (redisReaderGetReply(context->reader, &raw) != REDIS_OK) break;
    if (raw != nullptr) {
      const RedisReply reply = flatten(static_cast<redisReply*>(raw));
      freeReplyObject(raw);
      if (reply.type == RedisReply::Type::kArray && reply.elements.size() == 3 &&
          reply.elements[0].text == "message") {
        return reply.elements[2].text;
      }
      return std::nullopt;  // a subscription confirmation or a pong
    }
    if (attempt == 1) return std::nullopt;
    pollfd descriptor{context->fd, POLLIN, 0};
    const int ready = poll(&descriptor, 1, static_cast<int>(timeout.count()));
    if (ready == 0) return std::nullopt;  // nothing yet
    if (ready < 0 || redisBufferRead(context) != REDIS_OK) break;
  }
  context_.reset();
  retry_at_ = Clock::now() + options_.reconnect_pause;
  return std::nullopt;
}

}  // namespace spotgrid::gateway
