#pragma once
// Canonical bytes for commands: what the durable log stores and recovery
// replays. Versioned by a leading byte; decode refuses anything it cannot read
// completely, so a corrupt log row stops recovery instead of changing history.
#include <optional>
#include <string>
#include <string_view>

#include "spotgrid/engine/command.hpp"

namespace spotgrid::engine {

std::string encode_command(const Command& command);
std::optional<Command> decode_command(std::string_view bytes);

// A tariff book's schedules (the genesis book a market pins); decode refuses
// bytes that are not a well-formed book.
std::string encode_tariff_book(const TariffBook& book);
std::optional<TariffBook> decode_tariff_book(std::string_view bytes);
// A catalog's models, likewise; decode refuses a model the catalog would not add.
std::string encode_catalog(const Catalog& catalog);
std::optional<Catalog> decode_catalog(std::string_view bytes);

// A stable lower-case name per command type ("place_order"), for logs and SQL.
std::string_view command_name(const CommandBody& body);

}  // namespace spotgrid::engine
