// Market data: books, index, trades and index history
// (docs/architecture.md#market-data-and-streams).

#include "market_api.hpp"

#include "api_support.hpp"

namespace spotgrid::gateway {

namespace {

std::string book_body(const ledger::PoolRecord& record, std::string_view pool_name) {
  return json(200,
              [&](Writer& w) {
                field(w, "pool", pool_name);
                field(w, "index_micros_per_card_hour", record.index);
                write_depth(w, record.book);
              })
      .body;
}

}  // namespace

void pool_book(Api& api, std::string_view pool_name, const Respond& respond) {
  const auto pool = api.setup.catalog.find_pool(pool_name);
  if (!pool) return respond(error_response(404, "not_found", "no such pool", "pool"));
  const ledger::ReadModel& model = api.market.committed();
  const std::uint64_t seq = model.committed_seq();
  const auto record = model.pool(*pool);
  if (!model.ready() || !record) return respond(recovering());
  const auto body = api.books.body(*pool, *record, pool_name, book_body);
  respond(as_of(seq, HttpResponse{200, *body, "application/json", {}, {}}));
}

namespace {

HttpResponse no_pool() {
  return error_response(404, "not_found", "no such pool", "pool");
}

}  // namespace

void pool_index(Api& api, std::string_view pool_name, const Respond& respond) {
  const auto pool = api.setup.catalog.find_pool(pool_name);
  if (!pool) return respond(no_pool());
  const ledger::ReadModel& model = api.market.committed();
  const std::uint64_t seq = model.committed_seq();
  const auto record = model.pool(*pool);
  if (!model.ready() || !record) return respond(recovering());
  respond(as_of(seq, json(200, [&](Writer& w) {
                  field(w, "pool", pool_name);
                  field(w, "index_micros_per_card_hour", record->index);
                  field(w, "at", model.now());
                })));
}

void pool_trades(Api& api, std::string_view pool_name, const Respond& respond) {
  const auto pool = api.setup.catalog.find_pool(pool_name);
  if (!pool) return respond(no_pool());
  respond(from_store(api.reads.trades(*pool, 50)));
}

void pool_history(Api& api, std::string_view pool_name, const Respond& respond) {
  const auto pool = api.setup.catalog.find_pool(pool_name);
  if (!pool) return respond(no_pool());
  const ledger::ReadModel& model = api.market.committed();
  if (!model.ready()) return respond(recovering());
  const UnixSeconds now = model.now();
  respond(from_store(api.reads.index_history(*pool, now - 86'400, 1'000)));
}

}  // namespace spotgrid::gateway
