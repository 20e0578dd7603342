#pragma once
// Rows of one table, as the persister's writers (batch_writer.cpp,
// webhook_outbox.cpp) send them: many with COPY, a few as one INSERT added to
// the statements the batch sends in its next round trip. A COPY is two round
// trips however few its rows, and a small batch writes a dozen tables.
//
// Rows a statement only reads (a batch's folded changes) are staged: a few go
// as the one jsonb parameter of a statement prepared on the connection, many
// by COPY into a temporary table of the connection's. A transaction that
// touched a temporary table pays for emptying every one of them at COMMIT (ON
// COMMIT DELETE ROWS truncates each, and the TOAST tables of those with text
// columns: ~0.9 ms a commit in psql, half a small batch's COMMIT in the
// persister); one that touched none pays nothing.
#include <rapidjson/encodings.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <optional>
#include <pqxx/pqxx>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "spotgrid/util/check.hpp"
#include "spotgrid/util/text.hpp"

namespace spotgrid::ledger {

using Int = long long;  // pqxx converts long long, not every fixed-width alias

// From this many rows a table goes by COPY (its text is cheaper to parse
// than VALUES, and no statement grows without bound). Measured for INSERT …
// VALUES; staged rows use the same cut-off (as JSON up to 4 096 rows, the
// durable bench's saturation fell by ~7-10 %).
inline constexpr std::size_t kCopyFromRows = 64;

// Statements to send together, in one round trip.
class PendingSql {
 public:
  void add(std::string_view statement) { sql_ += statement; }
  // Sends what is pending (the last statement's result), and starts afresh.
  pqxx::result send(pqxx::transaction_base& txn) {
    if (sql_.empty()) return {};
    pqxx::result last = txn.exec(sql_);
    sql_.clear();
    return last;
  }
  // What is pending, to send some other way; nothing is pending after.
  std::string take() { return std::exchange(sql_, {}); }

 private:
  std::string sql_;
};

struct Column {
  const char* name;
  const char* type;  // as SQL spells it
};

// A temporary table of each persister connection, in which a batch stages rows.
struct StagingTable {
  const char* name;
  std::span<const Column> columns;
};

// A statement that reads a batch's staged rows as the FROM item `alias`. It is
// prepared on each persister connection (prepare_sql) with the rows as one
// jsonb parameter, so a few rows go as `EXECUTE name('[...]')` and PostgreSQL
// keeps its plan, where a VALUES list in the text was parsed and planned in
// every batch (~0.25 ms a statement on the 2-core machine, more than running
// it). Many rows go by COPY into `table`, and the statement runs as text over it.
struct StagedStatement {
  const char* name;
  const StagingTable& table;
  const char* alias;
  const char* before;  // the statement up to its FROM item
  const char* after;   // and from there on
};

// " (name type, ...)": a column definition list of `table`'s columns.
inline void add_column_definitions(const StagingTable& table, std::string& sql) {
  for (std::size_t i = 0; i < table.columns.size(); ++i) {
    sql += i == 0 ? " (" : ", ";
    sql += table.columns[i].name;
    sql += ' ';
    sql += table.columns[i].type;
  }
  sql += ')';
}

// CREATE TEMP TABLE IF NOT EXISTS for `table`, emptied at every COMMIT.
inline std::string create_sql(const StagingTable& table) {
  std::string sql = "CREATE TEMP TABLE IF NOT EXISTS ";
  sql += table.name;
  add_column_definitions(table, sql);
  sql += " ON COMMIT DELETE ROWS;";
  return sql;
}

// PREPARE for `statement`, its rows read from a JSON array of objects.
inline std::string prepare_sql(const StagedStatement& statement) {
  std::string sql = "PREPARE ";
  sql += statement.name;
  sql += " (jsonb) AS ";
  sql += statement.before;
  sql += "jsonb_to_recordset($1) AS ";
  sql += statement.alias;
  add_column_definitions(statement.table, sql);
  sql += statement.after;
  sql += ';';
  return sql;
}

template <typename... Columns>
class Rows {
 public:
  Rows(std::string table, std::vector<std::string> columns)
      : table_(std::move(table)), columns_(std::move(columns)) {}
  explicit Rows(const StagingTable& staging) : table_(staging.name) {
    SPOTGRID_CHECK(staging.columns.size() == sizeof...(Columns));
    for (const Column& column : staging.columns)
      columns_.emplace_back(column.name);
  }
  void add(Columns... values) { rows_.emplace_back(std::move(values)...); }
  bool empty() const { return rows_.empty(); }

  // Writes the rows after what is pending: by COPY (sending the pending
  // statements first, to keep the order), or as an INSERT added to them.
  // Nothing for an empty table.
  void write(pqxx::transaction_base& txn, PendingSql& pending) const {
    if (rows_.empty()) return;
    if (rows_.size() < kCopyFromRows && every_string(no_nul)) {
      std::string insert;
      if (as_insert(txn, insert)) {
        pending.add(insert);
        return;
      }
    }
    pending.send(txn);
    copy(txn);
  }

