#pragma once
// The web console's files (web/, built by scripts/build-web.sh), read into
// memory once at start so a page is served from the I/O thread without
// touching the disk. Only files found under the root at start are served:
// a request's path is a key in a map, never a path on the disk.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "spotgrid/gateway/http.hpp"

namespace spotgrid::gateway {

class StaticFiles {
 public:
  static constexpr std::size_t kMaxFiles = 512;
  static constexpr std::size_t kMaxBytes = std::size_t{32} << 20;

  // Loads every regular file under `root` ("" or missing: serves nothing);
  // throws when the root holds more than the limits allow.
  explicit StaticFiles(const std::string& root);

  // The answer to GET `path` ("/" is /index.html): 200, or 304 when
  // `if_none_match` names its ETag; nothing when no such file.
  std::optional<HttpResponse> serve(std::string_view path, std::string_view if_none_match) const;
  std::size_t files() const { return files_.size(); }

 private:
  struct File {
    std::string body;
    std::string content_type;
    std::string etag;
  };
  std::unordered_map<std::string, File> files_;  // by URL path ("/app.js")
};

// Where the console is when web.root is not set: `console/` beside the
// executable's directory (build/release/console for build/release/apps/spotgridd).
std::string default_web_root();

}  // namespace spotgrid::gateway
