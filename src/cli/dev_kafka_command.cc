#include "cli/dev_kafka_command.h"

#include <fmt/format.h>

#include <charconv>
#include <csignal>
#include <cstdio>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <sstream>
#include <thread>

#include "stream/kafka/dev_kafka.h"

namespace ferry::cli {

void AddDevKafkaCommand(CLI::App& app, int& exit_code) {
  struct Options {
    int brokers = 1;
    int port = 0;
    std::vector<std::string> topics;
  };
  auto options = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "dev-kafka",
      "Run a Kafka-protocol broker on loopback (librdkafka's mock cluster, in memory) until SIGINT or SIGTERM; "
      "prints its bootstrap address on the first line. Each partition keeps at most 5 MiB or 100,000 messages "
      "(older ones are dropped); topics not created with --topic are created on first use with 4 partitions");
  cmd->add_option("--brokers", options->brokers, "Brokers in the cluster")->check(CLI::Range(1, 9))->capture_default_str();
  cmd->add_option("--topic", options->topics, "A topic to create, name:partitions (repeatable)");
  cmd->add_option("--port", options->port,
                  "Also take bootstrap connections on 127.0.0.1:PORT, the same from run to run (0: only the "
                  "brokers' own ports, chosen at random)")
      ->check(CLI::Range(0, 65535));
  cmd->callback([options, &exit_code] {
    std::vector<std::pair<std::string, int>> topics;
    for (const auto& spec : options->topics) {
      const auto colon = spec.rfind(':');
      int partitions = 1;
      std::string name = spec;
      if (colon != std::string::npos) {
        name = spec.substr(0, colon);
        const std::string count = spec.substr(colon + 1);
        auto [end, ec] = std::from_chars(count.data(), count.data() + count.size(), partitions);
        if (ec != std::errc() || end != count.data() + count.size() || partitions < 1 || partitions > 1000) {
          fmt::print(stderr, "ferry dev-kafka: --topic {}: expected name:partitions\n", spec);
          exit_code = 2;
          return;
        }
      }
      topics.emplace_back(name, partitions);
    }
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    auto dev = stream::DevKafka::Start(options->brokers, topics, options->port);
    if (!dev) {
      fmt::print(stderr, "ferry {}\n", dev.error().message);
      exit_code = 1;
      return;
    }
    fmt::print("{}\n", (*dev)->bootstrap_servers());
    std::fflush(stdout);
    fmt::print(stderr,
               "ferry dev-kafka: a broker in memory for development and tests; each partition keeps at most 5 MiB or "
               "100,000 messages (librdkafka's mock cluster drops older ones). For local streams, set "
               "kafka.properties session.timeout.ms: \"6000\" in ferry.yaml so that a restarted instance gets its "
               "partitions in seconds.\n");
    // Fault injection for tests, one command a line on standard input:
    //   fail <request> <kafka error> [count]     e.g. fail produce MSG_SIZE_TOO_LARGE 3
    std::atomic<bool> stopping{false};
    std::thread commands([&dev = **dev, &stopping] {
      std::string pending;
      char buffer[4096];
      while (!stopping.load()) {
        pollfd in{.fd = STDIN_FILENO, .events = POLLIN, .revents = 0};
        if (::poll(&in, 1, 200) <= 0) continue;
        const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
        if (n <= 0) return;  // closed: no more commands
        pending.append(buffer, static_cast<std::size_t>(n));
        for (auto end = pending.find('\n'); end != std::string::npos; end = pending.find('\n')) {
          std::istringstream words(pending.substr(0, end));
          pending.erase(0, end + 1);
          std::string verb, request, error;
          int count = 1;
          words >> verb >> request >> error;
          if (!(words >> count)) count = 1;
          if (verb.empty()) continue;
          auto done = verb == "fail" ? dev.FailRequests(request, error, count)
                                     : core::Result<void>(core::InvalidArgument("expected: fail <request> <error> [count]"));
          if (done) {
            fmt::print(stderr, "ferry dev-kafka: the next {} {} request(s) fail with {}\n", count, request, error);
          } else {
            fmt::print(stderr, "ferry dev-kafka: {}\n", done.error().message);
          }
        }
      }
    });
    int signal = 0;
    sigwait(&signals, &signal);
    stopping.store(true);
    commands.join();
    exit_code = 0;
  });
}

}  // namespace ferry::cli
