// DevKafka: librdkafka's mock cluster on loopback, a Kafka-protocol broker for development and
// tests (`ferry dev-kafka`). Any Kafka client (kcat, another ferry) talks to it by the bootstrap
// address it gives. It keeps everything in memory and lives as long as this object.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"

namespace ferry::stream {

class DevKafka {
 public:
  // `topics`: (name, partitions) created up front.
  static core::Result<std::unique_ptr<DevKafka>> Start(int brokers,
                                                        const std::vector<std::pair<std::string, int>>& topics);
  ~DevKafka();

  const std::string& bootstrap_servers() const { return bootstrap_; }

 private:
  DevKafka() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string bootstrap_;
};

}  // namespace ferry::stream
