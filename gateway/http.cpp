#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>

#include "spotgrid/gateway/http.hpp"

namespace spotgrid::gateway {

namespace {

// Header names are ASCII tokens (RFC 9110), so case folds without the locale
// (std::tolower, a call per character, was ~1 % of serving a book GET).
char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool same_name(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

}  // namespace

std::string_view HttpRequest::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (same_name(key, name)) return value;
  }
  return {};
}

bool is_json_media_type(std::string_view content_type) {
  constexpr std::string_view kJson = "application/json";
  if (!same_name(content_type.substr(0, kJson.size()), kJson)) return false;
  const std::string_view rest = content_type.substr(kJson.size());
  const std::size_t next = rest.find_first_not_of(" \t");
  return next == std::string_view::npos || rest[next] == ';';
}

std::size_t HttpRequest::header_count(std::string_view name) const {
  return static_cast<std::size_t>(
      std::count_if(headers.begin(), headers.end(),
                    [&](const auto& header) { return same_name(header.first, name); }));
}

namespace {

// The names of the target's query, in order ("a=1&&b" gives a and b).
std::vector<std::string_view> query_names(std::string_view target) {
  std::vector<std::string_view> names;
  const std::size_t question = target.find('?');
  if (question == std::string_view::npos) return names;
  for (std::string_view query = target.substr(question + 1); !query.empty();) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    if (!pair.empty()) names.push_back(pair.substr(0, pair.find('=')));
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
  }
  return names;
}

}  // namespace

std::optional<std::string_view> unknown_query_name(std::string_view target,
                                                   std::string_view known) {
  for (const std::string_view name : query_names(target)) {
    bool listed = false;
    for (std::size_t at = 0; at < known.size() && !listed;) {
      const std::size_t space = std::min(known.find(' ', at), known.size());
      listed = known.substr(at, space - at) == name;
      at = space + 1;
    }
    if (!listed) return name;
  }
  return std::nullopt;
}

std::optional<std::string_view> repeated_query_name(std::string_view target) {
  std::vector<std::string_view> names = query_names(target);
  std::sort(names.begin(), names.end());  // a long query costs n log n, not n^2
  const auto twice = std::adjacent_find(names.begin(), names.end());
  if (twice == names.end()) return std::nullopt;
  return *twice;
}

void HttpRequest::set_header(std::string_view name, std::string value) {
  for (auto& [key, held] : headers) {
    if (same_name(key, name)) {
      held = std::move(value);
      return;
    }
  }
  headers.emplace_back(std::string(name), std::move(value));
}

HttpResponse error_response(unsigned status, std::string_view code, std::string_view message,
                            std::string_view field) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  const auto string = [&](std::string_view text) {
    writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  };
  writer.StartObject();
  writer.Key("error");
  writer.StartObject();
  writer.Key("code");
  string(code);
  writer.Key("message");
  string(message);
  writer.Key("field");
  if (field.empty()) {
    writer.Null();
  } else {
    string(field);
  }
  writer.EndObject();
  writer.EndObject();
  return HttpResponse{
      status, std::string(buffer.GetString(), buffer.GetSize()), "application/json", {}, {}};
}

}  // namespace spotgrid::gateway
