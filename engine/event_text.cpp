#include "spotgrid/engine/event_text.hpp"

#include "spotgrid/engine/event_fields.hpp"

#include <charconv>
#include <string>
#include <type_traits>

namespace spotgrid::engine {
namespace {

// Appends with std::to_chars: the persister writes one line per event, so this
// is on the durable path.
class Line {
 public:
  explicit Line(const Event& event) {
    out_ += '#';
    number(event.event_seq);
    out_ += " cmd=";
    number(event.command_seq);
    out_ += " t=";
    number(event.at);
  }
  Line& begin(std::string_view kind) {
    out_ += ' ';
    out_ += kind;
    return *this;
  }
  template <typename T>
  Line& operator()(std::string_view name, const T& value) {
    out_ += ' ';
    out_ += name;
    out_ += '=';
    if constexpr (std::is_same_v<T, bool>) {
      out_ += value ? "true" : "false";
    } else if constexpr (std::is_integral_v<T>) {
      number(value);
    } else {
      out_ += value;
    }
    return *this;
  }
  std::string str() { return std::move(out_); }

 private:
  template <typename T>
  void number(T value) {
    char buffer[24];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
    out_.append(buffer, result.ptr);
  }
  std::string out_;
};

}  // namespace

std::string to_text(const Event& event) {
  Line line(event);
  describe(event.body, line);
  return line.str();
}

std::string to_text(std::span<const Event> events) {
  std::string text;
  for (const Event& event : events) {
    if (!text.empty()) text += '\n';
    text += to_text(event);
  }
  return text;
}

}  // namespace spotgrid::engine
