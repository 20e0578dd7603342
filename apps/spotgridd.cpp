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

int main(int argc, char** argv) {
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

  try {
    spotgrid::gateway::Service service(std::get<spotgrid::gateway::Settings>(loaded));
    service.start();
    std::printf("spotgridd: listening on %s:%u\n",
                std::get<spotgrid::gateway::Settings>(loaded).listen_address.c_str(),
                static_cast<unsigned>(service.port()));
    std::fflush(stdout);
    const timespec poll{0, 200'000'000};
    std::string logged_error;  // /readyz shows a reason code; the details go here
    for (;;) {
      const int signal = sigtimedwait(&signals, nullptr, &poll);
      if (signal == SIGTERM || signal == SIGINT) break;
      const auto status = service.market_status();
      if (status.last_error != logged_error) {
        logged_error = status.last_error;
        std::fprintf(stderr, "spotgridd: storage: %s\n", logged_error.c_str());
      }
      if (!status.fatal_error.empty()) {
        std::fprintf(stderr, "spotgridd: cannot recover the market: %s\n",
                     status.fatal_error.c_str());
        service.drain_and_stop();
        return 1;
      }
    }
    std::printf("spotgridd: draining\n");
    std::fflush(stdout);
    service.drain_and_stop();
    std::printf("spotgridd: stopped\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "spotgridd: %s\n", e.what());
    return 2;
  }
  return 0;
}
