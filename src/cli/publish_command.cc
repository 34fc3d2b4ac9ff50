#include "cli/publish_command.h"

#include <fmt/format.h>

#include <chrono>
#include <filesystem>

#include "model/repository.h"
#include "stream/model_package.h"
#include "stream/model_topic.h"

namespace ferry::cli {

void AddPublishCommand(CLI::App& app, int& exit_code) {
  struct Options {
    std::string bootstrap, topic = "models", model_dir, name, config;
    std::int64_t version = 0;
    std::vector<std::string> properties;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("publish", "Publish a model version on a Kafka models topic (tar + zstd, in chunks, "
                                                "with a manifest carrying its SHA-256)");
  cmd->add_option("--bootstrap", o->bootstrap, "Kafka bootstrap servers")->required();
  cmd->add_option("--topic", o->topic, "The models topic")->capture_default_str();
  cmd->add_option("--model-dir", o->model_dir, "The version folder to publish (e.g. models/pima/3)")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--name", o->name, "The model's name")->required();
  cmd->add_option("--version", o->version, "The version number (default: the current Unix time)")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 62));
  cmd->add_option("--config", o->config,
                  "A model.yaml to send with it (default: the one beside the version folder, if any)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--property", o->properties, "A librdkafka property, name=value (repeatable)");
  cmd->callback([o, &exit_code] {
    auto fail = [&](std::string_view message) {
      fmt::print(stderr, "ferry publish: {}\n", message);
      exit_code = 1;
    };
    if (!model::IsPlainName(o->name)) return fail(fmt::format("'{}' is not a plain model name", o->name));
    std::map<std::string, std::string> properties;
    for (const auto& p : o->properties) {
      const auto eq = p.find('=');
      if (eq == std::string::npos) return fail(fmt::format("--property {}: expected name=value", p));
      properties[p.substr(0, eq)] = p.substr(eq + 1);
    }
    std::optional<std::filesystem::path> config;
    if (!o->config.empty()) {
      config = o->config;
    } else if (const auto beside = std::filesystem::absolute(o->model_dir).parent_path() / "model.yaml";
               std::filesystem::is_regular_file(beside)) {
      config = beside;
    }
    const std::int64_t version =
        o->version > 0 ? o->version
                       : std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch()).count();
    auto package = stream::PackModel(o->model_dir, config);
    if (!package) return fail(package.error().message);
    const std::size_t size = package->size();
    const std::string sha = stream::Sha256Hex(*package);
    auto published = stream::PublishModel({.bootstrap_servers = o->bootstrap, .properties = properties,
                                           .topic = o->topic, .name = o->name, .version = version,
                                           .package = std::move(*package)});
    if (!published) return fail(published.error().message);
    fmt::print("published model '{}' version {} on '{}': {} bytes, sha256 {}{}\n", o->name, version, o->topic, size, sha,
               config ? fmt::format(", with {}", config->string()) : "");
    exit_code = 0;
  });
}

}  // namespace ferry::cli
