#pragma once
// Lower-case hex of bytes: keys, digests and signatures are shown this way.
#include <cstddef>
#include <string>

namespace spotgrid::util {

inline std::string to_hex(const unsigned char* bytes, std::size_t length) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(length * 2);
  for (std::size_t i = 0; i < length; ++i) {
    hex += kHex[bytes[i] >> 4];
    hex += kHex[bytes[i] & 15];
  }
  return hex;
}

}  // namespace spotgrid::util
