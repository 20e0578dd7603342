#pragma once
// HMAC-SHA256 in lower-case hex (OpenSSL): what signs a node's metering batch
// and a webhook delivery. Compared in constant time.
#include <string>
#include <string_view>

namespace spotgrid::util {

std::string hmac_sha256_hex(std::string_view key, std::string_view payload);
bool hmac_sha256_hex_matches(std::string_view key, std::string_view payload,
                             std::string_view signature_hex);

}  // namespace spotgrid::util
