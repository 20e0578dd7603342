#include "config.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "spotgrid/util/json.hpp"

namespace spotgrid::cli {

std::string config_path(const char* xdg_config_home, const char* home) {
  if (xdg_config_home != nullptr && *xdg_config_home != '\0')
    return std::string(xdg_config_home) + "/spotgrid/config.json";
  if (home != nullptr && *home != '\0') return std::string(home) + "/.config/spotgrid/config.json";
  return {};
}

Config load_config(const std::string& path) {
  Config config;
  std::ifstream in(path);
  if (path.empty() || !in) return config;
  std::stringstream text;
  text << in.rdbuf();
  rapidjson::Document document;
  if (auto problem = util::parse_json(document, text.str(), std::size_t{64} * 1024); problem)
    throw std::runtime_error(path + ": " + *problem);
  if (!document.IsObject()) throw std::runtime_error(path + ": not a JSON object");
  const auto text_of = [&](const char* name, std::string& into) {
    if (!document.HasMember(name)) return;
    if (!document[name].IsString()) throw std::runtime_error(path + ": " + name + " must be text");
    into = document[name].GetString();
  };
  text_of("url", config.url);
  text_of("api_key", config.api_key);
  text_of("ca_file", config.ca_file);
  return config;
}

void save_config(const std::string& path, const Config& config) {
  if (path.empty()) throw std::runtime_error("no home directory to keep the config in");
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("url");
  w.String(config.url.c_str());
  w.Key("api_key");
  w.String(config.api_key.c_str());
  if (!config.ca_file.empty()) {
    w.Key("ca_file");
    w.String(config.ca_file.c_str());
  }
  w.EndObject();
  const std::string staging = path + ".new";
  {
    const mode_t old_mask = ::umask(077);  // created 0600: it holds a key
    std::ofstream out(staging, std::ios::trunc);
    ::umask(old_mask);
    out << buffer.GetString() << '\n';
    if (!out) throw std::runtime_error("cannot write " + staging);
  }
  std::filesystem::permissions(
      staging, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  std::filesystem::rename(staging, path);
}

bool config_readable_by_others(const std::string& path) {
  struct stat status {};
  return !path.empty() && ::stat(path.c_str(), &status) == 0 && (status.st_mode & 077) != 0;
}

}  // namespace spotgrid::cli
