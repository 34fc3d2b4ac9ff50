// `ferry dev-kafka`: a Kafka-protocol broker on loopback for development and tests.
#pragma once

#include <CLI/CLI.hpp>

namespace ferry::cli {

void AddDevKafkaCommand(CLI::App& app, int& exit_code);

}  // namespace ferry::cli
