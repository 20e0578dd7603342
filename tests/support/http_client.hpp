#pragma once
// A blocking HTTP/1.1 client for tests, on Beast: one request per connection
// to 127.0.0.1.
#include <cstdint>
#include <string>

namespace spotgrid::testing {

struct HttpReply {
  unsigned status = 0;
  std::string body;
  std::string content_type;
  std::string www_authenticate;
};

// `bearer`, when not empty, goes in Authorization: Bearer.
HttpReply http_call(std::uint16_t port, const std::string& method, const std::string& target,
                    const std::string& bearer = {}, const std::string& body = {});

}  // namespace spotgrid::testing
