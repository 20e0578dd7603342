#pragma once
// The one way the project reads JSON: RapidJSON's iterative (non-recursive)
// reader, UTF-8 validated, with a nesting limit and a size limit. Text that
// breaks either is an error with a message fit for a 400, never a stack
// overflow.
#include <rapidjson/document.h>
#include <rapidjson/encodedstream.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "spotgrid/engine/limits.hpp"

namespace spotgrid::util {

namespace detail {

// Forwards SAX events to `Inner` (the document being built), refusing to open
// a container deeper than `max_depth`.
template <typename Inner>
class DepthLimitedHandler {
 public:
  DepthLimitedHandler(Inner& inner, std::size_t max_depth) : inner_(inner), max_depth_(max_depth) {}
  bool too_deep() const { return too_deep_; }

  bool Null() { return inner_.Null(); }
  bool Bool(bool b) { return inner_.Bool(b); }
  bool Int(int i) { return inner_.Int(i); }
  bool Uint(unsigned u) { return inner_.Uint(u); }
  bool Int64(std::int64_t i) { return inner_.Int64(i); }
  bool Uint64(std::uint64_t u) { return inner_.Uint64(u); }
  bool Double(double d) { return inner_.Double(d); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool copy) {
    return inner_.RawNumber(s, n, copy);
  }
  bool String(const char* s, rapidjson::SizeType n, bool copy) { return inner_.String(s, n, copy); }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) { return inner_.Key(s, n, copy); }
  bool StartObject() { return open() && inner_.StartObject(); }
  bool EndObject(rapidjson::SizeType members) {
    --depth_;
    return inner_.EndObject(members);
  }
  bool StartArray() { return open() && inner_.StartArray(); }
  bool EndArray(rapidjson::SizeType elements) {
    --depth_;
    return inner_.EndArray(elements);
  }

 private:
  bool open() {
    if (++depth_ <= max_depth_) return true;
    too_deep_ = true;
    return false;
  }

  Inner& inner_;
  std::size_t max_depth_;
  std::size_t depth_ = 0;
  bool too_deep_ = false;
};

}  // namespace detail

// Parses `text` into `document`. nullopt when it is JSON within the limits;
// otherwise why not (the document is then left null).
inline std::optional<std::string> parse_json(rapidjson::Document& document, std::string_view text,
                                             std::size_t max_bytes,
                                             std::size_t max_depth = limits::kMaxJsonDepth) {
  document.SetNull();
  if (text.size() > max_bytes)
    return "the JSON text is longer than " + std::to_string(max_bytes) + " bytes";
  // The reader takes a NUL byte for the end of the text, which would hide what
  // follows it; JSON never holds one outside an escape (\u0000).
  if (text.find('\0') != std::string_view::npos) return "the JSON text holds a NUL byte";
  std::optional<std::string> error;
  auto generate = [&](rapidjson::Document& handler) {
    detail::DepthLimitedHandler<rapidjson::Document> limited(handler, max_depth);
    rapidjson::MemoryStream bytes(text.data(), text.size());
    rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> stream(bytes);
    rapidjson::Reader reader;
    const rapidjson::ParseResult result =
        reader.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(
            stream, limited);
    if (limited.too_deep()) {
      error = "the JSON nests deeper than " + std::to_string(max_depth) + " levels";
    } else if (result.IsError()) {
      error = std::string(rapidjson::GetParseError_En(result.Code())) + " at offset " +
              std::to_string(result.Offset());
    }
    return !error.has_value();
  };
  document.Populate(generate);
  if (error) document.SetNull();
  return error;
}

// The first member name that `object` holds twice, if any. A repeated name is
// ambiguous (which one counts?), so readers refuse it. Quadratic: for the
// small objects of the API (a batch's samples are checked one by one).
inline std::optional<std::string_view> repeated_name(const rapidjson::Value& object) {
  for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it) {
    const std::string_view name(it->name.GetString(), it->name.GetStringLength());
    for (auto earlier = object.MemberBegin(); earlier != it; ++earlier) {
      if (std::string_view(earlier->name.GetString(), earlier->name.GetStringLength()) == name)
        return name;
    }
  }
  return std::nullopt;
}

}  // namespace spotgrid::util
