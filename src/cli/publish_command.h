// `ferry publish`: packs a model version folder and publishes it on a Kafka models topic, where
// every ferry serving that topic picks it up (docs/streaming.md).
#pragma once

#include <CLI/CLI.hpp>

namespace ferry::cli {

void AddPublishCommand(CLI::App& app, int& exit_code);

}  // namespace ferry::cli
