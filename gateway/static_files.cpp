#include "static_files.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <stdexcept>

#include "spotgrid/gateway/auth.hpp"
#include "spotgrid/util/hex.hpp"

namespace spotgrid::gateway {

namespace {

namespace fs = std::filesystem;

// The types the console is made of; anything else under the root (a stray
// build file, say) is not served.
std::optional<std::string> content_type_of(const fs::path& file) {
  const std::string extension = file.extension().string();
  if (extension == ".html") return "text/html; charset=utf-8";
  if (extension == ".js" || extension == ".mjs") return "text/javascript; charset=utf-8";
  if (extension == ".css") return "text/css; charset=utf-8";
  if (extension == ".svg") return "image/svg+xml";
  if (extension == ".png") return "image/png";
  if (extension == ".ico") return "image/x-icon";
  if (extension == ".txt") return "text/plain; charset=utf-8";
  return std::nullopt;
}

// What every console page may do: its own scripts, styles and connections
// (the stream included), nothing from elsewhere, never framed.
void add_security_headers(HttpResponse& answer) {
  answer.headers.emplace_back("Content-Security-Policy",
                              "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
                              "style-src 'self'; frame-ancestors 'none'; base-uri 'none'");
  answer.headers.emplace_back("X-Content-Type-Options", "nosniff");
  answer.headers.emplace_back("Referrer-Policy", "no-referrer");
  answer.headers.emplace_back("Cache-Control", "no-cache");
}

}  // namespace

StaticFiles::StaticFiles(const std::string& root) {
  std::error_code error;
  if (root.empty() || !fs::is_directory(root, error)) return;
  std::size_t bytes = 0;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    const auto content_type = content_type_of(entry.path());
    if (!entry.is_regular_file() || !content_type) continue;
    static_assert(kMaxFiles == 512 && kMaxBytes == std::size_t{32} << 20, "the messages say so");
    if (files_.size() >= kMaxFiles) throw std::runtime_error("web.root: more than 512 files");
    bytes += entry.file_size();
    if (bytes > kMaxBytes) throw std::runtime_error("web.root: more than 32 MiB");
    std::ifstream in(entry.path(), std::ios::binary);
    std::string body{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    const SecretHash digest = hash_secret(body);
    // Built in place: GCC 12 -O3 warns (-Wrestrict) on "x" + std::string here.
    std::string etag = util::to_hex(digest.data(), 12);
    etag.insert(etag.begin(), '"');
    etag.push_back('"');
    std::string url = fs::relative(entry.path(), root).generic_string();
    url.insert(url.begin(), '/');
    files_.emplace(url, File{std::move(body), *content_type, etag});
  }
}

std::optional<HttpResponse> StaticFiles::serve(std::string_view path,
                                               std::string_view if_none_match) const {
  const auto found = files_.find(path == "/" ? std::string("/index.html") : std::string(path));
  if (found == files_.end()) return std::nullopt;
  const File& file = found->second;
  HttpResponse answer{200, "", file.content_type, {{"ETag", file.etag}}, {}};
  if (if_none_match == file.etag) {
    answer.status = 304;
  } else {
    answer.body = file.body;
  }
  add_security_headers(answer);
  return answer;
}

std::string default_web_root() {
  std::error_code error;
  const fs::path executable = fs::read_symlink("/proc/self/exe", error);
  if (error) return {};
  return (executable.parent_path().parent_path() / "console").string();
}

}  // namespace spotgrid::gateway
