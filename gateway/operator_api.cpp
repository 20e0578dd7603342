#include "operator_api.hpp"

#include <algorithm>
#include <variant>

#include "api_support.hpp"
#include "spotgrid/engine/config.hpp"
#include "spotgrid/engine/limits.hpp"
#include "spotgrid/util/clock.hpp"

namespace spotgrid::gateway {
namespace {

constexpr int kAuditPage = 1'000;

// The answer to an operator's command: what it did, from its event.
template <typename Event, typename Fill>
void submit_control(Api& api, const engine::CommandBody& command, Respond respond,
                    const char* refused, Fill fill) {
  submit_then(api, command, std::move(respond), refused, [fill](const ledger::Completion& done) {
    const auto* event = first_event<Event>(done);
    if (event == nullptr)
      return error_response(500, "internal", "the market answered without its event");
    return json(200, [&](Writer& w) {
      fill(w, *event);
      field(w, "command_seq", done.command_seq);
    });
  });
}

// The controls take no body: anything sent is refused, not ignored.
bool without_body(const HttpRequest& request, const Respond& respond) {
  if (request.body.empty() || request.body == "{}") return true;
  respond(error_response(400, "invalid_body", "this route takes no body (or {})", "body"));
  return false;
}

}  // namespace

void halt_pool(Api& api, const Principal& caller, const HttpRequest& request,
               std::string_view pool_name, bool halted, Respond respond) {
  if (caller.role != Role::kOperator) return respond(forbidden());
  if (!without_body(request, respond)) return;
  const auto pool = api.setup.catalog.find_pool(pool_name);
  if (!pool) return respond(error_response(404, "not_found", "no such pool", "pool"));
  submit_control<engine::PoolHalted>(
      api, engine::HaltPool{*pool, halted}, std::move(respond), "the market refused the halt",
      [name = std::string(pool_name)](Writer& w, const engine::PoolHalted& done) {
        field(w, "pool", name);
        field(w, "halted", done.halted);
      });
}

void suspend_account(Api& api, const Principal& caller, const HttpRequest& request,
                     AccountId account, bool suspended, Respond respond) {
  if (caller.role != Role::kOperator) return respond(forbidden());
  if (!suspended && !without_body(request, respond)) return;
  JsonBody body(request.body.empty() ? std::string_view("{}") : std::string_view(request.body));
  body.only({"stop_leases"});
  const bool stop_leases = body.has("stop_leases") && body.boolean("stop_leases").value_or(false);
  if (body.problem()) return respond(bad_request(*body.problem()));
  const auto exists = api.keys.account_exists(account);
  if (!exists) return respond(error_response(503, "unavailable", "storage is unavailable"));
  if (!*exists) return respond(error_response(404, "not_found", "no such account", "account_id"));
  submit_control<engine::AccountSuspended>(
      api, engine::SuspendAccount{account, suspended, stop_leases}, std::move(respond),
      "the market refused the suspension", [](Writer& w, const engine::AccountSuspended& done) {
        field(w, "account_id", done.account);
        field(w, "suspended", done.suspended);
        field(w, "leases_stopped", done.leases_stopped);
      });
}

void platform_fee(Api& api, const Principal& caller, const Respond& respond) {
  if (caller.role != Role::kOperator && caller.role != Role::kFinance) return respond(forbidden());
  // The live engine's: it may include a fee change whose commit is pending.
  const std::optional<ledger::Outcome> refused = api.market.query(
      [respond, configured = api.settings.platform_fee_bp](const engine::Engine* engine) {
        if (engine == nullptr) return respond(recovering());
        respond(json(200, [&](Writer& w) {
          field(w, "fee_bp", std::int64_t{engine->platform_fee_bp()});
          field(w, "configured_bp", configured);
        }));
      });
  if (refused) respond(not_committed(*refused));
}

void set_platform_fee(Api& api, const Principal& caller, const HttpRequest& request,
                      Respond respond) {
  if (caller.role != Role::kOperator) return respond(forbidden());
  JsonBody body(request.body);
  body.only({"fee_bp"});
  const auto fee = body.integer("fee_bp", 0, limits::kMaxPlatformFeeBp);
  if (body.problem()) return respond(bad_request(*body.problem()));
  submit_control<engine::PlatformFeeSet>(
      api, engine::SetPlatformFee{static_cast<BasisPoints>(*fee)}, std::move(respond),
      "the market refused the fee", [](Writer& w, const engine::PlatformFeeSet& done) {
        field(w, "fee_bp", std::int64_t{done.fee_bp});
        field(w, "previous_bp", std::int64_t{done.previous_bp});
      });
}

namespace {

// The schedule's regions in the book's order, or why they are not the book's.
std::variant<std::vector<engine::TariffRegion>, FieldProblem> in_book_order(
    const engine::TariffBook& book, std::vector<engine::TariffRegion> regions) {
  std::vector<engine::TariffRegion> ordered;
  for (std::size_t index = 0; index < book.region_count(); ++index) {
    const std::string& name = book.region_name(static_cast<RegionIndex>(index));
    const auto it = std::find_if(regions.begin(), regions.end(),
                                 [&](const engine::TariffRegion& r) { return r.region == name; });
    if (it == regions.end())
      return FieldProblem{"regions",
                          "must list every region of the market; " + name + " is missing"};
    ordered.push_back(std::move(*it));
  }
  if (regions.size() != ordered.size())
    return FieldProblem{"regions", "names a region the market does not have"};
  return ordered;
}

}  // namespace

void publish_tariff_schedule(Api& api, const Principal& caller, const HttpRequest& request,
                             Respond respond) {
  if (caller.role != Role::kOperator) return respond(forbidden());
  JsonBody body(request.body);
  body.only({"effective_from", "regions"});
  const auto effective_from = body.integer("effective_from", 0, std::int64_t{1} << 40);
  if (body.problem()) return respond(bad_request(*body.problem()));
  auto regions = engine::parse_tariff_regions(request.body, "body");
  if (!regions)
    return respond(bad_request(FieldProblem{regions.error().field, regions.error().problem}));
  const ledger::ReadModel& model = api.market.committed();
  const auto book = model.tariffs();
  if (!model.ready() || !book) return respond(recovering());
  auto ordered = in_book_order(*book, std::move(regions).value());
  if (const auto* problem = std::get_if<FieldProblem>(&ordered))
    return respond(bad_request(*problem));
  engine::TariffSchedule schedule{*effective_from,
                                  std::get<std::vector<engine::TariffRegion>>(std::move(ordered))};
  // Checked here for a precise reason; the engine checks again at its own time
  // (its clock never behind the last committed command's).
  if (auto refused = book->refusal(schedule, std::max(model.now(), util::unix_now())))
    return respond(bad_request(FieldProblem{refused->field, std::move(refused->problem)}));
  submit_control<engine::TariffSchedulePublished>(
      api, engine::PublishTariffSchedule{std::move(schedule)}, std::move(respond),
      "the market refused the schedule",
      [](Writer& w, const engine::TariffSchedulePublished& done) {
        field(w, "version", std::uint64_t{done.version});
        field(w, "effective_from", done.effective_from);
      });
}

void add_gpu_model(Api& api, const Principal& caller, const HttpRequest& request, Respond respond) {
  if (caller.role != Role::kOperator) return respond(forbidden());
  auto model = engine::parse_gpu_model(request.body, "body");
  if (!model) {
    const engine::ConfigError& error = model.error();
    return respond(
        bad_request(FieldProblem{error.field == "(document)" ? "" : error.field, error.problem}));
  }
  // Checked here for a precise reason; the engine checks again (the names here
  // may trail the market's by a commit).
  if (const auto refused = api.setup.catalog.refusal(model.value()))
    return respond(bad_request(FieldProblem{refused->field, refused->problem}));
  submit_control<engine::GpuModelAdded>(
      api, engine::AddGpuModel{model.value()}, std::move(respond), "the market refused the model",
      [name = model.value().model](Writer& w, const engine::GpuModelAdded& done) {
        field(w, "pool", name);
        field(w, "pool_index", std::uint64_t{done.pool});
      });
}

void quarantine_node(Api& api, const Principal& caller, const HttpRequest& request, NodeId node,
                     bool quarantined, Respond respond) {
  if (caller.role != Role::kOperator) return respond(forbidden());
  if (!without_body(request, respond)) return;
  submit_control<engine::NodeQuarantined>(api, engine::QuarantineNode{node, quarantined},
                                          std::move(respond), "the market refused the quarantine",
                                          [](Writer& w, const engine::NodeQuarantined& done) {
                                            field(w, "node_id", done.node);
                                            field(w, "supplier_id", done.supplier);
                                            field(w, "quarantined", done.quarantined);
                                          });
}

void operator_audit(Api& api, const Principal& caller, const HttpRequest& request,
                    const Respond& respond) {
  if (!is_platform_role(caller.role)) return respond(forbidden());
  const auto range = time_range(api, request, respond);
  if (!range) return;
  std::uint64_t after = 0;
  if (const auto cursor = query_value(request.target, "cursor")) {
    const auto seq = id_of<std::int64_t>(*cursor);
    if (!seq) {
      return respond(error_response(400, "invalid_query",
                                    "cursor must be the next_cursor of a page", "cursor"));
    }
    after = static_cast<std::uint64_t>(*seq);
  }
  respond(from_store(api.reads.operator_actions(range->first, range->second, after, kAuditPage)));
}

}  // namespace spotgrid::gateway
