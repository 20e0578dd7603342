// The HTTP front door over real loopback sockets: routing to the handler,
// answers from other threads, keep-alive, and every limit (body, headers,
// malformed requests, slow clients, the connection cap).
#include "spotgrid/gateway/http.hpp"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

namespace spotgrid::gateway {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

// The threads that answer /later, joined before the server goes: an answer's
// callback holds its connection, which must not outlive the server.
std::mutex late_mutex;
std::vector<std::thread> late_threads;

// Answers /echo with the request, /target... and /?... with their target, /empty with a 204, /later
// from another thread, /twice twice (a handler bug: the second answer must be dropped), anything
// else 404.
void handle(HttpRequest&& request, Respond respond) {
  if (request.target == "/twice") {
    respond(HttpResponse{200, "first", "text/plain", {}, {}});
    respond(HttpResponse{500, "second", "text/plain", {}, {}});
    std::lock_guard lock(late_mutex);  // and once more, late, from another thread
    late_threads.emplace_back([respond = std::move(respond)] {
      std::this_thread::sleep_for(20ms);
      respond(HttpResponse{500, "third", "text/plain", {}, {}});
    });
    return;
  }
  if (request.target == "/later") {
    std::lock_guard lock(late_mutex);
    late_threads.emplace_back([respond = std::move(respond)] {
      std::this_thread::sleep_for(20ms);
      respond(HttpResponse{202, R"({"late":true})", "application/json", {}, {}});
    });
    return;
  }
  if (request.target == "/empty") {
    respond(HttpResponse{204, "", "application/json", {}, {}});
    return;
  }
  if (request.target.rfind("/target", 0) == 0 || request.target.rfind("/?", 0) == 0) {
    respond(HttpResponse{200, request.target, "text/plain", {}, {}});
    return;
  }
  if (request.target == "/echo") {
    respond(HttpResponse{200,
                         request.method + " " + std::string(request.header("x-test")) + " " +
                             std::to_string(request.body.size()),
                         "text/plain",
                         {},
                         {}});
    return;
  }
  respond(error_response(404, "not_found", "no such route", "path"));
}

class HttpServerTest : public ::testing::Test {
 protected:
  HttpServerTest() : server_(options(), handle) { server_.start(); }
  ~HttpServerTest() override {
    std::lock_guard lock(late_mutex);
    for (std::thread& thread : late_threads)
      thread.join();
    late_threads.clear();
  }

  static ServerOptions options() {
    ServerOptions o;
    o.body_limit = 1'024;
    o.header_limit = 1'024;
    o.request_timeout = 500ms;
    o.max_connections = 8;
    return o;
  }

  tcp::socket connect() {
    tcp::socket socket(io_);
    socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server_.port()));
    return socket;
  }

  http::response<http::string_body> exchange(tcp::socket& socket,
                                             http::request<http::string_body> request) {
    request.set(http::field::host, "127.0.0.1");
    request.prepare_payload();
    http::write(socket, request);
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(socket, buffer, response);
    return response;
  }

  http::response<http::string_body> get(const std::string& target) {
    tcp::socket socket = connect();
    return exchange(socket, {http::verb::get, target, 11});
  }

  // Writes raw bytes, then reads until the server closes; returns what came back.
  std::string raw(const std::string& bytes) {
    tcp::socket socket = connect();
    net::write(socket, net::buffer(bytes));
    std::string reply;
    beast::error_code ec;
    net::read(socket, net::dynamic_buffer(reply), ec);
    return reply;
  }

  net::io_context io_;
  HttpServer server_;
};

TEST_F(HttpServerTest, RoutesAnswersAndErrorsAsJson) {
  const auto missing = get("/nowhere");
  EXPECT_EQ(missing.result_int(), 404u);
  EXPECT_EQ(missing[http::field::content_type], "application/json");
  EXPECT_EQ(missing.body(),
            R"({"error":{"code":"not_found","message":"no such route","field":"path"}})");
}

