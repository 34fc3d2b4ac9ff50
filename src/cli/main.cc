// The `ferry` command.
#include <CLI/CLI.hpp>

#include "cli/bench_command.h"
#include "cli/dev_kafka_command.h"
#include "cli/infer_command.h"
#include "cli/publish_command.h"
#include "cli/python_worker_command.h"
#include "cli/serve_command.h"
#include "cli/test_command.h"
#include "core/version.h"
#include "backends/python/python_step.h"

int main(int argc, char** argv) {
  ferry::backends::python::RegisterPythonStep();  // made in the python plugin, opened on first use
  CLI::App app{"ferry: a model inference server (KServe V2 / Open Inference Protocol)", "ferry"};
  app.set_version_flag("--version", std::string("ferry ") + ferry::kFerryVersion);
  app.require_subcommand(1);
  int exit_code = 0;
  ferry::cli::AddServeCommand(app, exit_code);
  ferry::cli::AddInferCommand(app, exit_code);
  ferry::cli::AddTestCommand(app, exit_code);
  ferry::cli::AddBenchCommand(app, exit_code);
  ferry::cli::AddDevKafkaCommand(app, exit_code);
  ferry::cli::AddPublishCommand(app, exit_code);
  ferry::cli::AddPythonWorkerCommand(app, exit_code);
  CLI11_PARSE(app, argc, argv);
  return exit_code;
}
