// DevKafka: librdkafka's mock cluster on loopback, a Kafka-protocol broker for development and
// tests (`ferry dev-kafka`). Any Kafka client (kcat, another ferry) talks to it by the bootstrap
// address it gives. It keeps everything in memory and lives as long as this object.
//
// Limits of librdkafka's mock cluster (2.0): each partition keeps at most 5 MiB or 100,000
// messages and silently drops older ones (a single message over 5 MiB is dropped at once); these
// are fixed in librdkafka and cannot be raised. Topics that are not created up front are created
// on first use, with 4 partitions (its default). Group members leave on the session timeout
// their clients ask for (librdkafka's default 45 s): for local use, `session.timeout.ms: 6000`
// in ferry.yaml lets a restarted instance get its partitions in seconds.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"

namespace ferry::stream {

class DevKafka {
 public:
  // `topics`: (name, partitions) created up front. `port` (0: none) also accepts connections on
  // 127.0.0.1:port and forwards them to the first broker, so that the bootstrap address stays the
  // same from run to run (clients then reach the brokers by the addresses they advertise).
  static core::Result<std::unique_ptr<DevKafka>> Start(int brokers,
                                                        const std::vector<std::pair<std::string, int>>& topics,
                                                        int port = 0);
  ~DevKafka();

  const std::string& bootstrap_servers() const { return bootstrap_; }

  // Fault injection: the next `count` requests of kind `request` (produce, fetch, metadata,
  // offset_commit, offset_fetch, join_group, heartbeat, sync_group, leave_group) fail with the
  // Kafka error `error` (its librdkafka name, e.g. MSG_SIZE_TOO_LARGE, or its number). Thread-safe.
  core::Result<void> FailRequests(std::string_view request, std::string_view error, int count);

 private:
  DevKafka() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string bootstrap_;
};

}  // namespace ferry::stream
