#include "market_feed.hpp"

#include <algorithm>
#include <type_traits>
#include <utility>

#include "api_support.hpp"
#include "spotgrid/engine/event_fields.hpp"

namespace spotgrid::gateway {

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kBookInterval = std::chrono::milliseconds(250);
constexpr std::size_t kBookLevels = 10;
constexpr std::size_t kPublishBytes = std::size_t{256} * 1'024;

// An event's fields as JSON members, through the one field list of event_fields.hpp.
struct JsonFields {
  Writer& w;
  // A supplier is told about its leases, never who its buyers are.
  bool for_supplier = false;
  JsonFields& begin(std::string_view kind) {
    field(w, "kind", kind);
    return *this;
  }
  template <typename T>
  JsonFields& operator()(std::string_view name, const T& value) {
    if (for_supplier && (name == "buyer" || name == "order")) return *this;
    if constexpr (std::is_same_v<T, bool>) {
      key(w, name);
      w.Bool(value);
    } else if constexpr (std::is_integral_v<T>) {
      field(w, name, value);
    } else {
      field(w, name, std::string_view(value));
    }
    return *this;
  }
};

// {"type":"event","channel":...,"seq":...,"at":...,"data":{...}}
template <typename Data>
std::string event_message(std::string_view channel, const engine::Event& event, Data&& data) {
  return json(200,
              [&](Writer& w) {
                field(w, "type", "event");
                field(w, "channel", channel);
                field(w, "seq", event.event_seq);
                field(w, "at", event.at);
                key(w, "data");
                w.StartObject();
                data(w);
                w.EndObject();
              })
      .body;
}

std::string account_channel(const char* kind, AccountId account) {
  std::string channel = kind;
  channel += ':';
  channel += std::to_string(account);
  return channel;
}

}  // namespace

MarketFeed::MarketFeed(StreamHub& hub, RedisOptions redis, const engine::Catalog& catalog)
    : hub_(hub), redis_(redis), redis_options_(std::move(redis)), catalog_(catalog) {
  // Every pool the catalog may come to hold (models are added while running).
  last_books_.resize(limits::kMaxPools);
  last_book_versions_.resize(limits::kMaxPools);
}

MarketFeed::~MarketFeed() {
  stop();
}

void MarketFeed::on_committed(std::span<const engine::Event> events) {
  for (engine::Event event : events) {
    if (!queue_.try_push(event)) ++dropped_;
  }
}

void MarketFeed::start(const ledger::ReadModel& model) {
  model_ = &model;
  running_ = true;
  feed_thread_ = std::thread([this] { run_feed(); });
  if (redis_.configured()) subscriber_thread_ = std::thread([this] { run_subscriber(); });
}

void MarketFeed::stop() {
  queue_.close();
  running_ = false;
  if (feed_thread_.joinable()) feed_thread_.join();
  if (subscriber_thread_.joinable()) subscriber_thread_.join();
}

void MarketFeed::run_feed() {
  std::vector<engine::Event> batch;
  std::vector<Message> messages;
  // Until stop() closes the queue and what it held is rendered.
  while (queue_.pop_some(batch, kQueueCapacity, kBookInterval)) {
    for (const engine::Event& event : batch)
      render(event, messages);
    batch.clear();
    if (Clock::now() >= books_due_) render_books(messages);
    dispatch(messages);
  }
}

void MarketFeed::run_subscriber() {
  RedisSubscriber subscriber(redis_options_, kRedisChannel);
  while (running_.load()) {
    auto payload = subscriber.next_message(std::chrono::milliseconds(100));
    subscribed_ = subscriber.connected();
    if (!payload) continue;
    // Lines, two per message: the channel, then the message (RapidJSON escapes
    // newlines inside JSON strings, so a message is one line).
    std::string_view rest = *payload;
    while (!rest.empty()) {
      const auto channel_end = rest.find('\n');
      if (channel_end == std::string_view::npos) break;
      const auto text_end = std::min(rest.find('\n', channel_end + 1), rest.size());
      hub_.deliver(rest.substr(0, channel_end),
                   std::string(rest.substr(channel_end + 1, text_end - channel_end - 1)));
      rest.remove_prefix(std::min(text_end + 1, rest.size()));
    }
  }
}

// Through Redis when this process is subscribed to it (so that it sees its
// own messages the same way as every other process), else straight to the hub.
void MarketFeed::dispatch(std::vector<Message>& messages) {
  if (messages.empty()) return;
  if (subscribed_.load()) {
    // Few PUBLISHes, each carrying many messages (up to kPublishBytes).
    std::vector<std::vector<std::string>> commands;
    std::string payload;
    for (const Message& message : messages) {
      payload += message.channel;
      payload += '\n';
      payload += message.text;
      payload += '\n';
      if (payload.size() >= kPublishBytes)
        commands.push_back({"PUBLISH", kRedisChannel, std::exchange(payload, {})});
    }
    if (!payload.empty()) commands.push_back({"PUBLISH", kRedisChannel, std::move(payload)});
    if (redis_.pipeline(commands)) {
      published_ += messages.size();
      messages.clear();
      return;
    }
  }
  for (const Message& message : messages)
    hub_.deliver(message.channel, message.text);
  published_ += messages.size();
  messages.clear();
}

