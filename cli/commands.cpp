// The verbs: each turns its options into one API call (two for `login`) and
// the answer into a table, or prints the answer as it came with --json.
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string_view>
#include <variant>

#include "cli.hpp"
#include "config.hpp"
#include "output.hpp"
#include "spotgrid/client/client.hpp"
#include "spotgrid/util/json.hpp"

namespace spotgrid::cli {

namespace {

using Json = rapidjson::Document;
using Value = rapidjson::Value;
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

// Options a command line carries: `--name value`, the flags below, and
// positional words.
struct Arguments {
  std::vector<std::string> words;
  std::map<std::string, std::string, std::less<>> options;
  std::set<std::string, std::less<>> flags;

  const std::string* option(std::string_view name) const {
    const auto found = options.find(name);
    return found == options.end() ? nullptr : &found->second;
  }
  bool flag(std::string_view name) const { return flags.contains(name); }
};

constexpr std::string_view kFlags[] = {"json", "help"};

std::optional<Arguments> parse_arguments(const std::vector<std::string>& args, std::size_t from,
                                         std::string& problem) {
  Arguments parsed;
  for (std::size_t i = from; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (!arg.starts_with("--")) {
      parsed.words.push_back(arg);
      continue;
    }
    const std::string name = arg.substr(2);
    if (std::find(std::begin(kFlags), std::end(kFlags), name) != std::end(kFlags)) {
      parsed.flags.insert(name);
    } else if (i + 1 < args.size()) {
      parsed.options[name] = args[++i];
    } else {
      problem = arg + " needs a value";
      return std::nullopt;
    }
  }
  return parsed;
}

// The options `usage` names ("--pool P [--days D]": pool, days).
std::set<std::string, std::less<>> options_in(std::string_view usage) {
  std::set<std::string, std::less<>> names;
  for (std::size_t at = usage.find("--"); at != std::string_view::npos;
       at = usage.find("--", at + 2)) {
    std::size_t end = at + 2;
    while (end < usage.size() &&
           (std::islower(static_cast<unsigned char>(usage[end])) != 0 || usage[end] == '-'))
      ++end;
    names.emplace(usage.substr(at + 2, end - at - 2));
  }
  return names;
}

// A misspelt option must not quietly change what is done (--stratgy
// cost_first placing a time-first order): every option is one the verb takes.
std::optional<std::string> unknown_option(const Arguments& args, std::string_view usage) {
  const auto known = options_in(usage);
  for (const auto& [name, value] : args.options) {
    if (!known.contains(name)) return "--" + name + " is not an option here";
  }
  return std::nullopt;
}

// Everything a verb needs.
struct Context {
  client::Client server;
  std::string api_key;
  const Arguments& args;
  std::ostream& out;
  std::ostream& err;
  const Environment& environment;
  Config config;
};

// A command line that does not say what the verb needs.
struct UsageError {
  std::string problem;
};

std::string required(const Context& c, std::string_view name) {
  if (const std::string* value = c.args.option(name)) return *value;
  throw UsageError{"--" + std::string(name) + " is required"};
}

std::int64_t integer(const Context& c, std::string_view name, std::int64_t low, std::int64_t high,
                     std::optional<std::int64_t> fallback = std::nullopt) {
  const std::string* text = c.args.option(name);
  if (text == nullptr) {
    if (fallback) return *fallback;
    throw UsageError{"--" + std::string(name) + " is required"};
  }
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (error != std::errc{} || end != text->data() + text->size() || value < low || value > high) {
    throw UsageError{"--" + std::string(name) + " must be a whole number from " +
                     std::to_string(low) + " to " + std::to_string(high)};
  }
  return value;
}

std::int64_t money(const Context& c, std::string_view name) {
  const auto micros = micros_of(required(c, name));
  if (!micros || *micros <= 0)
    throw UsageError{"--" + std::string(name) + " must be an amount in USD, like 2.50"};
  return *micros;
}

// Hours as whole seconds: "1.5" is 5400. Hours are what people think in.
std::int64_t hours(const Context& c, std::string_view name, std::optional<std::int64_t> fallback) {
  const std::string* text = c.args.option(name);
  if (text == nullptr) {
    if (fallback) return *fallback;
    throw UsageError{"--" + std::string(name) + " is required"};
  }
  const auto micros = micros_of(*text);  // the same exact decimal reading
  constexpr std::int64_t kMaxHours =
      std::int64_t{24} * 366;  // past any duration or deadline the market takes
  if (!micros || *micros > kMaxHours * std::int64_t{1'000'000})
    throw UsageError{"--" + std::string(name) + " must be a number of hours up to 8784, like 1.5"};
  return *micros * 3'600 / 1'000'000;
}

std::string word(const Context& c, std::size_t index, std::string_view what) {
  if (index < c.args.words.size()) return c.args.words[index];
  throw UsageError{"say which " + std::string(what)};
}

std::string id_word(const Context& c, std::string_view what) {
  std::string id = word(c, 0, what);
  if (id.empty() ||
      !std::all_of(id.begin(), id.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
    throw UsageError{std::string(what) + " must be a number"};
  return id;
}

// The exit code an answer's status means.
Exit exit_of(unsigned status) {
  if (status == 401 || status == 403) return Exit::kAuth;
  if (status >= 500) return Exit::kUnreachable;
  return Exit::kRefused;
}

// Prints why the server refused, in its own words.
Exit refused(const Context& c, const client::Reply& reply) {
  Json body;
  std::string message = reply.body;
  std::string code = "http_" + std::to_string(reply.status);
  std::string field;
  if (!util::parse_json(body, reply.body, 1 << 20) && body.IsObject() && body.HasMember("error") &&
      body["error"].IsObject()) {
    const Value& error = body["error"];
    if (error.HasMember("message") && error["message"].IsString())
      message = error["message"].GetString();
    if (error.HasMember("code") && error["code"].IsString()) code = error["code"].GetString();
    if (error.HasMember("field") && error["field"].IsString()) field = error["field"].GetString();
  }
  c.err << "spotgrid: " << printable(message) << " (" << printable(code)
        << (field.empty() ? "" : ", " + printable(field)) << ")\n";
  if (reply.status == 401 && c.api_key.empty())
    c.err << "spotgrid: set SPOTGRID_API_KEY or run `spotgrid login`\n";
  return exit_of(reply.status);
}

struct Failed {
  Exit code;
};

// One call: the parsed answer when it succeeded; else the reason is printed
// and Failed carries the exit code. With --json the answer is printed as is.
Json ask(Context& c, const std::string& method, const std::string& target,
         const std::string& body = {}, client::Headers headers = {}, bool echo = true) {
  const client::Result result =
      c.server.call({method, target, body, c.api_key, std::move(headers)});
  if (const auto* failure = std::get_if<client::Failure>(&result)) {
    c.err << "spotgrid: " << failure->problem << '\n';
    throw Failed{Exit::kUnreachable};
  }
  const auto& reply = std::get<client::Reply>(result);
  if (reply.status / 100 != 2) throw Failed{refused(c, reply)};
  Json answer;
  if (reply.body.empty()) {
    answer.SetObject();  // 204: nothing to say
  } else if (util::parse_json(answer, reply.body, std::size_t{64} << 20) || !answer.IsObject()) {
    c.err << "spotgrid: the server's answer is not the JSON object the API documents\n";
    throw Failed{Exit::kUnreachable};
  }
  if (echo && c.args.flag("json")) c.out << printable(reply.body) << '\n';
  return answer;
}

std::string text(const Value& object, const char* name) {
  if (!object.IsObject() || !object.HasMember(name)) return "";
  const Value& value = object[name];
  if (value.IsString()) return printable(value.GetString());
  if (value.IsInt64()) return std::to_string(value.GetInt64());
  if (value.IsUint64()) return std::to_string(value.GetUint64());
  if (value.IsBool()) return value.GetBool() ? "yes" : "no";
  return "";
}

std::int64_t number(const Value& object, const char* name) {
  if (!object.IsObject() || !object.HasMember(name) || !object[name].IsInt64()) return 0;
  return object[name].GetInt64();
}

std::string dollars(const Value& object, const char* name, int decimals = 2) {
  return usd(number(object, name), decimals);
}

const Value& rows(const Json& answer, const char* name) {
  static const Value kEmpty(rapidjson::kArrayType);
  return answer.IsObject() && answer.HasMember(name) && answer[name].IsArray() ? answer[name]
                                                                               : kEmpty;
}

// A JSON body from `fill(writer)`.
template <typename Fill>
std::string body_of(Fill&& fill) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  fill(w);
  w.EndObject();
  return buffer.GetString();
}

void put(Writer& w, const char* name, std::int64_t value) {
  w.Key(name);
  w.Int64(value);
}
void put(Writer& w, const char* name, const std::string& value) {
  w.Key(name);
  w.String(value.c_str(), static_cast<rapidjson::SizeType>(value.size()));
}

// The pools, to name the pool_index other answers carry (never echoed).
Json pool_list(Context& c) {
  return ask(c, "GET", "/v1/market/pools", {}, {}, false);
}

std::string pool_names(const Context&, const Json& pools, std::int64_t index) {
  const Value& list = rows(pools, "pools");
  return index >= 0 && static_cast<std::size_t>(index) < list.Size()
             ? text(list[static_cast<rapidjson::SizeType>(index)], "pool")
             : "#" + std::to_string(index);
}

bool human(const Context& c) {
  return !c.args.flag("json");
}

// --- market data ---

void pools(Context& c) {
  const Json answer = ask(c, "GET", "/v1/market/pools");
  if (!human(c)) return;
  Table table({"POOL", "VENDOR", "MEMORY", "INDEX/card-h", "BEST ASK", "BEST BID"});
  for (const Value& p : rows(answer, "pools").GetArray()) {
    table.add({text(p, "pool"), text(p, "vendor"), text(p, "memory_gib") + " GiB",
               dollars(p, "index_micros_per_card_hour"), dollars(p, "best_ask_micros_per_hour"),
               dollars(p, "best_bid_micros_per_hour")});
  }
  table.print(c.out);
}

void book(Context& c) {
  const std::string pool = word(c, 0, "pool");
  const Json answer = ask(c, "GET", "/v1/market/" + pool + "/book");
  if (!human(c)) return;
  c.out << pool << ": index " << dollars(answer, "index_micros_per_card_hour") << " / card-h\n";
  Table table({"SIDE", "PRICE/card-h", "CARDS", "ENTRIES"});
  for (const char* side : {"asks", "bids"}) {
    for (const Value& level : rows(answer, side).GetArray()) {
      table.add({side, dollars(level, "price_micros_per_hour"), text(level, "cards"),
                 text(level, "entries")});
    }
  }
  table.print(c.out, "the book is empty");
}

void tariffs(Context& c) {
  const Json answer = ask(c, "GET", "/v1/market/tariffs");
  if (!human(c)) return;
  std::vector<std::string> headings = {"REGION"};
  const std::int64_t from = number(answer, "from");
  for (std::int64_t hour = 0; hour < 24; ++hour) {
    char heading[8];
    std::snprintf(heading, sizeof heading, "%02lld",
                  static_cast<long long>((from / 3'600 + hour) % 24));
    headings.emplace_back(heading);
  }
  Table table(headings);
  for (const Value& region : rows(answer, "regions").GetArray()) {
    std::vector<std::string> row = {text(region, "region")};
    static const Value kNone(rapidjson::kArrayType);
    const bool listed =
        region.IsObject() && region.HasMember("multiplier_bp") && region["multiplier_bp"].IsArray();
    for (const Value& bp : (listed ? region["multiplier_bp"] : kNone).GetArray()) {
      // Basis points as a multiplier: 12500 is 1.25, in integers.
      const std::int64_t points = bp.IsInt64() ? bp.GetInt64() : 0;
      char cell[24];
      std::snprintf(cell, sizeof cell, "%lld.%02lld", static_cast<long long>(points / 10'000),
                    static_cast<long long>(points % 10'000 / 100));
      row.emplace_back(cell);
    }
    table.add(row);
  }
  c.out << "time-of-use multipliers, next 24 h from " << utc(from) << " UTC (hour columns)\n";
  table.print(c.out);
}

// --- buyers ---

// The deadline a cost-first order needs: --latest-start (unix seconds), else
// --start-within hours from now (default 24).
std::int64_t latest_start(const Context& c) {
  if (c.args.option("latest-start") != nullptr)
    return integer(c, "latest-start", 0, std::int64_t{1} << 40);
  return static_cast<std::int64_t>(std::time(nullptr)) + hours(c, "start-within", 24 * 3'600);
}

// `deadline`: where the latest_start sent is kept (0: none was sent).
std::string order_body(const Context& c, bool with_strategy, std::int64_t* deadline = nullptr) {
  return body_of([&](Writer& w) {
    put(w, "pool", required(c, "pool"));
    put(w, "cards", integer(c, "cards", 1, 4'096));
    put(w, "duration_seconds", hours(c, "hours", std::nullopt));
    put(w, "limit_micros_per_hour", money(c, "limit"));
    if (!with_strategy) return;
    const std::string strategy =
        c.args.option("strategy") ? *c.args.option("strategy") : "time_first";
    if (strategy != "time_first" && strategy != "cost_first")
      throw UsageError{"--strategy must be time_first or cost_first"};
    put(w, "strategy", strategy);
    if (strategy != "cost_first") return;
    const std::int64_t latest = latest_start(c);
    put(w, "latest_start", latest);
    if (deadline != nullptr) *deadline = latest;
  });
}

void quote(Context& c) {
  const Json answer = ask(c, "POST", "/v1/quotes", order_body(c, false));
  if (!human(c)) return;
  c.out << text(answer, "cards_fillable") << " cards fill now; expected cost "
        << dollars(answer, "cost_micros") << ", hold " << dollars(answer, "hold_micros");
  if (text(answer, "remainder_reason") != "none")
    c.out << "; the rest waits: " << text(answer, "remainder_reason");
  c.out << '\n';
  Table table({"NODE", "REGION", "CARDS", "PRICE/card-h", "COST"});
  for (const Value& leg : rows(answer, "legs").GetArray()) {
    table.add({text(leg, "node_id"), text(leg, "region"), text(leg, "cards"),
               dollars(leg, "price_micros_per_card_hour"), dollars(leg, "cost_micros")});
  }
  table.print(c.out, "no supply meets this order now");
}

// A fresh Idempotency-Key: 128 random bits, hex.
std::string new_idempotency_key() {
  std::random_device random;
  char text[40];
  std::snprintf(text, sizeof text, "cli-%08x%08x%08x%08x", random(), random(), random(), random());
  return text;
}

// The Idempotency-Key a write sends: --idempotency-key, else a new one. It
// is printed before the request, so a retry after a timeout can reuse it.
std::string idempotency_key_for(Context& c) {
  const std::string* given = c.args.option("idempotency-key");
  std::string key = given ? *given : new_idempotency_key();
  c.err << "idempotency key: " << key << '\n';
  return key;
}

void place(Context& c) {
  std::int64_t deadline = 0;
  const std::string body = order_body(c, true, &deadline);
  const std::string key = idempotency_key_for(c);
  // A cost-first retry must send the same body: this deadline, not a new one.
  if (deadline != 0 && c.args.option("latest-start") == nullptr)
    c.err << "retry with: --idempotency-key " << key << " --latest-start " << deadline << '\n';
  const Json answer = ask(c, "POST", "/v1/orders", body, {{"Idempotency-Key", key}});
  if (!human(c)) return;
  c.out << "order " << text(answer, "order_id") << ": " << text(answer, "status") << ", "
        << text(answer, "cards_open") << " cards open, hold " << dollars(answer, "hold_micros")
        << '\n';
  Table table({"LEASE", "NODE", "CARDS", "PRICE/card-h"});
  for (const Value& lease : rows(answer, "leases").GetArray()) {
    table.add({text(lease, "lease_id"), text(lease, "node_id"), text(lease, "cards"),
               dollars(lease, "price_micros_per_card_hour")});
  }
  if (!table.empty()) table.print(c.out);
}

// A history route with the page the command line asks for: --state, --cursor, --limit.
std::string history_target(const Context& c, std::string target) {
  char separator = '?';
  const auto add = [&](const char* name, const std::string& value) {
    target += separator + std::string(name) + "=" + value;
    separator = '&';
  };
  if (const std::string* state = c.args.option("state")) {
    if (state->empty() ||
        !std::all_of(state->begin(), state->end(), [](char ch) { return ch >= 'a' && ch <= 'z'; }))
      throw UsageError{"--state must be a word, like open"};
    add("state", *state);
  }
  if (const std::string* cursor = c.args.option("cursor")) {
    if (cursor->empty() || !std::all_of(cursor->begin(), cursor->end(),
                                        [](char ch) { return ch >= '0' && ch <= '9'; }))
      throw UsageError{"--cursor must be the one a page printed"};
    add("cursor", *cursor);
  }
  if (c.args.option("limit") != nullptr) add("limit", std::to_string(integer(c, "limit", 1, 500)));
  return target;
}

// After a page: how to ask for the next.
void print_next(Context& c, const Json& answer) {
  if (answer.IsObject() && answer.HasMember("next_cursor") && answer["next_cursor"].IsString())
    c.out << "more: --cursor " << printable(answer["next_cursor"].GetString()) << '\n';
}

void orders(Context& c) {
  const Json answer = ask(c, "GET", history_target(c, "/v1/orders"));
  if (!human(c)) return;
  Table table({"ORDER", "STATE", "STRATEGY", "CARDS", "OPEN", "FILLED", "LIMIT/card-h", "WAITING"});
  for (const Value& o : rows(answer, "orders").GetArray()) {
    table.add({text(o, "order_id"), text(o, "state"), text(o, "strategy"), text(o, "cards"),
               text(o, "cards_open"), text(o, "cards_filled"), dollars(o, "limit_micros_per_hour"),
               number(o, "cards_open") > 0 ? text(o, "unfilled_reason") : ""});
  }
  table.print(c.out);
  print_next(c, answer);
}

void show_fields(Context& c, const Json& answer) {
  if (!human(c)) return;
  Table table({"FIELD", "VALUE"});
  for (const auto& member : answer.GetObject()) {
    const std::string name = member.name.GetString();
    std::string value = text(answer, member.name.GetString());
    if (name.ends_with("_micros") || name.ends_with("_micros_per_hour") ||
        name.ends_with("_micros_per_card_hour"))
      value = usd(number(answer, member.name.GetString()), 6);
    table.add({name, value});
  }
  table.print(c.out);
}

void order_show(Context& c) {
  show_fields(c, ask(c, "GET", "/v1/orders/" + id_word(c, "order")));
}

void order_cancel(Context& c) {
  const Json answer = ask(c, "DELETE", "/v1/orders/" + id_word(c, "order"));
  if (human(c))
    c.out << "order " << text(answer, "order_id") << ": " << text(answer, "cards_cancelled")
          << " cards cancelled\n";
}

void order_amend(Context& c) {
  const std::string order = id_word(c, "order");
  if (c.args.option("cards") == nullptr && c.args.option("limit") == nullptr)
    throw UsageError{"say --cards (fewer), --limit, or both"};
  const std::string body = body_of([&](Writer& w) {
    if (c.args.option("cards") != nullptr) put(w, "cards", integer(c, "cards", 1, 4'096));
    if (c.args.option("limit") != nullptr) put(w, "limit_micros_per_hour", money(c, "limit"));
  });
  const Json answer = ask(c, "POST", "/v1/orders/" + order + "/amend", body);
  if (human(c))
    c.out << "order " << text(answer, "order_id") << ": " << text(answer, "cards_open")
          << " cards open at " << dollars(answer, "limit_micros_per_hour") << " / card-h"
          << (text(answer, "lost_priority") == "yes" ? " (it lost its place in time)" : "") << '\n';
}

void leases(Context& c) {
  const Json answer = ask(c, "GET", history_target(c, "/v1/leases"));
  if (!human(c)) return;
  const Json pools_answer = pool_list(c);
  Table table({"LEASE", "POOL", "NODE", "CARDS", "PRICE/card-h", "STARTED", "STATE", "BILLED s",
               "CHARGED"});
  for (const Value& l : rows(answer, "leases").GetArray()) {
    const std::string state =
        text(l, "status") == "running" ? "running" : "ended (" + text(l, "end_reason") + ")";
    // Running leases carry what metering billed so far (the read model's).
    const bool live = l.IsObject() && l.HasMember("charged_now_micros");
    table.add({text(l, "lease_id"), pool_names(c, pools_answer, number(l, "pool_index")),
               text(l, "node_id"), text(l, "cards"), dollars(l, "price_micros_per_card_hour"),
               utc(number(l, "started_at")), state, live ? text(l, "seconds_billed") : "-",
               dollars(l, live ? "charged_now_micros" : "charged_micros", 6)});
  }
  table.print(c.out);
  print_next(c, answer);
}

void lease_show(Context& c) {
  show_fields(c, ask(c, "GET", "/v1/leases/" + id_word(c, "lease")));
}

void lease_energy(Context& c) {
  show_fields(c, ask(c, "GET", "/v1/leases/" + id_word(c, "lease") + "/energy"));
}

void lease_stop(Context& c) {
  const Json answer = ask(c, "POST", "/v1/leases/" + id_word(c, "lease") + "/stop");
  if (human(c))
    c.out << "lease " << text(answer, "lease_id") << " stopped; billed until "
          << utc(number(answer, "billable_end")) << " UTC\n";
}

// --- suppliers ---

void node_register(Context& c) {
  const std::string body = body_of([&](Writer& w) {
    put(w, "pool", required(c, "pool"));
    put(w, "region", required(c, "region"));
    put(w, "cards", integer(c, "cards", 1, 64));
  });
  const Json answer = ask(c, "POST", "/v1/nodes", body);
  if (human(c)) c.out << "node " << text(answer, "node_id") << " registered\n";
}

void nodes(Context& c) {
  const Json answer = ask(c, "GET", "/v1/nodes");
  if (!human(c)) return;
  const Json pools_answer = pool_list(c);
  Table table({"NODE", "POOL", "CARDS", "LEASED", "MEASURED CU", "RELIABILITY"});
  for (const Value& n : rows(answer, "nodes").GetArray()) {
    const std::int64_t cu = number(n, "measured_cu_milli");
    char measured[32] = "catalog";
    if (cu > 0) std::snprintf(measured, sizeof measured, "%.3f", static_cast<double>(cu) / 1'000.0);
    char reliability[16];
    std::snprintf(reliability, sizeof reliability, "%.2f %%",
                  static_cast<double>(number(n, "reliability_bp")) / 100.0);
    table.add({text(n, "node_id"), pool_names(c, pools_answer, number(n, "pool_index")),
               text(n, "cards"), text(n, "cards_leased"), measured, reliability});
  }
  table.print(c.out);
}

void node_agent_key(Context& c) {
  const Json answer = ask(c, "GET", "/v1/nodes/" + id_word(c, "node") + "/agent-key");
  if (human(c)) c.out << text(answer, "agent_key") << '\n';
}

void listing_create(Context& c) {
  const std::int64_t now = std::time(nullptr);
  const std::string body = body_of([&](Writer& w) {
    put(w, "node_id", integer(c, "node", 1, std::numeric_limits<std::int64_t>::max()));
    put(w, "cards", integer(c, "cards", 1, 64));
    put(w, "reserve_micros_per_card_hour", money(c, "price"));
    put(w, "available_from", now - 60);
    put(w, "available_until", now + integer(c, "days", 1, 366, 7) * 86'400);
  });
  const Json answer = ask(c, "POST", "/v1/listings", body);
  if (human(c)) c.out << "listing " << text(answer, "listing_id") << " is on the market\n";
}

void listings(Context& c) {
  const Json answer = ask(c, "GET", "/v1/listings");
  if (!human(c)) return;
  Table table({"LISTING", "NODE", "CARDS", "RESERVE/card-h", "UNTIL", "STATE"});
  for (const Value& l : rows(answer, "listings").GetArray()) {
    table.add({text(l, "listing_id"), text(l, "node_id"), text(l, "cards"),
               dollars(l, "reserve_micros_per_card_hour"), utc(number(l, "available_until")),
               text(l, "status")});
  }
  table.print(c.out);
}

void listing_withdraw(Context& c) {
  ask(c, "DELETE", "/v1/listings/" + id_word(c, "listing"));
  if (human(c)) c.out << "listing " << c.args.words[0] << " withdrawn\n";
}

// --- money ---

void statements(Context& c, const char* kind) {
  const std::string month = required(c, "month");
  const Json answer = ask(c, "GET", std::string("/v1/billing/") + kind + "?month=" + month);
  if (!human(c)) return;
  const bool payouts = std::string_view(kind) == "payouts";
  std::vector<std::string> headings = {"ACCOUNT", "NAME", "CHARGES", "CREDITS", "FEES", "TOTAL"};
  if (payouts) headings.emplace_back("PAID OUT");
  Table table(headings);
  for (const Value& s : rows(answer, "statements").GetArray()) {
    std::vector<std::string> cells = {text(s, "account_id"),        text(s, "account_name"),
                                      dollars(s, "charges_micros"), dollars(s, "credits_micros"),
                                      dollars(s, "fees_micros"),    dollars(s, "total_micros")};
    if (payouts) cells.push_back(dollars(s, "paid_out_micros"));
    table.add(cells);
  }
  table.print(c.out, "no statements this month");
}

void earnings(Context& c) {
  const Json answer = ask(c, "GET", "/v1/billing/earnings");
  if (!human(c)) return;
  Table table({"DAY (UTC)", "EARNED"});
  for (const Value& d : rows(answer, "days").GetArray())
    table.add({utc(number(d, "day")).substr(0, 10), dollars(d, "earned_micros", 6)});
  table.print(c.out, "no earnings in the last 30 days");
}

void export_download(Context& c) {
  const std::string format = c.args.option("format") ? *c.args.option("format") : "csv";
  const std::string target = "/v1/billing/export?format=" + format +
                             "&from=" + required(c, "from") + "&to=" + required(c, "to");
  const std::string* path = c.args.option("output");
  std::ofstream file;
  if (path != nullptr) {
    file.open(*path, std::ios::binary | std::ios::trunc);
    if (!file) {
      c.err << "spotgrid: cannot write " << *path << '\n';
      throw Failed{Exit::kFailed};
    }
  }
  std::ostream& sink = path != nullptr ? file : c.out;
  std::uint64_t bytes = 0;
  const bool progress = c.environment.stderr_is_terminal && path != nullptr;
  const client::Result result =
      c.server.download({"GET", target, "", c.api_key, {}}, [&](std::string_view piece) {
        sink.write(piece.data(), static_cast<std::streamsize>(piece.size()));
        bytes += piece.size();
        if (progress) c.err << "\rexporting: " << bytes / 1'024 << " KiB" << std::flush;
      });
  if (progress) c.err << '\n';
  if (const auto* failure = std::get_if<client::Failure>(&result)) {
    c.err << "spotgrid: " << failure->problem << '\n';
    throw Failed{Exit::kUnreachable};
  }
  const auto& reply = std::get<client::Reply>(result);
  if (reply.status / 100 != 2) throw Failed{refused(c, reply)};
  if (path != nullptr) c.err << "wrote " << bytes << " bytes to " << *path << '\n';
}

void payout_transfers(Context& c) {
  std::string target =
      "/v1/billing/payout-transfers?from=" + required(c, "from") + "&to=" + required(c, "to");
  if (c.args.option("account") != nullptr)
    target += "&account=" + std::to_string(integer(c, "account", 1, 4'294'967'295));
  const Json answer = ask(c, "GET", target);
  if (!human(c)) return;
  Table table({"REFERENCE", "ACCOUNT", "PAID AT (UTC)", "AMOUNT", "SCHEDULED"});
  for (const Value& p : rows(answer, "payouts").GetArray()) {
    table.add({text(p, "reference"), text(p, "account_id"), text(p, "paid_at"),
               dollars(p, "amount_micros", 6), text(p, "scheduled")});
  }
  table.print(c.out, "no payouts in this range");
}

void trial_balance(Context& c) {
  const Json answer = ask(c, "GET", "/v1/ledger/trial-balance");
  if (!human(c)) return;
  Table table({"LEDGER ACCOUNT", "ACCOUNTS", "BALANCE"});
  for (const Value& a : rows(answer, "accounts").GetArray())
    table.add({text(a, "account"), text(a, "count"), dollars(a, "balance_micros", 6)});
  table.print(c.out);
  c.out << "sum of all balances: " << dollars(answer, "total_micros", 6) << " over "
        << text(answer, "transactions") << " transactions (zero when the ledger balances)\n";
}

void account_show(Context& c) {
  const Json answer = ask(c, "GET", "/v1/account");
  if (!human(c)) return;
  c.out << "account " << text(answer, "account_id") << " (" << text(answer, "role") << ")\n"
        << "  cash        " << dollars(answer, "cash_micros", 6) << '\n'
        << "  held        " << dollars(answer, "hold_micros", 6) << '\n'
        << "  receivable  " << dollars(answer, "receivable_micros", 6) << '\n';
  if (answer.HasMember("payout_schedule")) {
    const Value& plan = answer["payout_schedule"];
    c.out << "  payable     " << dollars(answer, "payable_micros", 6) << '\n';
    c.out << "  payouts     "
          << (text(plan, "daily") == "yes" ? "daily above " + dollars(plan, "minimum_micros", 6)
                                           : std::string("on request"))
          << '\n';
  }
}

void account_create(Context& c) {
  const std::string body = body_of([&](Writer& w) {
    put(w, "name", required(c, "name"));
    put(w, "role", required(c, "role"));
  });
  const Json answer = ask(c, "POST", "/v1/accounts", body);
  if (human(c))
    c.out << "account " << text(answer, "account_id") << " (" << text(answer, "role")
          << "), API key (shown once):\n"
          << text(answer, "api_key") << '\n';
}

void account_deposit(Context& c) {
  const std::string account = id_word(c, "account");
  const std::string body = body_of([&](Writer& w) { put(w, "amount_micros", money(c, "amount")); });
  const std::string key = idempotency_key_for(c);
  const Json answer =
      ask(c, "POST", "/v1/accounts/" + account + "/deposits", body, {{"Idempotency-Key", key}});
  if (human(c))
    c.out << "account " << account << ": cash now " << dollars(answer, "cash_micros") << '\n';
}

void account_withdraw(Context& c) {
  const std::string body = body_of([&](Writer& w) { put(w, "amount_micros", money(c, "amount")); });
  const std::string key = idempotency_key_for(c);
  const Json answer = ask(c, "POST", "/v1/account/withdrawals", body, {{"Idempotency-Key", key}});
  if (human(c))
    c.out << "withdrew " << dollars(answer, "withdrawn_micros") << "; cash now "
          << dollars(answer, "cash_micros") << '\n';
}

void account_payout(Context& c) {
  constexpr std::int64_t kCentMicros = 10'000;  // payouts move whole cents
  const std::int64_t amount = money(c, "amount");
  if (amount % kCentMicros != 0) throw UsageError{"--amount must be whole cents, like 12.34"};
  const std::string body = body_of([&](Writer& w) { put(w, "amount_micros", amount); });
  const std::string key = idempotency_key_for(c);
  const Json answer = ask(c, "POST", "/v1/account/payouts", body, {{"Idempotency-Key", key}});
  if (human(c))
    c.out << "paid out " << dollars(answer, "amount_micros", 6) << " as "
          << text(answer, "reference") << "; receivable now "
          << dollars(answer, "receivable_micros", 6) << '\n';
}

void account_payout_schedule(Context& c) {
  const std::string when = word(c, 0, "schedule: daily or off");
  if (when != "daily" && when != "off") throw UsageError{"say daily or off"};
  if (when == "off" && c.args.option("minimum") != nullptr)
    throw UsageError{"--minimum belongs to a daily schedule"};
  const std::string body = body_of([&](Writer& w) {
    w.Key("daily");
    w.Bool(when == "daily");
    if (when == "daily") {
      put(w, "minimum_micros",
          c.args.option("minimum") != nullptr ? money(c, "minimum") : std::int64_t{0});
    }
  });
  const Json answer = ask(c, "PUT", "/v1/account/payout-schedule", body);
  if (human(c)) {
    if (when == "daily") {
      c.out << "paid out daily at 00:00 UTC when at least " << dollars(answer, "minimum_micros", 6)
            << '\n';
    } else {
      c.out << "no scheduled payouts\n";
    }
  }
}

// --- the operator's controls ---

// POST /v1/operator/{what}/{id}/{action}; `done` says what it did.
void control(Context& c, const std::string& target, const std::string& done,
             const std::string& body = "") {
  ask(c, "POST", target, body);
  if (human(c)) c.out << done << '\n';
}

void operator_pool(Context& c, bool halt) {
  const std::string pool = word(c, 0, "pool");
  control(c, "/v1/operator/pools/" + pool + (halt ? "/halt" : "/resume"),
          pool + (halt ? " halted" : " trades again"));
}

void operator_account(Context& c, bool suspend) {
  const std::string account = id_word(c, "account");
  std::string body;
  if (suspend && c.args.option("stop-leases") != nullptr) {
    const std::string& stop = *c.args.option("stop-leases");
    if (stop != "yes" && stop != "no") throw UsageError{"--stop-leases must be yes or no"};
    body = body_of([&](Writer& w) {
      w.Key("stop_leases");
      w.Bool(stop == "yes");
    });
  }
  control(c, "/v1/operator/accounts/" + account + (suspend ? "/suspend" : "/reinstate"),
          "account " + account + (suspend ? " suspended" : " reinstated"), body);
}

void operator_node(Context& c, bool quarantine) {
  const std::string node = id_word(c, "node");
  control(c, "/v1/operator/nodes/" + node + (quarantine ? "/quarantine" : "/release"),
          "node " + node + (quarantine ? " quarantined" : " released"));
}

void operator_fee(Context& c) {
  const std::string bp = word(c, 0, "fee in basis points");
  std::int64_t fee = -1;
  const auto [end, error] = std::from_chars(bp.data(), bp.data() + bp.size(), fee);
  if (error != std::errc{} || end != bp.data() + bp.size() || fee < 0 || fee > 5'000)
    throw UsageError{"the fee is a whole number of basis points from 0 to 5000 (500 = 5 %)"};
  const std::string body = body_of([&](Writer& w) { put(w, "fee_bp", fee); });
  const Json answer = ask(c, "PUT", "/v1/operator/platform-fee", body);
  if (human(c))
    c.out << "platform fee " << text(answer, "fee_bp") << " bp for leases starting from now (was "
          << text(answer, "previous_bp") << " bp)\n";
}

// The whole of a file the command sends.
std::string file_contents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError{"cannot read " + path};
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A model in one of gpus.json's "gpus" entries' shape, added as the next pool.
void operator_gpu_model(Context& c) {
  const std::string body = file_contents(word(c, 0, "model file"));
  const Json answer = ask(c, "POST", "/v1/operator/gpu-models", body);
  if (human(c))
    c.out << "pool " << text(answer, "pool") << " (index " << text(answer, "pool_index")
          << ") is open\n";
}

// A tariffs file (config/tariffs.json's shape) published from an hour on.
void operator_tariffs(Context& c) {
  const std::string path = word(c, 0, "tariffs file");
  const std::string contents = file_contents(path);
  Json document;
  if (util::parse_json(document, contents, 1 << 20) || !document.IsObject() ||
      !document.HasMember("regions")) {
    throw UsageError{path + " is not a tariffs file: a JSON object with \"regions\""};
  }
  const std::int64_t from = integer(c, "from", 0, std::int64_t{1} << 40);
  document.RemoveMember("effective_from");
  document.AddMember("effective_from", from, document.GetAllocator());
  rapidjson::StringBuffer body;
  rapidjson::Writer<rapidjson::StringBuffer> writer(body);
  document.Accept(writer);
  const Json answer = ask(c, "POST", "/v1/operator/tariffs", body.GetString());
  if (human(c))
    c.out << "tariff schedule " << text(answer, "version") << " in force from "
          << utc(number(answer, "effective_from")) << " for leases that start after now\n";
}

void operator_audit(Context& c) {
  const Json answer =
      ask(c, "GET", "/v1/operator/audit?from=" + required(c, "from") + "&to=" + required(c, "to"));
  if (!human(c)) return;
  Table table({"SEQ", "AT (UTC)", "ACTION", "REFUSED", "EVENTS"});
  for (const Value& a : rows(answer, "actions").GetArray()) {
    table.add({text(a, "command_seq"), utc(number(a, "at")), text(a, "action"), text(a, "rejected"),
               text(a, "events")});
  }
  table.print(c.out, "no operator actions in this range");
}

void key_create(Context& c) {
  const std::string body = body_of([&](Writer& w) {
    if (const std::string* label = c.args.option("label")) put(w, "label", *label);
    if (c.args.option("days") != nullptr) put(w, "expires_in_days", integer(c, "days", 1, 3'660));
    if (const std::string* scope = c.args.option("scope")) put(w, "scope", *scope);
  });
  const Json answer = ask(c, "POST", "/v1/keys", body);
  if (human(c))
    c.out << "key " << text(answer, "key_id") << " (shown once):\n"
          << text(answer, "api_key") << '\n';
}

void keys(Context& c) {
  const Json answer = ask(c, "GET", "/v1/keys");
  if (!human(c)) return;
  Table table(
      {"KEY", "LABEL", "ROLE", "SCOPE", "CREATED", "EXPIRES", "REVOKED", "LAST USED", "FROM", ""});
  for (const Value& k : rows(answer, "keys").GetArray()) {
    table.add({text(k, "key_id"), text(k, "label"), text(k, "role"), text(k, "scope"),
               utc(number(k, "created_at")), utc(number(k, "expires_at")),
               utc(number(k, "revoked_at")), utc(number(k, "last_used_at")),
               text(k, "last_used_from"), text(k, "this_key") == "yes" ? "(this key)" : ""});
  }
  table.print(c.out);
}

void key_rotate(Context& c) {
  const std::string key_id = word(c, 0, "key");
  if (!std::all_of(key_id.begin(), key_id.end(), [](char ch) { return std::isxdigit(ch) != 0; }))
    throw UsageError{"the key is its 16 hex digit id (spotgrid key list)"};
  const std::string body = body_of([&](Writer& w) {
    if (c.args.option("grace-seconds") != nullptr)
      put(w, "grace_seconds", integer(c, "grace-seconds", 0, 604'800));
  });
  const Json answer = ask(c, "POST", "/v1/keys/" + key_id + "/rotate", body);
  if (human(c))
    c.out << "key " << text(answer, "key_id") << " replaces " << printable(key_id)
          << ", which works " << text(answer, "old_key_expires_in_seconds")
          << " s more (shown once):\n"
          << text(answer, "api_key") << '\n';
}

void key_revoke(Context& c) {
  const std::string key_id = word(c, 0, "key");
  ask(c, "DELETE", "/v1/keys/" + key_id);
  if (human(c)) c.out << "key " << printable(key_id) << " revoked\n";
}

// --events a,b,c as the JSON array of their names (the server checks them).
void put_events(Context& c, Writer& w) {
  const std::string events = required(c, "events");
  w.Key("events");
  w.StartArray();
  for (std::size_t start = 0; start <= events.size();) {
    const std::size_t comma = std::min(events.find(',', start), events.size());
    const std::string type = events.substr(start, comma - start);
    w.String(type.c_str(), static_cast<rapidjson::SizeType>(type.size()));
    start = comma + 1;
  }
  w.EndArray();
}

void webhook_create(Context& c) {
  const std::string body = body_of([&](Writer& w) {
    put(w, "url", required(c, "url"));
    put_events(c, w);
    if (c.args.option("balance-below") != nullptr)
      put(w, "balance_low_micros", money(c, "balance-below"));
  });
  const Json answer = ask(c, "POST", "/v1/webhooks", body);
  if (human(c))
    c.out << "endpoint " << text(answer, "endpoint_id") << "; its signing secret (shown once):\n"
          << text(answer, "secret") << '\n';
}

void webhooks(Context& c) {
  const Json answer = ask(c, "GET", "/v1/webhooks");
  if (!human(c)) return;
  Table table({"ENDPOINT", "URL", "EVENTS", "BALANCE BELOW", "FAILING", "CREATED"});
  for (const Value& e : rows(answer, "endpoints").GetArray()) {
    std::string events;
    if (e.HasMember("events") && e["events"].IsArray()) {
      for (const Value& type : e["events"].GetArray()) {
        if (type.IsString()) events.append(events.empty() ? "" : ",").append(type.GetString());
      }
    }
    table.add({text(e, "endpoint_id"), text(e, "url"), printable(events),
               number(e, "balance_low_micros") > 0 ? dollars(e, "balance_low_micros") : "",
               text(e, "consecutive_failures"), utc(number(e, "created_at"))});
  }
  table.print(c.out, "no webhook endpoints");
}

void webhook_delete(Context& c) {
  const std::string id = id_word(c, "endpoint");
  ask(c, "DELETE", "/v1/webhooks/" + id);
  if (human(c)) c.out << "endpoint " << printable(id) << " deleted\n";
}

void webhook_deliveries(Context& c) {
  const std::string id = id_word(c, "endpoint");
  const Json answer = ask(c, "GET", history_target(c, "/v1/webhooks/" + id + "/deliveries"));
  if (!human(c)) return;
  Table table({"EVENT", "TYPE", "AT (UTC)", "STATUS", "ATTEMPTS", "LAST", "ERROR"});
  for (const Value& d : rows(answer, "deliveries").GetArray()) {
    table.add({text(d, "event_id"), text(d, "type"), utc(number(d, "created_at")),
               text(d, "status"), text(d, "attempts"), text(d, "last_status_code"),
               text(d, "last_error")});
  }
  table.print(c.out, "no deliveries");
  print_next(c, answer);
}

// One line per event: "SEQ TIME CHANNEL KIND field=value ...", or the JSON.
void watch(Context& c) {
  std::vector<std::string> channels = c.args.words;
  if (channels.empty()) channels = {"orders", "leases"};
  const std::int64_t count = integer(c, "count", 1, 1'000'000'000, 0);
  const std::string subscribe = body_of([&](Writer& w) {
    put(w, "op", std::string("subscribe"));
    w.Key("channels");
    w.StartArray();
    for (const std::string& channel : channels)
      w.String(channel.c_str());
    w.EndArray();
  });
  std::int64_t seen = 0;
  const client::Result result = c.server.watch(
      {"GET", "/v1/stream", "", c.api_key, {}}, subscribe, [&](std::string_view message) {
        Json parsed;
        if (util::parse_json(parsed, message, 1 << 20) || !parsed.IsObject()) return true;
        const std::string type = text(parsed, "type");
        if (type == "error") {
          c.err << "spotgrid: " << text(parsed, "message") << '\n';
          return false;
        }
        if (type != "event") return true;
        if (!human(c)) {
          c.out << printable(message) << '\n' << std::flush;
        } else {
          static const Value kNone(rapidjson::kObjectType);
          const Value& data = parsed.HasMember("data") ? parsed["data"] : kNone;
          c.out << text(parsed, "seq") << ' ' << utc(number(parsed, "at")) << ' '
                << text(parsed, "channel") << ' ' << text(data, "kind");
          if (data.IsObject()) {
            for (const auto& member : data.GetObject()) {
              const std::string name = member.name.GetString();
              if (name != "kind" && !member.value.IsObject() && !member.value.IsArray())
                c.out << ' ' << name << '=' << text(data, member.name.GetString());
            }
          }
          c.out << '\n' << std::flush;
        }
        return count == 0 || ++seen < count;
      });
  if (const auto* failure = std::get_if<client::Failure>(&result)) {
    c.err << "spotgrid: " << failure->problem << '\n';
    throw Failed{Exit::kUnreachable};
  }
  const auto& reply = std::get<client::Reply>(result);
  if (reply.status != 101) throw Failed{refused(c, reply)};
}

// --- the command table ---

struct Command {
  const char* noun;
  const char* verb;  // "" for a noun alone
  const char* usage;
  const char* help;
  void (*run)(Context&);
};

const Command kCommands[] = {
    {"pools", "", "", "the pools traded, with index and best prices (public)", pools},
    {"book", "", "POOL", "a pool's order book (public)", book},
    {"tariffs", "", "", "each region's time-of-use multipliers for the next 24 h (public)",
     tariffs},
    {"quote", "", "--pool P --cards N --hours H --limit USD",
     "what an order would fill now, and its expected cost", quote},
    {"order", "place",
     "--pool P --cards N --hours H --limit USD [--strategy time_first|cost_first] "
     "[--start-within HOURS (cost-first; default 24) | --latest-start UNIX_SECONDS] "
     "[--idempotency-key K]",
     "place an order; its Idempotency-Key is printed, so a retry is safe", place},
    {"order", "list", "[--state open|completed|cancelled] [--limit N] [--cursor C]",
     "your orders in every state, newest first, a page at a time", orders},
    {"order", "show", "ORDER", "one order", order_show},
    {"order", "cancel", "ORDER", "cancel what is still open of an order", order_cancel},
    {"order", "amend", "ORDER [--cards N] [--limit USD]",
     "fewer cards or a new limit for what is still open", order_amend},
    {"lease", "list", "[--state running|ended] [--limit N] [--cursor C]",
     "your leases (buyer or supplier), newest first, a page at a time", leases},
    {"lease", "show", "LEASE", "a live lease, with the seconds billed so far", lease_show},
    {"lease", "stop", "LEASE", "stop a lease (buyer); billing ends now", lease_stop},
    {"lease", "energy", "LEASE",
     "the energy, power and utilisation the agent measured on the lease's cards", lease_energy},
    {"watch", "", "[CHANNEL...] [--count N]",
     "the stream, one line per event (default channels: orders leases; also book:POOL, "
     "trades:POOL, index:POOL)",
     watch},
    {"node", "register", "--pool P --region R --cards N", "register a node (supplier)",
     node_register},
    {"node", "list", "", "your nodes with measured compute units and reliability", nodes},
    {"node", "agent-key", "NODE", "the key the node's spotgrid-agent signs with", node_agent_key},
    {"listing", "create", "--node N --cards C --price USD [--days D (default 7)]",
     "list a node's cards from now", listing_create},
    {"listing", "list", "", "your listings", listings},
    {"listing", "withdraw", "LISTING", "take a listing off the market", listing_withdraw},
    {"billing", "invoices", "--month YYYY-MM", "monthly invoices (buyer; finance: all)",
     [](Context& c) { statements(c, "invoices"); }},
    {"billing", "payouts", "--month YYYY-MM", "monthly payout statements (supplier; finance: all)",
     [](Context& c) { statements(c, "payouts"); }},
    {"billing", "transfers", "--from DATE --to DATE [--account N]",
     "payouts made in a range, with the reference the bank transfer carries", payout_transfers},
    {"billing", "earnings", "", "what you earned per day, last 30 days (supplier)", earnings},
    {"billing", "export", "--from DATE --to DATE [--format csv|json|focus] [--output FILE]",
     "the billing export, streamed (a progress line when writing a file)", export_download},
    {"ledger", "trial-balance", "", "every ledger account's balance (finance, operator)",
     trial_balance},
    {"account", "show", "", "your balances", account_show},
    {"key", "create", "[--label TEXT] [--days N] [--scope full|read|billing]",
     "another API key for your account (shown once); --days: it expires", key_create},
    {"key", "rotate", "KEY_ID [--grace-seconds N]",
     "a new key in its place; the old one works for the grace (default a day)", key_rotate},
    {"key", "list", "", "your account's keys (never their secrets)", keys},
    {"key", "revoke", "KEY_ID", "revoke a key: refused everywhere within a second", key_revoke},
    {"webhook", "create", "--url URL --events TYPE,... [--balance-below USD]",
     "send some of your account's events to an HTTPS endpoint (its secret shown once)",
     webhook_create},
    {"webhook", "list", "", "your webhook endpoints", webhooks},
    {"webhook", "delete", "ENDPOINT", "stop sending to an endpoint", webhook_delete},
    {"webhook", "deliveries",
     "ENDPOINT [--state pending|delivered|failed] [--limit N] [--cursor C]",
     "an endpoint's delivery log, newest first", webhook_deliveries},
    {"account", "withdraw", "--amount USD [--idempotency-key K]",
     "take available cash out of the market (a ledger withdrawal)", account_withdraw},
    {"account", "payout", "--amount USD [--idempotency-key K]",
     "pay your earnings out (supplier; a ledger payout)", account_payout},
    {"account", "payout-schedule", "daily|off [--minimum USD (default: any whole cents)]",
     "pay earnings out at each UTC midnight above a minimum (supplier)", account_payout_schedule},
    {"account", "create", "--name NAME --role buyer|supplier|finance|agent",
     "a new account and its first key (operator)", account_create},
    {"account", "deposit", "ACCOUNT --amount USD [--idempotency-key K]",
     "credit an account's cash (operator)", account_deposit},
    {"operator", "halt", "POOL", "no new orders, listings or leases in a pool (operator)",
     [](Context& c) { operator_pool(c, true); }},
    {"operator", "resume", "POOL", "trade a halted pool again (operator)",
     [](Context& c) { operator_pool(c, false); }},
    {"operator", "suspend", "ACCOUNT [--stop-leases yes|no]",
     "cancel an account's orders and listings and bar it (operator)",
     [](Context& c) { operator_account(c, true); }},
    {"operator", "reinstate", "ACCOUNT", "lift a suspension (operator)",
     [](Context& c) { operator_account(c, false); }},
    {"operator", "quarantine", "NODE", "no new leases on a node (operator)",
     [](Context& c) { operator_node(c, true); }},
    {"operator", "release", "NODE", "lift a node's quarantine (operator)",
     [](Context& c) { operator_node(c, false); }},
    {"operator", "fee", "BASIS_POINTS",
     "the platform's share of leases that start from now, 0 to 5000 (operator)", operator_fee},
    {"operator", "gpu-model", "FILE",
     "add a GPU model (one gpus.json entry, as a JSON object) as a new pool (operator)",
     operator_gpu_model},
    {"operator", "tariffs", "FILE --from UNIX_SECONDS",
     "publish a tariff schedule (tariffs.json's shape) in force from a future hour (operator)",
     operator_tariffs},
    {"operator", "audit", "--from DATE --to DATE", "what the operator did (operator, finance)",
     operator_audit},
};

void print_help(std::ostream& out) {
  out << "usage: spotgrid COMMAND [ARGS] [--json] [--help]\n\n"
         "The server is SPOTGRID_URL (default "
      << kDefaultUrl
      << "), the key SPOTGRID_API_KEY, or both from the file `spotgrid login` writes.\n"
         "Exit codes: 0 ok, 2 usage, 3 refused by the market (the reason is printed), "
         "4 auth, 5 unreachable.\n\ncommands:\n"
         "  login [--url URL] [--key KEY] [--ca-file PEM]   check a key and keep it in the "
         "config\n";
  for (const Command& command : kCommands) {
    std::string name = command.noun;
    if (*command.verb != '\0') name += std::string(" ") + command.verb;
    out << "  " << name << (*command.usage != '\0' ? " " : "") << command.usage << "\n      "
        << command.help << '\n';
  }
}

Exit login(const std::vector<std::string>& args, const Environment& environment, std::ostream& out,
           std::ostream& err) {
  std::string problem;
  const auto parsed = parse_arguments(args, 1, problem);
  if (!parsed) {
    err << "spotgrid login: " << problem << '\n';
    return Exit::kUsage;
  }
  constexpr std::string_view kLoginUsage = "[--url URL] [--key KEY] [--ca-file PEM]";
  if (const auto unknown = unknown_option(*parsed, kLoginUsage)) {
    err << "spotgrid login: " << *unknown << " (usage: spotgrid login " << kLoginUsage << ")\n";
    return Exit::kUsage;
  }
  if (parsed->flag("help")) {
    out << "usage: spotgrid login [--url URL] [--key KEY] [--ca-file PEM]\n"
           "  checks the key against the server and writes "
        << environment.config << " (mode 0600)\n";
    return Exit::kOk;
  }
  Config config;
  config.url = parsed->option("url")      ? *parsed->option("url")
               : !environment.url.empty() ? environment.url
                                          : std::string(kDefaultUrl);
  config.api_key = parsed->option("key") ? *parsed->option("key") : environment.api_key;
  if (parsed->option("ca-file")) config.ca_file = *parsed->option("ca-file");
  if (config.api_key.empty() && environment.read_key) {
    err << "API key: " << std::flush;
    config.api_key = environment.read_key();
  }
  auto target = client::parse_url(config.url);
  if (!target) {
    err << "spotgrid login: --url must look like http://HOST:PORT or https://HOST\n";
    return Exit::kUsage;
  }
  target->ca_file = config.ca_file;
  target->timeout = std::chrono::seconds(environment.timeout_seconds);
  const client::Result result =
      client::Client(*target).call({"GET", "/v1/account", "", config.api_key, {}});
  if (const auto* failure = std::get_if<client::Failure>(&result)) {
    err << "spotgrid login: " << failure->problem << '\n';
    return Exit::kUnreachable;
  }
  const unsigned status = std::get<client::Reply>(result).status;
  // 403: a valid key whose role has no account of its own (finance, operator).
  if (status != 200 && status != 403) {
    err << "spotgrid login: the server refused the key (" << status << ")\n";
    return exit_of(status);
  }
  try {
    save_config(environment.config, config);
  } catch (const std::exception& error) {
    err << "spotgrid login: " << error.what() << '\n';
    return Exit::kFailed;
  }
  out << "signed in to " << config.url << "; the key is kept in " << environment.config << '\n';
  return Exit::kOk;
}

const Command* find_command(const std::vector<std::string>& args, std::size_t& consumed) {
  for (const Command& command : kCommands) {
    if (args[0] != command.noun) continue;
    if (*command.verb == '\0') {
      consumed = 1;
      return &command;
    }
    if (args.size() > 1 && args[1] == command.verb) {
      consumed = 2;
      return &command;
    }
  }
  return nullptr;
}

// The server and key: the environment over the config file.
std::optional<client::Target> target_of(const Environment& environment, Config& config,
                                        std::ostream& err) {
  try {
    config = load_config(environment.config);
  } catch (const std::exception& error) {
    err << "spotgrid: " << error.what() << '\n';
    return std::nullopt;
  }
  const std::string url = !environment.url.empty() ? environment.url
                          : !config.url.empty()    ? config.url
                                                   : std::string(kDefaultUrl);
  // The config's key belongs to the config's server: never sent elsewhere.
  if (!environment.url.empty() && environment.url != config.url) config.api_key.clear();
  if (!environment.api_key.empty()) config.api_key = environment.api_key;
  if (config_readable_by_others(environment.config)) {
    err << "spotgrid: warning: " << environment.config
        << " holds a key and others may read it: chmod 600 it\n";
  }
  auto target = client::parse_url(url);
  if (!target) {
    err << "spotgrid: the server URL must look like http://HOST:PORT or https://HOST: " << url
        << '\n';
    return std::nullopt;
  }
  target->ca_file = config.ca_file;
  target->timeout = std::chrono::seconds(environment.timeout_seconds);
  return target;
}

}  // namespace

Exit run(const std::vector<std::string>& args, const Environment& environment, std::ostream& out,
         std::ostream& err) {
  if (args.empty() || args[0] == "--help" || args[0] == "help") {
    print_help(args.empty() ? err : out);
    return args.empty() ? Exit::kUsage : Exit::kOk;
  }
  if (args[0] == "login") return login(args, environment, out, err);
  std::size_t consumed = 0;
  const Command* command = find_command(args, consumed);
  if (command == nullptr) {
    err << "spotgrid: no command \"" << args[0] << (args.size() > 1 ? " " + args[1] : "")
        << "\"; see spotgrid --help\n";
    return Exit::kUsage;
  }
  const std::string name =
      std::string(command->noun) + (*command->verb != '\0' ? std::string(" ") + command->verb : "");
  std::string problem;
  const auto parsed = parse_arguments(args, consumed, problem);
  if (!parsed) {
    err << "spotgrid " << name << ": " << problem << '\n';
    return Exit::kUsage;
  }
  if (parsed->flag("help")) {
    out << "usage: spotgrid " << name << ' ' << command->usage << " [--json]\n  " << command->help
        << '\n';
    return Exit::kOk;
  }
  if (const auto unknown = unknown_option(*parsed, command->usage)) {
    err << "spotgrid " << name << ": " << *unknown << " (usage: spotgrid " << name << ' '
        << command->usage << ")\n";
    return Exit::kUsage;
  }
  Config config;
  const auto target = target_of(environment, config, err);
  if (!target) return Exit::kUsage;
  Context context{client::Client(*target), config.api_key, *parsed, out, err, environment, config};
  try {
    command->run(context);
  } catch (const UsageError& usage) {
    err << "spotgrid " << name << ": " << usage.problem << " (usage: spotgrid " << name << ' '
        << command->usage << ")\n";
    return Exit::kUsage;
  } catch (const Failed& failed) {
    return failed.code;
  }
  return Exit::kOk;
}

}  // namespace spotgrid::cli
