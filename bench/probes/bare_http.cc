// The bare HTTP probe of bench/hot_path.sh: a Boost.Beast server that reads each request (header
// and body) and answers a fixed V2 inference response, doing no other work. It is what ferry's
// HTTP path would cost with nothing but Beast's parsing and writing, on the same number of I/O
// threads: the ceiling against which ferry's /infer throughput is quoted.
//
//   ferry_bench_bare_http PORT [THREADS]      (127.0.0.1 only; prints "listening on PORT")
#include <utility>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr char kAnswer[] =
    R"({"model_name":"pima","model_version":"1","outputs":[{"name":"probability","datatype":"FP32","shape":[1,1],)"
    R"("data":[0.72172713]},{"name":"label","datatype":"INT64","shape":[1,1],"data":[1]}]})";

class Session : public std::enable_shared_from_this<Session> {
 public:
  explicit Session(tcp::socket socket) : socket_(std::move(socket)) {}
  void Read() {
    request_ = {};
    http::async_read(socket_, buffer_, request_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return;
      self->Write();
    });
  }

 private:
  void Write() {
    response_ = {};
    response_.result(http::status::ok);
    response_.version(request_.version());
    response_.set(http::field::content_type, "application/json");
    response_.keep_alive(request_.keep_alive());
    response_.body() = kAnswer;
    response_.prepare_payload();
    http::async_write(socket_, response_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec || !self->response_.keep_alive()) return;
      self->Read();
    });
  }

  tcp::socket socket_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
};

void Accept(tcp::acceptor& acceptor, std::vector<std::unique_ptr<asio::io_context>>& contexts, std::size_t& next) {
  acceptor.async_accept(*contexts[next++ % contexts.size()], [&](beast::error_code ec, tcp::socket socket) {
    if (!ec) {
      socket.set_option(tcp::no_delay(true));
      std::make_shared<Session>(std::move(socket))->Read();
    }
    Accept(acceptor, contexts, next);
  });
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s PORT [THREADS]\n", argv[0]);
    return 2;
  }
  const auto port = static_cast<unsigned short>(std::atoi(argv[1]));
  const int threads = argc > 2 ? std::atoi(argv[2]) : static_cast<int>(std::thread::hardware_concurrency());
  // One io_context a thread, as ferry's HTTP frontend has; the first also accepts.
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  for (int i = 0; i < threads; ++i) contexts.push_back(std::make_unique<asio::io_context>(1));
  tcp::acceptor acceptor(*contexts[0], {asio::ip::make_address("127.0.0.1"), port});
  std::size_t next = 0;
  Accept(acceptor, contexts, next);
  std::printf("listening on %u\n", acceptor.local_endpoint().port());
  std::fflush(stdout);
  std::vector<std::thread> running;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  for (auto& c : contexts) guards.push_back(asio::make_work_guard(*c));
  for (int i = 1; i < threads; ++i) running.emplace_back([&, i] { contexts[i]->run(); });
  contexts[0]->run();
  for (auto& t : running) t.join();
}
