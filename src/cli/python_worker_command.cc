#include "cli/python_worker_command.h"

#include <fmt/format.h>

#include <memory>

#include "backends/plugin.h"
#include "backends/python/python_plugin_client.h"
#include "observe/logging.h"

namespace ferry::cli {

void AddPythonWorkerCommand(CLI::App& app, int& exit_code) {
  struct Options {
    int fd = -1;
    std::string backend_directory;
  };
  auto options = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("python-worker", "A Python model's worker process (started by ferry serve)");
  cmd->group("");  // hidden from --help
  cmd->add_option("--fd", options->fd, "The socket to ferry")->required();
  cmd->add_option("--backend-directory", options->backend_directory, "Folder of the backend plugins");
  cmd->callback([options, &exit_code] {
    (void)observe::InitLogging("warn");  // the model's own warnings; ferry logs the rest
    if (!options->backend_directory.empty()) backends::SetPluginDirectory(options->backend_directory);
    auto entry = backends::python::PythonEntryPoint(backends::python::kWorkerEntry);
    if (!entry) {
      fmt::print(stderr, "ferry python-worker: {}\n", entry.error().message);
      exit_code = 2;
      return;
    }
    exit_code = reinterpret_cast<int (*)(int)>(*entry)(options->fd);
  });
}

}  // namespace ferry::cli