  // Adds `statement` over these staged rows to what is pending: EXECUTE with
  // the rows as JSON for a few, else a COPY into its table (after sending
  // what is pending) and the statement as text over that. Not for no rows.
  void stage(pqxx::transaction_base& txn, PendingSql& pending,
             const StagedStatement& statement) const {
    SPOTGRID_CHECK(!rows_.empty() && table_ == statement.table.name);
    if (rows_.size() < kCopyFromRows) {
      if (const std::optional<std::string> json = as_json()) {
        pending.add(std::string("EXECUTE ") + statement.name + "('" + txn.esc(*json) + "');");
        return;
      }
    }
    pending.send(txn);
    copy(txn);
    pending.add(std::string(statement.before) + table_ + ' ' + statement.alias + statement.after +
                ';');
  }

 private:
  // libpq's escaping ends a string at a NUL byte, which COPY refuses instead:
  // a NUL must fail the batch for its content (a 22 SQLSTATE), not be cut off.
  static bool no_nul(std::string_view text) { return text.find('\0') == std::string_view::npos; }

  // Whether `ok` holds for every std::string field of every row.
  template <typename Predicate>
  bool every_string(Predicate ok) const {
    const auto field_ok = [&](const auto& field) {
      if constexpr (std::is_same_v<std::decay_t<decltype(field)>, std::string>) return ok(field);
      return true;
    };
    for (const auto& row : rows_) {
      if (!std::apply([&](const auto&... field) { return (field_ok(field) && ...); }, row))
        return false;
    }
    return true;
  }

  void copy(pqxx::transaction_base& txn) const {
    pqxx::stream_to stream(txn, table_, columns_);
    for (const auto& row : rows_)
      stream << row;
    stream.complete();
  }

  // [{"column": value, ...}, ...] in ASCII (RapidJSON escapes the rest).
  // nullopt when a string is not UTF-8 (checked first: RapidJSON's decoder
  // would read past a truncated last character): COPY then lets PostgreSQL
  // refuse it for its content. A NUL byte goes as \u0000, which jsonb
  // refuses (22P05).
  std::optional<std::string> as_json() const {
    if (!every_string(util::is_utf8)) return std::nullopt;
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer, rapidjson::UTF8<>, rapidjson::ASCII<>> writer(
        buffer);
    bool ok = writer.StartArray();
    for (const auto& row : rows_) {
      ok = ok && writer.StartObject();
      std::apply(
          [&](const auto&... field) {
            std::size_t column = 0;
            ((ok = ok && writer.Key(columns_[column].c_str()) && add_json(writer, field), ++column),
             ...);
          },
          row);
      ok = ok && writer.EndObject();
    }
    ok = ok && writer.EndArray();
    if (!ok) return std::nullopt;
    return std::string(buffer.GetString(), buffer.GetSize());
  }

  template <typename Writer>
  static bool add_json(Writer& writer, Int value) {
    return writer.Int64(value);
  }
  template <typename Writer>
  static bool add_json(Writer& writer, const char* value) {
    return value == nullptr ? writer.Null() : writer.String(value);
  }
  template <typename Writer>
  static bool add_json(Writer& writer, const std::string& value) {
    return writer.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
  }

  // "INSERT INTO table (columns) VALUES (...), ...;".
  bool as_insert(pqxx::transaction_base& txn, std::string& sql) const {
    sql += "INSERT INTO ";
    sql += table_;
    add_column_list(sql);
    sql += " VALUES ";
    if (!add_values(txn, sql)) return false;
    sql += ';';
    return true;
  }

  void add_column_list(std::string& sql) const {
    for (std::size_t i = 0; i < columns_.size(); ++i) {
      sql += i == 0 ? " (" : ", ";
      sql += columns_[i];
    }
    sql += ')';
  }

  // "(...), (...)", every value escaped by libpq. False when libpq cannot
  // escape a value (a truncated multibyte character): COPY then lets
  // PostgreSQL refuse it for its content.
  bool add_values(pqxx::transaction_base& txn, std::string& sql) const {
    try {
      for (std::size_t r = 0; r < rows_.size(); ++r) {
        sql += r == 0 ? "(" : ", (";
        std::apply(
            [&](const auto&... field) {
              std::size_t column = 0;
              ((sql += column == 0 ? "" : ", ", add_literal(txn, field, sql), ++column), ...);
            },
            rows_[r]);
        sql += ')';
      }
      return true;
    } catch (const pqxx::argument_error&) {
      return false;
    }
  }

  // What txn.quote(value) gives: NULL, or the value escaped by libpq between
  // quotes (quote's own concatenation trips GCC 12's -Wrestrict once inlined).
  template <typename T>
  static void add_literal(pqxx::transaction_base& txn, const T& value, std::string& sql) {
    if (pqxx::string_traits<T>::is_null(value)) {
      sql += "NULL";
      return;
    }
    sql += '\'';
    sql += txn.esc(pqxx::to_string(value));
    sql += '\'';
  }

  std::string table_;
  std::vector<std::string> columns_;
  std::vector<std::tuple<Columns...>> rows_;
};

}  // namespace spotgrid::ledger
