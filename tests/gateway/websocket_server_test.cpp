// The server's WebSocket and TLS layers over loopback: a bounded send buffer
// that disconnects a slow consumer, and HTTPS / WSS with a certificate made at
// test time (openssl req), refusing plain HTTP on the TLS port.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "http_client.hpp"
#include "spotgrid/gateway/http.hpp"
#include "ws_client.hpp"

namespace spotgrid::gateway {
namespace {

using namespace std::chrono_literals;

// Echoes text; on "flood" sends 1 KiB messages until the peer refuses one.
class Flooder : public StreamSession {
 public:
  // Weakly, as the application must: the connection owns its session.
  explicit Flooder(const std::shared_ptr<StreamPeer>& peer) : peer_(peer) {}
  void on_text(std::string_view message) override {
    const auto peer = peer_.lock();
    if (!peer) return;
    if (message != "flood") {
      peer->send(std::string(message));
      return;
    }
    const std::string chunk(1'024, 'x');
    for (int i = 0; i < 1'000'000; ++i) {
      if (!peer->send(chunk)) {
        refused_at = i;
        return;
      }
    }
  }
  void on_closed() override { closed = true; }

  std::atomic<int> refused_at{-1};
  std::atomic<bool> closed{false};

 private:
  std::weak_ptr<StreamPeer> peer_;
};

struct Sessions {
  std::mutex mutex;
  std::vector<std::shared_ptr<Flooder>> all;
};

ServerOptions options_with_streams(Sessions& sessions) {
  ServerOptions options;
  options.stream_send_buffer = 64 * 1'024;
  options.stream_opener = [&sessions](const HttpRequest&, std::shared_ptr<StreamPeer> peer,
                                      const std::function<void(StreamDecision)>& decide) {
    auto session = std::make_shared<Flooder>(peer);
    {
      std::lock_guard lock(sessions.mutex);
      sessions.all.push_back(session);
    }
    decide(session);
  };
  return options;
}

void answer_ok(HttpRequest&&, Respond respond) {
  respond(HttpResponse{200, R"({"ok":true})", "application/json", {}, {}});
}

TEST(WebSocketServer, ASlowConsumerIsDisconnectedNotBuffered) {
  Sessions sessions;
  HttpServer server(options_with_streams(sessions), answer_ok);
  server.start();
  testing::WsClient client(server.port(), "");
  ASSERT_EQ(client.refused_status(), 0u);
  client.send_text("hello");
  EXPECT_EQ(client.receive(5s), "hello");
  client.send_text("flood");  // and read nothing while the server floods
  std::shared_ptr<Flooder> flooder;
  for (int i = 0; i < 500; ++i) {
    {
      std::lock_guard lock(sessions.mutex);
      flooder = sessions.all.front();
    }
    if (flooder->refused_at.load() >= 0) break;
    std::this_thread::sleep_for(10ms);
  }
  // The server refused a message once its buffer (64 KiB) plus what the
  // sockets hold was full: far short of the million it tried.
  ASSERT_GE(flooder->refused_at.load(), 0);
  EXPECT_LT(flooder->refused_at.load(), 100'000);
  // The client then finds the connection ended after what was in flight.
  int received = 0;
  while (client.receive(5s))
    ++received;
  EXPECT_TRUE(client.closed());
  EXPECT_LE(received, flooder->refused_at.load());
  for (int i = 0; i < 200 && !flooder->closed.load(); ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(flooder->closed.load());
}

class Tls : public ::testing::Test {
 protected:
  Tls() {
    std::string pattern = "/tmp/spotgrid-tls.XXXXXX";
    dir_ = mkdtemp(pattern.data());
    const std::string command =
        "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -keyout " + dir_ +
        "/key.pem -out " + dir_ + "/cert.pem >/dev/null 2>&1";
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
  }
  ~Tls() override { std::filesystem::remove_all(dir_); }

  ServerOptions tls_options(Sessions& sessions) {
    ServerOptions options = options_with_streams(sessions);
    options.tls_certificate_file = dir_ + "/cert.pem";
    options.tls_private_key_file = dir_ + "/key.pem";
    return options;
  }

  std::string dir_;
};

TEST_F(Tls, ServesHttpsAndWssAndRefusesPlainHttp) {
  Sessions sessions;
  HttpServer server(tls_options(sessions), answer_ok);
  server.start();
  const testing::HttpReply reply =
      testing::http_call(server.port(), testing::HttpCall{"GET", "/x", "", "", {}, true});
  EXPECT_EQ(reply.status, 200u);
  EXPECT_EQ(reply.body, R"({"ok":true})");
  testing::WsClient secure(server.port(), "", "/v1/stream", true);
  ASSERT_EQ(secure.refused_status(), 0u);
  secure.send_text("over tls");
  EXPECT_EQ(secure.receive(5s), "over tls");
  // Plain HTTP on the TLS port gets no HTTP answer.
  EXPECT_ANY_THROW(testing::http_call(server.port(), "GET", "/x"));
}

TEST_F(Tls, AMissingCertificateIsRefusedAtStart) {
  Sessions sessions;
  ServerOptions options = tls_options(sessions);
  options.tls_certificate_file = dir_ + "/missing.pem";
  HttpServer server(options, answer_ok);
  try {
    server.start();
    FAIL() << "started without its certificate";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("tls.certificate_file"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace spotgrid::gateway
