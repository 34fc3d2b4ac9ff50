#include "stream/kafka/dev_kafka.h"

#include <fmt/format.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>
#include <boost/asio.hpp>
#include <thread>

namespace ferry::stream {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

// Copies bytes from one socket to the other until either side closes.
void Pipe(std::shared_ptr<tcp::socket> from, std::shared_ptr<tcp::socket> to,
          std::shared_ptr<std::array<char, 65536>> buffer) {
  from->async_read_some(asio::buffer(*buffer), [from, to, buffer](boost::system::error_code ec, std::size_t n) {
    if (ec) {
      boost::system::error_code ignored;
      to->shutdown(tcp::socket::shutdown_both, ignored);
      return;
    }
    asio::async_write(*to, asio::buffer(buffer->data(), n), [from, to, buffer](boost::system::error_code ec, std::size_t) {
      if (!ec) Pipe(from, to, buffer);
    });
  });
}

}  // namespace

struct DevKafka::Impl {
  rd_kafka_t* handle = nullptr;  // the mock cluster runs on this handle's threads
  rd_kafka_mock_cluster_t* cluster = nullptr;
  asio::io_context io;
  std::optional<tcp::acceptor> acceptor;
  tcp::endpoint broker;
  std::thread forwarder;

  void Accept() {
    acceptor->async_accept([this](boost::system::error_code ec, tcp::socket client) {
      if (ec) return;
      auto in = std::make_shared<tcp::socket>(std::move(client));
      auto out = std::make_shared<tcp::socket>(io);
      out->async_connect(broker, [in, out](boost::system::error_code ec) {
        if (ec) return;
        Pipe(in, out, std::make_shared<std::array<char, 65536>>());
        Pipe(out, in, std::make_shared<std::array<char, 65536>>());
      });
      Accept();
    });
  }

  ~Impl() {
    io.stop();
    if (forwarder.joinable()) forwarder.join();
    if (cluster) rd_kafka_mock_cluster_destroy(cluster);
    if (handle) rd_kafka_destroy(handle);
  }
};

core::Result<std::unique_ptr<DevKafka>> DevKafka::Start(int brokers,
                                                        const std::vector<std::pair<std::string, int>>& topics,
                                                        int port) {
  std::unique_ptr<DevKafka> dev(new DevKafka());
  dev->impl_ = std::make_unique<Impl>();
  Impl& impl = *dev->impl_;
  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", error, sizeof error);
  impl.handle = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
  if (!impl.handle) return core::Internal(fmt::format("dev-kafka: {}", error));
  impl.cluster = rd_kafka_mock_cluster_new(impl.handle, brokers);
  if (!impl.cluster) return core::Internal("dev-kafka: librdkafka could not start its mock cluster");
  for (const auto& [name, partitions] : topics) {
    if (auto err = rd_kafka_mock_topic_create(impl.cluster, name.c_str(), partitions, 1)) {
      return core::InvalidArgument(fmt::format("dev-kafka: topic '{}': {}", name, rd_kafka_err2str(err)));
    }
  }
  dev->bootstrap_ = rd_kafka_mock_cluster_bootstraps(impl.cluster);
  if (port != 0) {
    const std::string first = dev->bootstrap_.substr(0, dev->bootstrap_.find(','));
    const auto colon = first.rfind(':');
    impl.broker = tcp::endpoint(asio::ip::make_address(first.substr(0, colon)),
                                static_cast<unsigned short>(std::stoi(first.substr(colon + 1))));
    boost::system::error_code ec;
    impl.acceptor.emplace(impl.io);
    const tcp::endpoint listen(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port));
    impl.acceptor->open(listen.protocol(), ec);
    if (!ec) impl.acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) impl.acceptor->bind(listen, ec);
    if (!ec) impl.acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return core::Unavailable(fmt::format("dev-kafka: cannot listen on 127.0.0.1:{}: {}", port, ec.message()));
    impl.Accept();
    impl.forwarder = std::thread([&impl] { impl.io.run(); });
    dev->bootstrap_ = fmt::format("127.0.0.1:{}", port);
  }
  return dev;
}

core::Result<void> DevKafka::FailRequests(std::string_view request, std::string_view error, int count) {
  // Kafka protocol API keys.
  static constexpr std::pair<std::string_view, std::int16_t> kRequests[] = {
      {"produce", 0},       {"fetch", 1},       {"list_offsets", 2}, {"metadata", 3},   {"offset_commit", 8},
      {"offset_fetch", 9},  {"find_coordinator", 10}, {"join_group", 11}, {"heartbeat", 12}, {"leave_group", 13},
      {"sync_group", 14}};
  const auto* api = std::find_if(std::begin(kRequests), std::end(kRequests),
                                 [&](const auto& r) { return r.first == request; });
  if (api == std::end(kRequests)) return core::InvalidArgument(fmt::format("unknown request '{}'", request));
  std::optional<rd_kafka_resp_err_t> code;
  const rd_kafka_err_desc* descs = nullptr;
  std::size_t n = 0;
  rd_kafka_get_err_descs(&descs, &n);
  for (std::size_t i = 0; i < n && !code; ++i) {
    if (descs[i].name && error == descs[i].name) code = descs[i].code;
  }
  int number = 0;
  if (!code && std::from_chars(error.data(), error.data() + error.size(), number).ec == std::errc()) {
    code = static_cast<rd_kafka_resp_err_t>(number);
  }
  if (!code) return core::InvalidArgument(fmt::format("unknown Kafka error '{}'", error));
  if (count < 1) return core::InvalidArgument("the count must be at least 1");
  const std::vector<rd_kafka_resp_err_t> errors(static_cast<std::size_t>(count), *code);
  rd_kafka_mock_push_request_errors_array(impl_->cluster, api->second, errors.size(), errors.data());
  return {};
}

DevKafka::~DevKafka() = default;

}  // namespace ferry::stream
