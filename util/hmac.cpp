#include "spotgrid/util/hmac.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>

#include "spotgrid/util/hex.hpp"

namespace spotgrid::util {

std::string hmac_sha256_hex(std::string_view key, std::string_view payload) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), digest.data(),
       &length);
  return to_hex(digest.data(), length);
}

bool hmac_sha256_hex_matches(std::string_view key, std::string_view payload,
                             std::string_view signature_hex) {
  const std::string expected = hmac_sha256_hex(key, payload);
  return signature_hex.size() == expected.size() &&
         CRYPTO_memcmp(expected.data(), signature_hex.data(), expected.size()) == 0;
}

}  // namespace spotgrid::util
