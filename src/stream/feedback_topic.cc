#include "stream/feedback_topic.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <random>

#include "protocol/routing_json.h"
#include "stream/kafka_client.h"

namespace ferry::stream {

struct FeedbackSubscriber::Impl {
  const StreamSpec spec;
  runtime::Server& server;
  StreamCounters& counters;
  Kafka consumer;
  std::atomic<bool> stop{false};

  Impl(StreamSpec s, runtime::Server& srv, StreamCounters& c) : spec(std::move(s)), server(srv), counters(c) {}

  core::Result<void> Connect(const StreamConfig& kafka) {
    std::random_device random;
    const std::string group = fmt::format("ferry-feedback-{}-{:x}", getpid(), random());
    FERRY_ASSIGN_OR_RETURN(rd_kafka_conf_t * conf,
                           MakeKafkaConf(kafka.bootstrap_servers, kafka.properties,
                                         {{"group.id", group}, {"enable.auto.commit", "false"}},
                                         {"group.id", "enable.auto.commit"}));
    char error[512];
    consumer.reset(rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof error));
    if (!consumer) return core::InvalidArgument(fmt::format("feedback topic consumer: {}", error));
    rd_kafka_poll_set_consumer(consumer.get());
    // Every partition, from its end, by assignment (no group membership): every instance sees all.
    auto partitions = TopicPartitions(consumer.get(), spec.feedback_topic, 10000);
    if (!partitions) return core::Unavailable(fmt::format("feedback {}", partitions.error().message));
    PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions->size())));
    for (const auto& p : *partitions) {
      rd_kafka_topic_partition_list_add(list.get(), spec.feedback_topic.c_str(), p.partition)->offset = p.high;
    }
    if (auto e = rd_kafka_assign(consumer.get(), list.get())) {
      return core::Unavailable(fmt::format("feedback topic '{}': {}", spec.feedback_topic, rd_kafka_err2str(e)));
    }
    return {};
  }

  void OnMessage(const rd_kafka_message_t& m) {
    ++counters.feedback;
    const std::string_view named = HeaderValue(m, "ferry-model");
    const std::string router = named.empty() ? spec.model : std::string(named);
    auto feedback = protocol::DecodeFeedback(Text(m.payload, m.len));
    if (!feedback) {
      ++counters.feedback_malformed;
      spdlog::warn("stream '{}': feedback at {}/{}/{} ignored: {}", spec.name, spec.feedback_topic, m.partition,
                   m.offset, feedback.error().message);
      return;
    }
    auto results = server.ApplyFeedback(router, feedback->feedback);
    if (!results) {
      ++counters.feedback_malformed;
      spdlog::warn("stream '{}': feedback for '{}' ignored: {}", spec.name, router, results.error().message);
    }
  }

  void Run() {
    while (!stop.load()) {
      Message m(rd_kafka_consumer_poll(consumer.get(), 200));
      if (m && !m->err) {
        OnMessage(*m);
      } else if (m && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        spdlog::warn("stream '{}': feedback topic: {}", spec.name, rd_kafka_message_errstr(m.get()));
      }
    }
  }
};

FeedbackSubscriber::FeedbackSubscriber() = default;

core::Result<std::unique_ptr<FeedbackSubscriber>> FeedbackSubscriber::Start(const StreamConfig& kafka,
                                                                            const StreamSpec& spec,
                                                                            runtime::Server& server,
                                                                            StreamCounters& counters) {
  std::unique_ptr<FeedbackSubscriber> subscriber(new FeedbackSubscriber());
  subscriber->impl_ = std::make_unique<Impl>(spec, server, counters);
  FERRY_RETURN_IF_ERROR(subscriber->impl_->Connect(kafka));
  spdlog::info("stream '{}': feedback from '{}' for router '{}' (every partition, from its end)", spec.name,
               spec.feedback_topic, spec.model);
  subscriber->thread_ = std::jthread([impl = subscriber->impl_.get()] { impl->Run(); });
  return subscriber;
}

void FeedbackSubscriber::Stop() {
  if (!impl_) return;
  impl_->stop.store(true);
  if (thread_.joinable()) thread_.join();
  rd_kafka_consumer_close(impl_->consumer.get());
  impl_.reset();
}

FeedbackSubscriber::~FeedbackSubscriber() { Stop(); }

}  // namespace ferry::stream
