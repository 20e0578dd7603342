#include "spotgrid/engine/codec.hpp"

#include "archive.hpp"

namespace spotgrid::engine {

// Field lists in the commands' namespace, where the archive finds them.
template <typename A, typename R>
requires std::is_same_v<std::remove_const_t<R>, Deposit> ||
    std::is_same_v<std::remove_const_t<R>, Withdraw>
void fields(A& a, R& r) {
  a(r.account, r.amount);
}
template <typename A, typename R>
requires std::is_same_v<std::remove_const_t<R>, RegisterNode>
void fields(A& a, R& r) {
  a(r.supplier, r.pool, r.region, r.zone, r.cards, r.measured_cu, r.reliability);
}
template <typename A, typename R>
requires std::is_same_v<std::remove_const_t<R>, AddListing>
void fields(A& a, R& r) {
  a(r.supplier, r.node, r.cards, r.reserve_micros_per_card_hour, r.floating, r.from, r.until);
}
template <typename A, typename R>
requires std::is_same_v<std::remove_const_t<R>, WithdrawListing>
void fields(A& a, R& r) {
  a(r.supplier, r.listing);
}
template <typename A, typename R>
requires std::is_same_v<std::remove_const_t<R>, PlaceOrder>
void fields(A& a, R& r) {
  a(r.spec);
}
template <typename A, typename R>
requires std::is_same_v<std::remove_const_t<R>, CancelOrder>
void fields(A& a, R& r) {
  a(r.buyer, r.order);
}
template <typename A, typename R>
requires std::is_same_v<std::remove_const_t<R>, AmendOrder>
void fields(A& a, R& r) {
  a(r.buyer, r.order, r.cards, r.limit_micros_per_hour);
}
template <typename A, typename R>
requires std::is_same_v<std::remove_const_t<R>, StopLease>
void fields(A& a, R& r) {
  a(r.buyer, r.lease);
}
template <typename A, typename R>
requires std::is_same_v<std::remove_const_t<R>, ReclaimLease>
void fields(A& a, R& r) {
  a(r.supplier, r.lease);
}
template <typename A, typename R>
requires std::is_same_v<std::remove_const_t<R>, InterruptLease>
void fields(A& a, R& r) {
  a(r.lease, r.last_good_second);
}
template <typename A, typename R>
requires std::is_same_v<std::remove_const_t<R>, SettleLease>
void fields(A& a, R& r) {
  a(r.lease, r.healthy_seconds, r.weighted_bp_seconds, r.up_to);
}
template <typename A, typename R>
requires std::is_same_v<std::remove_const_t<R>, Payout>
void fields(A& a, R& r) {
  a(r.supplier, r.amount);
}
template <typename A, typename R>
requires std::is_same_v<std::remove_const_t<R>, SetPayoutSchedule>
void fields(A& a, R& r) {
  a(r.supplier, r.daily, r.minimum);
}
template <typename A, typename R>
requires std::is_same_v<std::remove_const_t<R>, HaltPool>
void fields(A& a, R& r) {
  a(r.pool, r.halted);
}
template <typename A, typename R>
requires std::is_same_v<std::remove_const_t<R>, SuspendAccount>
void fields(A& a, R& r) {
  a(r.account, r.suspended, r.stop_leases);
}
template <typename A, typename R>
requires std::is_same_v<std::remove_const_t<R>, QuarantineNode>
void fields(A& a, R& r) {
  a(r.node, r.quarantined);
}
template <typename A, typename R>
requires std::is_same_v<std::remove_const_t<R>, SetPlatformFee>
void fields(A& a, R& r) {
  a(r.fee_bp);
}
template <typename A, typename R>
requires std::is_same_v<std::remove_const_t<R>, PublishTariffSchedule>
void fields(A& a, R& r) {
  a(r.schedule);
}
template <typename A, typename R>
requires std::is_same_v<std::remove_const_t<R>, AddGpuModel>
void fields(A& a, R& r) {
  a(r.model);
}
template <typename A, typename R>
requires std::is_same_v<std::remove_const_t<R>, Tick>
void fields(A&, R&) {}

namespace {

constexpr std::uint8_t kCodecVersion = 1;

template <std::size_t I = 0>
bool read_alternative(archive::Reader& reader, std::size_t index, CommandBody& body) {
  if constexpr (I < std::variant_size_v<CommandBody>) {
    if (index != I) return read_alternative<I + 1>(reader, index, body);
    std::variant_alternative_t<I, CommandBody> value{};
    reader(value);
    body = value;
    return true;
  } else {
    return false;
  }
}

}  // namespace

std::string encode_command(const Command& command) {
  archive::Writer writer;
  writer(kCodecVersion, command.now, static_cast<std::uint8_t>(command.body.index()));
  std::visit([&](const auto& body) { writer(body); }, command.body);
  return writer.take();
}

std::optional<Command> decode_command(std::string_view bytes) {
  archive::Reader reader(bytes);
  std::uint8_t version = 0;
  std::uint8_t index = 0;
  Command command;
  reader(version, command.now, index);
  if (!reader.ok() || version != kCodecVersion) return std::nullopt;
  if (!read_alternative(reader, index, command.body) || !reader.finished()) return std::nullopt;
  return command;
}

// The pinned rules' own format, apart from the commands' (a pin outlives them).
constexpr std::uint8_t kRulesFormat = 1;

std::string encode_tariff_book(const TariffBook& book) {
  archive::Writer writer;
  writer(kRulesFormat, book.published(), book.versions(), book.schedules());
  return writer.take();
}

std::optional<TariffBook> decode_tariff_book(std::string_view bytes) {
  archive::Reader reader(bytes);
  std::uint8_t format = 0;
  std::uint32_t published = 0;
  std::vector<std::uint32_t> versions;
  std::vector<TariffSchedule> schedules;
  reader(format, published, versions, schedules);
  if (!reader.finished() || format != kRulesFormat ||
      !TariffBook::well_formed(schedules, versions, published))
    return std::nullopt;
  return TariffBook(std::move(schedules), versions, published);
}

std::string encode_catalog(const Catalog& catalog) {
  archive::Writer writer;
  writer(kRulesFormat, catalog.models());
  return writer.take();
}

std::optional<Catalog> decode_catalog(std::string_view bytes) {
  archive::Reader reader(bytes);
  std::uint8_t format = 0;
  std::vector<GpuModel> models;
  reader(format, models);
  if (!reader.finished() || format != kRulesFormat) return std::nullopt;
  return Catalog::of(models);
}

std::string_view command_name(const CommandBody& body) {
  struct Name {
    std::string_view operator()(const Deposit&) const { return "deposit"; }
    std::string_view operator()(const Withdraw&) const { return "withdraw"; }
    std::string_view operator()(const RegisterNode&) const { return "register_node"; }
    std::string_view operator()(const AddListing&) const { return "add_listing"; }
    std::string_view operator()(const WithdrawListing&) const { return "withdraw_listing"; }
    std::string_view operator()(const PlaceOrder&) const { return "place_order"; }
    std::string_view operator()(const CancelOrder&) const { return "cancel_order"; }
    std::string_view operator()(const AmendOrder&) const { return "amend_order"; }
    std::string_view operator()(const StopLease&) const { return "stop_lease"; }
    std::string_view operator()(const ReclaimLease&) const { return "reclaim_lease"; }
    std::string_view operator()(const InterruptLease&) const { return "interrupt_lease"; }
    std::string_view operator()(const SettleLease&) const { return "settle_lease"; }
    std::string_view operator()(const Tick&) const { return "tick"; }
    std::string_view operator()(const Payout&) const { return "payout"; }
    std::string_view operator()(const SetPayoutSchedule&) const { return "set_payout_schedule"; }
    std::string_view operator()(const HaltPool&) const { return "halt_pool"; }
    std::string_view operator()(const SuspendAccount&) const { return "suspend_account"; }
    std::string_view operator()(const QuarantineNode&) const { return "quarantine_node"; }
    std::string_view operator()(const SetPlatformFee&) const { return "set_platform_fee"; }
    std::string_view operator()(const PublishTariffSchedule&) const {
      return "publish_tariff_schedule";
    }
    std::string_view operator()(const AddGpuModel&) const { return "add_gpu_model"; }
  };
  return std::visit(Name{}, body);
}

}  // namespace spotgrid::engine
