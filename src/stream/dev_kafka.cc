#include "stream/dev_kafka.h"

#include <fmt/format.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

namespace ferry::stream {

struct DevKafka::Impl {
  rd_kafka_t* handle = nullptr;  // the mock cluster runs on this handle's threads
  rd_kafka_mock_cluster_t* cluster = nullptr;
  ~Impl() {
    if (cluster) rd_kafka_mock_cluster_destroy(cluster);
    if (handle) rd_kafka_destroy(handle);
  }
};

core::Result<std::unique_ptr<DevKafka>> DevKafka::Start(int brokers,
                                                        const std::vector<std::pair<std::string, int>>& topics) {
  std::unique_ptr<DevKafka> dev(new DevKafka());
  dev->impl_ = std::make_unique<Impl>();
  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", error, sizeof error);
  dev->impl_->handle = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
  if (!dev->impl_->handle) return core::Internal(fmt::format("dev-kafka: {}", error));
  dev->impl_->cluster = rd_kafka_mock_cluster_new(dev->impl_->handle, brokers);
  if (!dev->impl_->cluster) return core::Internal("dev-kafka: librdkafka could not start its mock cluster");
  for (const auto& [name, partitions] : topics) {
    if (auto err = rd_kafka_mock_topic_create(dev->impl_->cluster, name.c_str(), partitions, 1)) {
      return core::InvalidArgument(fmt::format("dev-kafka: topic '{}': {}", name, rd_kafka_err2str(err)));
    }
  }
  dev->bootstrap_ = rd_kafka_mock_cluster_bootstraps(dev->impl_->cluster);
  return dev;
}

DevKafka::~DevKafka() = default;

}  // namespace ferry::stream
