// spotgridd: the gateway, the engine and the persister in one process.
// Usage: spotgridd [--config FILE]   (default config/spotgridd.json; settings can
// be overridden from the environment, e.g. SPOTGRID_POSTGRES_CONNINFO)
// Exit: 0 after SIGTERM/SIGINT and a clean drain, 1 when the market cannot
// recover (a newer schema, a log that does not replay), 2 for a bad configuration.

#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <variant>

#include "spotgrid/gateway/service.hpp"
#include "spotgrid/util/log.hpp"

namespace {

int run(int argc, char** argv) {
  std::string config = "config/spotgridd.json";
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
      config = argv[++i];
    } else {
      std::fprintf(stderr, "usage: spotgridd [--config FILE]\n");
      return 2;
    }
  }
  auto loaded = spotgrid::gateway::load_settings(config);
  if (const auto* error = std::get_if<spotgrid::gateway::SettingsError>(&loaded)) {
    std::fprintf(stderr, "spotgridd: bad configuration: %s\n", error->message().c_str());
    return 2;
  }
  // Signals are taken synchronously below; block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const auto& settings = std::get<spotgrid::gateway::Settings>(loaded);
  namespace log = spotgrid::util::log;
  log::init({settings.log_level == "debug"   ? log::Level::kDebug
             : settings.log_level == "warn"  ? log::Level::kWarn
             : settings.log_level == "error" ? log::Level::kError
                                             : log::Level::kInfo,
             settings.log_file});
  try {
    spotgrid::gateway::Service service(settings);
    service.start();
    log::info("listening", {{"address", settings.listen_address},
                            {"port", static_cast<std::uint64_t>(service.port())}});
    // On standard output too, for whoever started it (tests and scripts read the port).
    std::printf("spotgridd: listening on %s:%u\n", settings.listen_address.c_str(),
                static_cast<unsigned>(service.port()));
    std::fflush(stdout);
    const timespec poll{0, 200'000'000};
    for (;;) {
      const int signal = sigtimedwait(&signals, nullptr, &poll);
      if (signal == SIGTERM || signal == SIGINT) break;
      // Storage failures and recoveries are logged where they happen.
      if (!service.market_status().fatal_error.empty()) {
        service.drain_and_stop();
        log::flush();
        return 1;
      }
    }
    log::info("draining");
    service.drain_and_stop();
    log::info("stopped");
    log::flush();
  } catch (const std::exception& e) {
    log::error("cannot_start", {{"cause", e.what()}});
    log::flush();
    return 2;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "spotgridd: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "spotgridd: stopped by an unknown exception\n");
  }
  return 2;
}
