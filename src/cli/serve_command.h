// `ferry serve`: loads a model repository and serves it over HTTP until SIGINT or SIGTERM.
#pragma once

#include <CLI/CLI.hpp>

namespace ferry::cli {

// Adds the `serve` subcommand to `app`; it runs when parsed.
void AddServeCommand(CLI::App& app, int& exit_code);

}  // namespace ferry::cli