void MarketFeed::render(const engine::Event& event, std::vector<Message>& out) {
  const auto fields = [&](Writer& w) {
    JsonFields sink{w};
    engine::describe(event.body, sink);
  };
  const auto supplier_fields = [&](Writer& w) {
    JsonFields sink{w, true};
    engine::describe(event.body, sink);
  };
  const auto to_account = [&](const char* kind, AccountId account) {
    if (account == 0) return;
    out.push_back({account_channel(kind, account), event_message(kind, event, fields)});
  };
  const auto to_supplier = [&](AccountId account) {
    if (account == 0) return;
    out.push_back(
        {account_channel("leases", account), event_message("leases", event, supplier_fields)});
  };
  std::visit(
      [&](const auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, engine::OrderAccepted> ||
                      std::is_same_v<T, engine::HoldChanged>) {
          to_account("orders", body.buyer);
        } else if constexpr (std::is_same_v<T, engine::OrderRequeued> ||
                             std::is_same_v<T, engine::RequeueFailed>) {
          to_account("orders", order_owner(body.parent));
        } else if constexpr (std::is_same_v<T, engine::OrderFilled> ||
                             std::is_same_v<T, engine::OrderCancelled> ||
                             std::is_same_v<T, engine::OrderDeferred> ||
                             std::is_same_v<T, engine::OrderResting> ||
                             std::is_same_v<T, engine::OrderAmended>) {
          to_account("orders", order_owner(body.order));
        } else if constexpr (std::is_same_v<T, engine::LeaseStarted>) {
          to_account("leases", body.buyer);
          to_supplier(body.supplier);
          const std::string& pool = catalog_.model(body.pool).model;
          // Trades are anonymous (as GET .../trades): no accounts, orders, nodes or leases.
          out.push_back({"trades:" + pool, event_message("trades:" + pool, event, [&](Writer& w) {
                           field(w, "pool", pool);
                           field(w, "cards", body.cards);
                           field(w, "price_micros_per_card_hour", body.price_micros_per_card_hour);
                           field(w, "start", body.start);
                           field(w, "planned_end", body.planned_end);
                         })});
        } else if constexpr (std::is_same_v<T, engine::LeaseReclaimNotice> ||
                             std::is_same_v<T, engine::LeaseEnded>) {
          const Owners owners = lease_owners(body.lease);
          to_account("leases", owners.buyer);
          to_supplier(owners.supplier);
        } else if constexpr (std::is_same_v<T, engine::LeaseSettled>) {
          to_account("leases", body.buyer);
          to_supplier(body.supplier);
        } else if constexpr (std::is_same_v<T, engine::IndexPublished>) {
          const std::string& pool = catalog_.model(body.pool).model;
          out.push_back({"index:" + pool, event_message("index:" + pool, event, [&](Writer& w) {
                           field(w, "pool", pool);
                           field(w, "index_micros_per_card_hour", body.index_micros_per_card_hour);
                         })});
        }
      },
      event.body);
}

// Depth snapshots of the pools whose book changed since the last ones sent
// (at most one per pool every kBookInterval).
void MarketFeed::render_books(std::vector<Message>& out) {
  books_due_ = Clock::now() + kBookInterval;
  if (!model_->ready()) return;  // recovering: try again later
  for (std::size_t pool = 0; pool < last_books_.size(); ++pool) {
    const auto record = model_->pool(static_cast<PoolIndex>(pool));
    if (!record || record->version == last_book_versions_[pool]) continue;
    last_book_versions_[pool] = record->version;
    engine::BookView top = record->book;
    if (top.asks.size() > kBookLevels) top.asks.resize(kBookLevels);
    if (top.bids.size() > kBookLevels) top.bids.resize(kBookLevels);
    const std::string& name = catalog_.model(static_cast<PoolIndex>(pool)).model;
    std::string depth = json(200, [&](Writer& w) { write_depth(w, top); }).body;
    if (depth == last_books_[pool]) continue;
    last_books_[pool] = depth;
    std::string channel = "book:" + name;
    std::string message = json(200, [&](Writer& w) {
                            field(w, "type", "event");
                            field(w, "channel", channel);
                            field(w, "pool", name);
                            key(w, "data");
                            w.RawValue(depth.data(), depth.size(), rapidjson::kObjectType);
                          }).body;
    out.push_back({std::move(channel), std::move(message)});
  }
}

// From the committed read model, which the persister updates before it hands
// the events over.
AccountId MarketFeed::order_owner(OrderId order) const {
  const auto record = model_->order(order);
  return record ? record->view.spec.buyer : 0;
}

MarketFeed::Owners MarketFeed::lease_owners(LeaseId lease) const {
  const auto view = model_->lease(lease);
  return view ? Owners{view->buyer, view->supplier} : Owners{};
}

}  // namespace spotgrid::gateway
