// spotgrid-bench-export: billing export rows per second and the exporter's
// peak resident memory, for a range and for ten times that range.
//
// A fresh database is loaded in bulk (SQL, triggers off for the load only) with
// --leases leases each settled once an hour for --hours hours: leases x hours
// export rows, each from one settlement transaction with its three entries.
// Then the FOCUS export is read to the end through the same cursor the server
// streams from: first a tenth of the hours, then all of them. Peak RSS is read
// after each (VmHWM): if it does not grow with the range, memory is constant.
//
// Usage: spotgrid-bench-export --conninfo "host=... dbname=postgres" [--config DIR]
//          [--leases L] [--hours H] [--runs R]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "bench_support.hpp"
#include "spotgrid/finance/export.hpp"
#include "spotgrid/ledger/schema.hpp"

namespace {

using namespace spotgrid;
using Clock = std::chrono::steady_clock;
constexpr UnixSeconds kFirstHour = 1'767'225'600;  // 2026-01-01T00:00:00Z

struct Args {
  std::string conninfo;
  std::string config = "config";
  long long leases = 10'000;
  long long hours = 100;
  int runs = 3;
};

Args parse(int argc, char** argv) {
  Args args;
  bench::parse_flags(argc, argv,
                     {
                         {"--conninfo", [&](const std::string& v) { args.conninfo = v; }},
                         {"--config", [&](const std::string& v) { args.config = v; }},
                         {"--leases", [&](const std::string& v) { args.leases = std::stoll(v); }},
                         {"--hours", [&](const std::string& v) { args.hours = std::stoll(v); }},
                         {"--runs", [&](const std::string& v) { args.runs = std::stoi(v); }},
                     });
  if (args.conninfo.empty() || args.leases < 1 || args.hours < 10 || args.runs < 1) {
    std::fprintf(stderr,
                 "usage: spotgrid-bench-export --conninfo CONNINFO [--leases L>0] [--hours H>=10] "
                 "[--runs R>0]\n");
    std::exit(2);
  }
  return args;
}

long long peak_rss_kib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

// Leases on 100 nodes of 10 buyers and 10 suppliers, settled hourly.
void load(const std::string& conninfo, const Args& args) {
  pqxx::connection connection(conninfo);
  ledger::migrate(connection);
  pqxx::work txn(connection);
  txn.exec("SET session_replication_role = replica");  // the load only: no ledger triggers
  const std::string leases = std::to_string(args.leases);
  const std::string hours = std::to_string(args.hours);
  txn.exec(
      "INSERT INTO nodes SELECT n, 1000 + n % 10, 0, 0, 0, 8, 0, 10000, 0"
      " FROM generate_series(1, 100) n");
  txn.exec(
      "INSERT INTO accounts (name, role) SELECT 'buyer ' || b, 'buyer'"
      " FROM generate_series(1, 10) b");
  txn.exec(
      "INSERT INTO leases (lease_id, order_id, listing_id, node_id, buyer_id, supplier_id,"
      " pool, cards, card_mask, price, started_at, planned_end, billable_end, status)"
      " SELECT l, l, 1 + l % 100, 1 + l % 100, 1 + l % 10, 1000 + (1 + l % 100) % 10, 0, 8,"
      " 255, 2000000, " +
      std::to_string(kFirstHour) + ", " + std::to_string(kFirstHour) + " + " + hours + " * 3600, " +
      std::to_string(kFirstHour) + " + " + hours + " * 3600, 'running' FROM generate_series(1, " +
      leases + ") l");
  // Transaction (lease, hour) = hour * leases + lease, settled 30 minutes into the hour.
  txn.exec(
      "INSERT INTO ledger_transactions (txn_id, command_seq, at, kind, lease_id)"
      " SELECT h * " +
      leases + " + l, h * " + leases + " + l, " + std::to_string(kFirstHour) +
      " + h * 3600 + 1800, 'settlement', l"
      " FROM generate_series(0, " +
      hours + " - 1) h, generate_series(1, " + leases + ") l");
  txn.exec(
      "INSERT INTO ledger_entries (txn_id, owner_id, account, amount)"
      " SELECT t.txn_id, l.buyer_id, 'hold'::ledger_account, -16000000 FROM ledger_transactions t"
      " JOIN leases l ON l.lease_id = t.lease_id"
      " UNION ALL SELECT t.txn_id, l.supplier_id, 'receivable'::ledger_account, 15200000"
      " FROM ledger_transactions t JOIN leases l ON l.lease_id = t.lease_id"
      " UNION ALL SELECT t.txn_id, 0, 'revenue'::ledger_account, 800000 FROM ledger_transactions "
      "t");
  txn.commit();
  pqxx::nontransaction analyze(connection);
  analyze.exec("ANALYZE");
}

struct Pass {
  long long rows = 0;
  double rows_per_s = 0;
  long long peak_rss_kib = 0;
  long long bytes = 0;
};

Pass export_hours(const std::string& conninfo, const ledger::MarketSetup& setup, long long hours) {
  finance::ExportRequest request;
  request.from = kFirstHour;
  request.to = kFirstHour + hours * 3'600;
  request.format = finance::ExportFormat::kFocus;
  const auto begin = Clock::now();
  finance::ExportCursor cursor(conninfo, request, setup.catalog, setup.tariffs);
  Pass pass;
  while (const auto page = cursor.next()) {
    pass.bytes += static_cast<long long>(page->size());
    for (const char c : *page)
      pass.rows += c == '\n' ? 1 : 0;
  }
  pass.rows -= 1;  // the header
  const double seconds = std::chrono::duration<double>(Clock::now() - begin).count();
  pass.rows_per_s = static_cast<double>(pass.rows) / seconds;
  pass.peak_rss_kib = peak_rss_kib();
  return pass;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  const auto setup = bench::load_setup(args.config);
  if (!setup) return 1;
  bench::RunDatabase db(args.conninfo, 0);
  const auto load_begin = Clock::now();
  load(db.conninfo(), args);
  std::fprintf(stderr, "loaded %lld settlements in %.1f s\n", args.leases * args.hours,
               std::chrono::duration<double>(Clock::now() - load_begin).count());
  std::vector<Pass> small;
  std::vector<Pass> large;
  for (int run = 0; run < args.runs; ++run) {
    small.push_back(export_hours(db.conninfo(), *setup, args.hours / 10));
    large.push_back(export_hours(db.conninfo(), *setup, args.hours));
    std::fprintf(stderr, "run %d: %lld rows at %.0f rows/s, %lld rows at %.0f rows/s\n", run,
                 small.back().rows, small.back().rows_per_s, large.back().rows,
                 large.back().rows_per_s);
  }
  const auto field = [](const std::vector<Pass>& passes, auto member) {
    return bench::median_of(passes, member);
  };
  // Peak RSS only grows: the first small pass is the baseline, the last large one the end.
  std::printf(
      "{\"bench\":\"export\",\"format\":\"focus\",\"runs\":%d,"
      "\"small\":{\"rows\":%.0f,\"rows_per_s\":%.0f,\"bytes\":%.0f,\"peak_rss_kib\":%lld},"
      "\"large\":{\"rows\":%.0f,\"rows_per_s\":%.0f,\"bytes\":%.0f,\"peak_rss_kib\":%lld}}\n",
      args.runs, field(small, &Pass::rows), field(small, &Pass::rows_per_s),
      field(small, &Pass::bytes), small.front().peak_rss_kib, field(large, &Pass::rows),
      field(large, &Pass::rows_per_s), field(large, &Pass::bytes), large.back().peak_rss_kib);
  return 0;
}
