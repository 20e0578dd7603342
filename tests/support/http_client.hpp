#pragma once
// A blocking HTTP/1.1 client for tests, on Beast: one request per connection
// to 127.0.0.1, plain or TLS (any certificate accepted: tests make their own).
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace spotgrid::testing {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpReply {
  unsigned status = 0;
  std::string body;
  std::string content_type;
  std::string www_authenticate;
  Headers headers;

  std::string header(std::string_view name) const;  // "" when absent
};

struct HttpCall {
  std::string method = "GET";
  std::string target = "/";
  std::string bearer;  // when not empty: Authorization: Bearer
  std::string body;
  Headers headers;
  bool tls = false;
};

HttpReply http_call(std::uint16_t port, const HttpCall& call);
HttpReply http_call(std::uint16_t port, const std::string& method, const std::string& target,
                    const std::string& bearer = {}, const std::string& body = {});

}  // namespace spotgrid::testing
