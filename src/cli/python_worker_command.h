// `ferry python-worker`: the process a Python model's worker runs in (backends/python/python_worker.h).
// Started by ferry itself, never by hand; hidden from --help.
#pragma once

#include <CLI/CLI.hpp>

namespace ferry::cli {

void AddPythonWorkerCommand(CLI::App& app, int& exit_code);

}  // namespace ferry::cli
