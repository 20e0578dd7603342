#pragma once
// Where the CLI finds its server and key: the environment (SPOTGRID_URL,
// SPOTGRID_API_KEY) over the config file `spotgrid login` writes
// (~/.config/spotgrid/config.json, or under $XDG_CONFIG_HOME).
#include <optional>
#include <string>

namespace spotgrid::cli {

inline constexpr const char* kDefaultUrl = "http://127.0.0.1:8080";

struct Config {
  std::string url;
  std::string api_key;
  std::string ca_file;  // HTTPS: the CA to trust; "": the system's
};

// The config file's path for this user ("" when HOME is unset too).
std::string config_path(const char* xdg_config_home, const char* home);
// The file's settings; an empty Config when there is none. Throws with the
// reason when it exists but is not a valid config.
Config load_config(const std::string& path);
// Writes the file readable by its owner only (it holds a key); throws with
// the reason when it cannot.
void save_config(const std::string& path, const Config& config);
// Whether the file exists and its group or others may read it.
bool config_readable_by_others(const std::string& path);

}  // namespace spotgrid::cli