TEST_F(HttpServerTest, PassesMethodHeadersAndBody) {
  tcp::socket socket = connect();
  http::request<http::string_body> request{http::verb::post, "/echo", 11};
  request.set("X-Test", "yes");
  request.body() = std::string(100, 'a');
  const auto response = exchange(socket, request);
  EXPECT_EQ(response.result_int(), 200u);
  EXPECT_EQ(response.body(), "POST yes 100");
}

TEST_F(HttpServerTest, AnswersFromAnotherThreadAndKeepsTheConnection) {
  tcp::socket socket = connect();
  for (int i = 0; i < 3; ++i) {
    const auto response = exchange(socket, {http::verb::get, "/later", 11});
    EXPECT_EQ(response.result_int(), 202u);
    EXPECT_EQ(response.body(), R"({"late":true})");
  }
}

TEST_F(HttpServerTest, AnswersHeadWithTheLengthAndNoBody) {
  const std::string reply = raw("HEAD /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
  EXPECT_NE(reply.find("Content-Length: 7\r\n"), std::string::npos) << reply;  // "HEAD  0"
  EXPECT_TRUE(reply.ends_with("\r\n\r\n")) << reply;
}

TEST_F(HttpServerTest, Answers204WithoutAContentLength) {
  const std::string reply = raw("GET /empty HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 204", 0), 0u) << reply;
  EXPECT_EQ(reply.find("Content-Length"), std::string::npos) << reply;
  EXPECT_TRUE(reply.ends_with("\r\n\r\n")) << reply;
}

TEST_F(HttpServerTest, AnswersPipelinedRequestsInOrder) {
  const std::string reply =
      raw("POST /echo HTTP/1.1\r\nHost: x\r\nX-Test: a\r\nContent-Length: 3\r\n\r\nabc"
          "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n"
          "GET /echo HTTP/1.1\r\nHost: x\r\nX-Test: c\r\nConnection: close\r\n\r\n");
  const std::size_t first = reply.find("POST a 3");
  const std::size_t second = reply.find("not_found");
  const std::size_t third = reply.find("GET c 0");
  ASSERT_NE(first, std::string::npos) << reply;
  ASSERT_NE(second, std::string::npos) << reply;
  ASSERT_NE(third, std::string::npos) << reply;
  EXPECT_LT(first, second);
  EXPECT_LT(second, third);
}

// A handler that answers more than once gets its first answer sent; the others
// are dropped, also one that comes while the connection's next request waits.
TEST_F(HttpServerTest, SendsOnlyTheFirstOfSeveralAnswers) {
  tcp::socket socket = connect();
  const auto twice = exchange(socket, {http::verb::get, "/twice", 11});
  EXPECT_EQ(twice.result_int(), 200u);
  EXPECT_EQ(twice.body(), "first");
  // The late third answer comes while this request waits: it is not this one's.
  const auto later = exchange(socket, {http::verb::get, "/later", 11});
  EXPECT_EQ(later.result_int(), 202u);
  EXPECT_EQ(later.body(), R"({"late":true})");
  const auto echo = exchange(socket, {http::verb::get, "/echo", 11});
  EXPECT_EQ(echo.body(), "GET  0");
}

