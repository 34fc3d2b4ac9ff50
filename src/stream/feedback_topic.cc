#include "stream/feedback_topic.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "protocol/routing_json.h"
#include "stream/kafka/kafka_client.h"

namespace ferry::stream {

struct FeedbackSubscriber::Impl {
  const StreamSpec spec;
  runtime::Server& server;
  StreamCounters& counters;
  StreamConfig kafka;
  Kafka consumer;
  std::atomic<bool> stop{false};

  Impl(StreamSpec s, runtime::Server& srv, StreamCounters& c, StreamConfig k)
      : spec(std::move(s)), server(srv), counters(c), kafka(std::move(k)) {}

  core::Result<void> Connect() {
    // Every partition, from its end: feedback is for decisions made from now on.
    FERRY_ASSIGN_OR_RETURN(auto reader, ReadEveryPartition(kafka.bootstrap_servers, kafka.properties,
                                                           spec.feedback_topic, "feedback topic",
                                                           [](const PartitionRange& p) { return p.high; }));
    consumer = std::move(reader.consumer);
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
    if (!consumer && !RetryWhileUnavailable(fmt::format("stream '{}': feedback topic '{}'", spec.name, spec.feedback_topic),
                                            [this] { return Connect(); }, stop)) {
      return;
    }
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
  subscriber->impl_ = std::make_unique<Impl>(spec, server, counters, kafka);
  // A broker that cannot be reached yet does not fail the start: the subscriber keeps trying.
  FERRY_RETURN_IF_ERROR(ConnectNowOrLater(fmt::format("stream '{}': feedback topic '{}'", spec.name, spec.feedback_topic),
                                          [impl = subscriber->impl_.get()] { return impl->Connect(); }));
  spdlog::info("stream '{}': feedback from '{}' for router '{}' (every partition, from its end)", spec.name,
               spec.feedback_topic, spec.model);
  subscriber->thread_ = std::jthread([impl = subscriber->impl_.get()] { impl->Run(); });
  return subscriber;
}

void FeedbackSubscriber::Stop() {
  if (!impl_) return;
  impl_->stop.store(true);
  if (thread_.joinable()) thread_.join();
  if (impl_->consumer) rd_kafka_consumer_close(impl_->consumer.get());
  impl_.reset();
}

FeedbackSubscriber::~FeedbackSubscriber() { Stop(); }

}  // namespace ferry::stream