TEST_F(HttpServerTest, RefusesAnOversizedBodyWith413) {
  tcp::socket socket = connect();
  http::request<http::string_body> request{http::verb::post, "/echo", 11};
  request.body() = std::string(4'096, 'a');
  const auto response = exchange(socket, request);
  EXPECT_EQ(response.result_int(), 413u);
  EXPECT_NE(response.body().find("body_too_large"), std::string::npos);
}

TEST_F(HttpServerTest, RefusesOversizedHeadersWith431) {
  const std::string reply =
      raw("GET /echo HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4'096, 'b') + "\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 431", 0), 0u) << reply;
}

TEST_F(HttpServerTest, RefusesMalformedRequestsWith400) {
  EXPECT_EQ(raw("GARBAGE\r\n\r\n").rfind("HTTP/1.1 400", 0), 0u);
  EXPECT_EQ(raw("GET /echo HTTP/1.1\r\nContent-Length: nope\r\n\r\n").rfind("HTTP/1.1 400", 0), 0u);
}

// Framing a proxy in front could read another way is refused before a handler
// sees the request, and the connection closed (what follows may be the body).
TEST_F(HttpServerTest, RefusesTransferEncodingAndAMissingOrSecondHost) {
  // A chunked body whose trailer carries a header: the field never reaches a handler.
  const std::string trailer =
      raw("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
          "3\r\nabc\r\n0\r\nX-Test: smuggled\r\n\r\nGET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(trailer.rfind("HTTP/1.1 411", 0), 0u) << trailer;
  EXPECT_NE(trailer.find("length_required"), std::string::npos) << trailer;
  EXPECT_EQ(trailer.find("smuggled"), std::string::npos) << trailer;
  EXPECT_EQ(trailer.find("HTTP/1.1", 1), std::string::npos) << "the rest was read as a request";
  // Before Content-Length (after it, Beast refuses the pair itself): Beast frames
  // these by the Content-Length, and the handler would have had the body.
  for (const std::string coding : {"identity", "chunked, chunked", ""}) {
    const std::string reply = raw("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + coding +
                                  "\r\nContent-Length: 3\r\n\r\nabc");
    EXPECT_EQ(reply.rfind("HTTP/1.1 411", 0), 0u) << coding << ": " << reply;
    EXPECT_EQ(reply.find("POST  3"), std::string::npos) << coding << ": " << reply;
  }
  const std::string no_host = raw("GET /echo HTTP/1.1\r\n\r\n");
  EXPECT_EQ(no_host.rfind("HTTP/1.1 400", 0), 0u) << no_host;
  EXPECT_NE(no_host.find("Host"), std::string::npos) << no_host;
  const std::string two_hosts = raw("GET /echo HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
  EXPECT_EQ(two_hosts.rfind("HTTP/1.1 400", 0), 0u) << two_hosts;
  const std::string listed = raw("GET /echo HTTP/1.1\r\nHost: a, b\r\n\r\n");
  EXPECT_EQ(listed.rfind("HTTP/1.1 400", 0), 0u) << listed;
  // HTTP/1.0 needs no Host.
  const std::string old = raw("GET /echo HTTP/1.0\r\n\r\n");
  EXPECT_EQ(old.rfind("HTTP/1.0 200", 0), 0u) << old;
}

// A client that waits to be told before it sends its body hears 100 Continue
// once its header is in, once, and then its answer; every request of a
// connection asks afresh. One whose body came with its header, or an HTTP/1.0
// client, hears no 100; one whose framing is refused hears the refusal at once.
TEST_F(HttpServerTest, AnswersExpectContinueBeforeTheBody) {
  tcp::socket socket = connect();
  beast::flat_buffer buffer;
  const auto expect_continue = [&](const std::string& expect) {
    net::write(socket, net::buffer("POST /echo HTTP/1.1\r\nHost: x\r\nExpect: " + expect +
                                   "\r\nContent-Length: 3\r\n\r\n"));
    http::response<http::empty_body> interim;  // Beast reads a 1xx as a response of its own
    http::read(socket, buffer, interim);       // fails at the server's timeout if none comes
    EXPECT_EQ(interim.result(), http::status::continue_) << expect;
    net::write(socket, net::buffer(std::string("a")));
    std::this_thread::sleep_for(20ms);  // the body in two pieces: still one 100
    net::write(socket, net::buffer(std::string("bc")));
    http::response<http::string_body> answer;
    http::read(socket, buffer, answer);
    EXPECT_EQ(answer.result_int(), 200u) << expect;
    EXPECT_EQ(answer.body(), "POST  3") << expect;
  };
  expect_continue("100-Continue");
  expect_continue("foo, 100-continue");            // a list, on the same connection
  expect_continue("foo\r\nExpect: 100-continue");  // a second field
  const auto next = exchange(socket, {http::verb::get, "/echo", 11});
  EXPECT_EQ(next.body(), "GET  0");  // and no stray 100 before it
  EXPECT_EQ(buffer.size(), 0u);

  const std::string whole =
      raw("POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n"
          "Connection: close\r\n\r\nabc");
  EXPECT_EQ(whole.rfind("HTTP/1.1 200", 0), 0u) << whole;
  // Neither of these sends its body: the first is answered without waiting for
  // it, the second only once the server's deadline closes it.
  const std::string refused =
      raw("POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nTransfer-Encoding: "
          "chunked\r\n\r\n");
  EXPECT_EQ(refused.rfind("HTTP/1.1 411", 0), 0u) << refused;
  EXPECT_NE(refused.find("Connection: close"), std::string::npos) << refused;
  const std::string head =
      raw("HEAD /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nTransfer-Encoding: "
          "chunked\r\n\r\n");
  EXPECT_EQ(head.rfind("HTTP/1.1 411", 0), 0u) << head;
  EXPECT_EQ(head.find("\r\n\r\n") + 4, head.size()) << "a HEAD answer has no body: " << head;
  const std::string old =
      raw("POST /echo HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
  EXPECT_EQ(old, "") << "an HTTP/1.0 client was sent a 1xx";
}

// The absolute-form a server must accept (RFC 9112 §3.2.2) reaches the route
// its path names, with its query; one whose authority is not a plain host and
// port (userinfo, escapes, stray brackets, none at all), or with a fragment or a
// backslash, routes nowhere.
TEST_F(HttpServerTest, AcceptsAnAbsoluteFormTarget) {
  const auto target_of = [&](const std::string& target) {
    const std::string reply =
        raw("GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const std::size_t body = reply.find("\r\n\r\n");
    return reply.rfind("HTTP/1.1 200", 0) == 0 && body != std::string::npos ? reply.substr(body + 4)
                                                                            : "not routed";
  };
  EXPECT_EQ(target_of("http://x/target"), "/target");
  EXPECT_EQ(target_of("HTTPS://[::1]:1/target?a=1"), "/target?a=1");
  EXPECT_EQ(target_of("http://x?a=1"), "/?a=1");
  EXPECT_EQ(target_of("http://my_host.example:8080/target"), "/target");
  for (const std::string target :
       {"http://u@x/target", "http://x%2f/target", "http:///target", "http://:80/target",
        "http://[x/a]/target", "http://a[b]/target", "http://x:8o/target", "http://x#/target",
        "http://x/target#f", "http://x/target\\a", "ftp://x/target"}) {
    EXPECT_EQ(target_of(target), "not routed") << target;
  }
}

// A trailer or a chunk's extensions past the limits (which count a header and a
// body, not these) fail the read: the server does not keep what it is sent.
TEST_F(HttpServerTest, RefusesATrailerPastTheLimits) {
  tcp::socket socket = connect();
  net::write(socket,
             net::buffer(std::string(
                 "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n")));
  const std::string field = "X-T: " + std::string(500, 'v') + "\r\n";
  beast::error_code ec;
  for (int i = 0; i < 64 && !ec; ++i)  // ~32 KiB of trailer, past 1 KiB + 1 KiB
    net::write(socket, net::buffer(field), ec);
  std::string reply;
  net::read(socket, net::dynamic_buffer(reply), ec);
  EXPECT_EQ(reply.rfind("HTTP/1.1 431", 0), 0u) << reply.substr(0, 200);

  const std::string extension =
      raw("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;a=" +
          std::string(8'192, 'b') + "\r\nx\r\n0\r\n\r\n");
  EXPECT_EQ(extension.rfind("HTTP/1.1 431", 0), 0u) << extension.substr(0, 200);
}

TEST_F(HttpServerTest, ClosesASlowClient) {
  tcp::socket socket = connect();
  net::write(socket, net::buffer(std::string("GET /echo HTTP/1.1\r\nHost: x\r\n")));
  const auto started = std::chrono::steady_clock::now();
  std::string reply;
  beast::error_code ec;
  net::read(socket, net::dynamic_buffer(reply), ec);  // blocks until the server closes
  const auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(ec, net::error::eof);
  EXPECT_TRUE(reply.empty());
  EXPECT_GE(waited, 400ms);
  EXPECT_LT(waited, 5s);
}

TEST_F(HttpServerTest, CapsConnections) {
  std::vector<tcp::socket> held;
  for (int i = 0; i < 8; ++i) {
    held.push_back(connect());
    net::write(held.back(), net::buffer(std::string("GET")));  // an unfinished request
  }
  for (int i = 0; i < 50 && server_.open_connections() < 8; ++i)
    std::this_thread::sleep_for(10ms);
  ASSERT_EQ(server_.open_connections(), 8u);
  // The ninth is accepted and closed at once.
  tcp::socket extra = connect();
  std::string reply;
  beast::error_code ec;
  net::read(extra, net::dynamic_buffer(reply), ec);
  EXPECT_TRUE(ec == net::error::eof || ec == net::error::connection_reset) << ec.message();
  held.clear();
}

// What the console's sign-in takes for JSON: the media type, in any case, with
// or without parameters; not a longer type that starts the same.
TEST(MediaType, JsonIsTheTypeNotAPrefix) {
  EXPECT_TRUE(is_json_media_type("application/json"));
  EXPECT_TRUE(is_json_media_type("Application/JSON; charset=utf-8"));
  EXPECT_TRUE(is_json_media_type("application/json ;charset=utf-8"));
  EXPECT_FALSE(is_json_media_type("application/jsonfoo"));
  EXPECT_FALSE(is_json_media_type("application/json-seq"));
  EXPECT_FALSE(is_json_media_type("application/jso"));
  EXPECT_FALSE(is_json_media_type("text/plain"));
  EXPECT_FALSE(is_json_media_type(""));
}

// A query that gives a name twice is refused at the front door: the routes read
// the first, and a proxy in front might read another.
TEST(Query, ANameGivenTwiceIsFound) {
  EXPECT_EQ(repeated_query_name("/v1/orders?limit=1&limit=2"), "limit");
  EXPECT_EQ(repeated_query_name("/v1/orders?state=open&cursor=3&state"), "state");
  EXPECT_EQ(repeated_query_name("/v1/orders?limit=1&cursor=2"), std::nullopt);
  EXPECT_EQ(repeated_query_name("/v1/orders?limit=1&&cursor=2&"), std::nullopt);
  EXPECT_EQ(repeated_query_name("/v1/orders"), std::nullopt);
  EXPECT_EQ(repeated_query_name("/v1/orders?lim=1&limit=1"), std::nullopt);
}

TEST(Query, ANameTheRouteDoesNotReadIsFound) {
  EXPECT_EQ(unknown_query_name("/v1/orders?lim=1", "limit cursor"), "lim");
  EXPECT_EQ(unknown_query_name("/v1/orders?limit=1&cursor=2", "limit cursor"), std::nullopt);
  EXPECT_EQ(unknown_query_name("/v1/orders?cursor", "limit cursor"), std::nullopt);
  EXPECT_EQ(unknown_query_name("/v1/orders?", "limit"), std::nullopt);
  EXPECT_EQ(unknown_query_name("/v1/orders?&", "limit"), std::nullopt);
  EXPECT_EQ(unknown_query_name("/v1/orders?=1", "limit"), "");
  EXPECT_EQ(unknown_query_name("/v1/stream?%74icket=a", "ticket"), "%74icket");
  EXPECT_EQ(unknown_query_name("/v1/orders?limit+=1", "limit"), "limit+");
  EXPECT_EQ(unknown_query_name("/v1/account?limit=1", ""), "limit");
}

}  // namespace
}  // namespace spotgrid::gateway
