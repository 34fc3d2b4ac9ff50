#include "stream/kafka/kafka_source.h"

#include <fmt/format.h>
#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "stream/kafka/answered_scan.h"
#include "stream/feedback_topic.h"
#include "stream/kafka/kafka_client.h"
#include "stream/kafka/progress_probe.h"

namespace ferry::stream {
namespace {

using Clock = std::chrono::steady_clock;

// Settings at-least-once depends on: the operator's properties cannot change them.
const std::vector<std::string_view> kReserved = {"enable.auto.commit", "enable.auto.offset.store", "enable.idempotence",
                                                 "group.id"};

class KafkaSource final : public EventSource {
 public:
  explicit KafkaSource(StreamParts parts) : p_(parts) {}

  ~KafkaSource() override {
    if (feedback_) feedback_->Stop();
    progress_.request_stop();
    if (progress_.joinable()) progress_.join();
    if (consumer_ && !closed_) rd_kafka_consumer_close(consumer_.get());
  }

  core::Result<void> Connect(const StreamConfig& config, runtime::Server& server) {
    bootstrap_ = config.bootstrap_servers;
    properties_ = config.properties;
    const StreamSpec& spec = p_.spec;
    const char* reset = spec.start_from == StartFrom::kLatest ? "latest" : "earliest";
    FERRY_ASSIGN_OR_RETURN(rd_kafka_conf_t * conf,
                           MakeKafkaConf(config.bootstrap_servers, config.properties,
                                         {{"group.id", spec.group},
                                          {"enable.auto.commit", "false"},
                                          {"enable.auto.offset.store", "false"},
                                          {"auto.offset.reset", reset}},
                                         kReserved));
    rd_kafka_conf_set_rebalance_cb(conf, &KafkaSource::OnRebalance);
    rd_kafka_conf_set_offset_commit_cb(conf, &KafkaSource::OnCommit);
    rd_kafka_conf_set_opaque(conf, this);
    char error[512];
    consumer_.reset(rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof error));
    if (!consumer_) return core::InvalidArgument(fmt::format("stream '{}': kafka consumer: {}", spec.name, error));
    rd_kafka_poll_set_consumer(consumer_.get());
    if (!spec.feedback_topic.empty()) {
      FERRY_ASSIGN_OR_RETURN(feedback_, FeedbackSubscriber::Start(config, spec, server, p_.counters));
    }
    progress_ = std::jthread([this](std::stop_token token) {
      WatchProgress(consumer_.get(), p_.spec.source_topic, p_.health, token);
    });
    return {};
  }

  bool Open() override {
    PartitionList topics(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(topics.get(), p_.spec.source_topic.c_str(), RD_KAFKA_PARTITION_UA);
    if (auto err = rd_kafka_subscribe(consumer_.get(), topics.get())) {
      p_.states.Enter(StreamState::kStopped, fmt::format("cannot subscribe to '{}': {}", p_.spec.source_topic,
                                                         rd_kafka_err2str(err)));
      return false;
    }
    return true;
  }

  std::span<const Event* const> Read() override {
    batch_ = std::move(carried_);
    carried_.clear();
    revoked_ = false;
    const auto max = static_cast<std::size_t>(p_.spec.max_events);
    Clock::time_point deadline = batch_.empty() ? Clock::now() + std::chrono::milliseconds(100) : Clock::now();
    bool started = !batch_.empty();
    while (batch_.size() < max && !p_.stop.load()) {
      const auto now = Clock::now();
      if (now >= deadline) break;
      const auto wait_ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count());
      Message m(rd_kafka_consumer_poll(consumer_.get(), std::max(wait_ms, 0)));
      p_.sink.Poll(0);
      if (revoked_) {  // what was read before the rebalance is read again by the new owner
        batch_.clear();
        started = false;
        revoked_ = false;
      }
      if (!m) {
        if (batch_.empty()) {
          CommitReady(false);
          CheckRecovered();
        }
        continue;
      }
      if (m->err) {
        OnConsumerError(*m);
        continue;
      }
      if (p_.states.state() == StreamState::kBackingOff) p_.states.Resume();
      ++p_.counters.consumed;
      if (answered_.Contains(m->partition, m->offset)) ++p_.counters.duplicated;
      if (!started) {
        deadline = Clock::now() + std::chrono::milliseconds(p_.spec.max_wait_ms);
        started = true;
      }
      batch_.push_back(std::move(m));
    }
    events_.clear();
    views_.clear();
    events_.reserve(batch_.size());
    views_.reserve(batch_.size());
    for (const auto& m : batch_) views_.push_back(&events_.emplace_back(*m, &p_.spec.reply));
    return views_;
  }

  OffsetLedger::Batch* Record() override {
    std::map<std::int32_t, std::int64_t> next_offsets;
    for (const auto& m : batch_) next_offsets[m->partition] = m->offset + 1;
    return p_.ledger.Open(std::move(next_offsets), batch_.size());
  }

  // Commits what the ledger lets commit: at once when `sync`, else at most every 50 ms (one
  // commit for many small batches; committing later only means reading more again after a crash).
  void Acknowledge(bool sync) override { CommitReady(sync); }

  void Pause(bool paused) override {
    rd_kafka_topic_partition_list_t* assigned = nullptr;
    if (rd_kafka_assignment(consumer_.get(), &assigned) != RD_KAFKA_RESP_ERR_NO_ERROR || !assigned) return;
    PartitionList list(assigned);
    if (paused) {
      rd_kafka_pause_partitions(consumer_.get(), list.get());
    } else if (!revoked_) {
      rd_kafka_resume_partitions(consumer_.get(), list.get());
    }
  }

  void Wait(std::chrono::milliseconds duration) override {
    for (const auto until = Clock::now() + duration; Clock::now() < until && !revoked_ && !p_.stop.load();) {
      p_.sink.Poll(1);
      // Paused, this only keeps the group membership; a rebalance may assign partitions that
      // are not paused, whose events are kept for the next batch.
      if (Message m{rd_kafka_consumer_poll(consumer_.get(), 0)}; m && !m->err) carried_.push_back(std::move(m));
    }
  }

  bool Lost() const override { return revoked_; }

  // What is answered is committed; a stream stopped for good leaves its group at once, so that
  // other instances take its partitions.
  void Close() override {
    Drain(std::chrono::seconds(30));
    if (p_.states.state() == StreamState::kStopped) {
      spdlog::error("stream '{}': leaving group '{}'; offsets after the last answered batch are not committed",
                    p_.spec.name, p_.spec.group);
      rd_kafka_consumer_close(consumer_.get());
      closed_ = true;
    }
  }

 private:
  static void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions,
                          void* opaque) {
    auto* self = static_cast<KafkaSource*>(opaque);
    const StreamSpec& spec = self->p_.spec;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      spdlog::info("stream '{}': {} partition(s) of '{}' assigned", spec.name, partitions->cnt, spec.source_topic);
      if (spec.sink_transport == Transport::kKafka) {  // where earlier answers can be read back
        self->answered_ = ScanAnswered(self->bootstrap_, self->properties_, spec);
      }
      rd_kafka_assign(rk, partitions);
      std::vector<std::int32_t> assigned;
      for (int i = 0; i < partitions->cnt; ++i) assigned.push_back(partitions->elems[i].partition);
      self->p_.health.SetAssignment(assigned);
      self->p_.states.Settle(StreamState::kAssigned);
    } else {
      // Before giving partitions up: what was answered acknowledged and committed. The batch in
      // hand, if any, is abandoned: its events will be read again by whoever gets them.
      self->Drain(std::chrono::seconds(30));
      self->p_.ledger.Clear();
      self->carried_.clear();
      self->revoked_ = true;
      spdlog::info("stream '{}': {} partition(s) revoked", spec.name, partitions->cnt);
      rd_kafka_assign(rk, nullptr);
      self->p_.health.SetAssignment({});
      self->p_.states.Settle(StreamState::kStarting);
    }
  }

  static void OnCommit(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* offsets, void* opaque) {
    auto* self = static_cast<KafkaSource*>(opaque);
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
      spdlog::warn("stream '{}': offset commit failed: {} (the events will be read again)", self->p_.spec.name,
                   rd_kafka_err2str(err));
      return;
    }
    std::map<std::int32_t, std::int64_t> committed;
    for (int i = 0; offsets && i < offsets->cnt; ++i) {
      if (!offsets->elems[i].err) committed[offsets->elems[i].partition] = offsets->elems[i].offset;
    }
    self->p_.health.SetCommitted(committed, !committed.empty());
  }

  void CommitReady(bool sync) {
    for (const auto& [partition, offset] : p_.ledger.TakeCommittable()) ready_offsets_[partition] = offset;
    p_.health.SetInFlight(p_.ledger.EventsInFlight());
    if (ready_offsets_.empty() || (!sync && Clock::now() - last_commit_ < std::chrono::milliseconds(50))) return;
    PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(ready_offsets_.size())));
    for (const auto& [partition, offset] : ready_offsets_) {
      rd_kafka_topic_partition_list_add(list.get(), p_.spec.source_topic.c_str(), partition)->offset = offset;
    }
    if (sync) {
      if (auto err = rd_kafka_commit(consumer_.get(), list.get(), 0)) {
        spdlog::warn("stream '{}': offset commit failed: {}", p_.spec.name, rd_kafka_err2str(err));
      } else {
        p_.health.SetCommitted(ready_offsets_, true);
      }
    } else {
      rd_kafka_commit(consumer_.get(), list.get(), 1);  // OnCommit records it
    }
    ++p_.counters.commits;
    ready_offsets_.clear();
    last_commit_ = Clock::now();
  }

  // Waits until everything produced is acknowledged, then commits synchronously.
  void Drain(std::chrono::milliseconds timeout) {
    const auto give_up = Clock::now() + timeout;
    while (p_.ledger.Unacknowledged() > 0 && p_.sink.failure().empty() && Clock::now() < give_up) p_.sink.Poll(10);
    CommitReady(/*sync=*/true);
  }

  // A consumer error: Kafka trouble that heals (the broker down, a topic missing, authorization
  // refused) backs off -- librdkafka keeps retrying -- and a fatal one stops the stream.
  void OnConsumerError(const rd_kafka_message_t& m) {
    if (m.err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return;
    if (m.err == RD_KAFKA_RESP_ERR__FATAL) {
      char reason[512];
      rd_kafka_fatal_error(consumer_.get(), reason, sizeof reason);
      p_.states.Enter(StreamState::kStopped, fmt::format("kafka: {}", reason));
      return;
    }
    p_.states.Enter(StreamState::kBackingOff, fmt::format("kafka: {}", rd_kafka_message_errstr(&m)));
  }

  // While backing off and no event comes: once a second, whether the broker answers for the
  // source topic again (an idle stream has no event to say so).
  void CheckRecovered() {
    if (p_.states.state() != StreamState::kBackingOff || Clock::now() - last_probe_ < std::chrono::seconds(1)) return;
    last_probe_ = Clock::now();
    if (TopicPartitions(consumer_.get(), p_.spec.source_topic, 1000)) p_.states.Resume();
  }

  StreamParts p_;
  Kafka consumer_;
  bool closed_ = false;
  std::string bootstrap_;  // for ScanAnswered
  std::map<std::string, std::string> properties_;
  std::vector<Message> batch_;    // the batch in hand
  std::vector<KafkaEvent> events_;
  std::vector<const Event*> views_;
  std::vector<Message> carried_;  // read while a batch waited for its model: the next batch's
  std::map<std::int32_t, std::int64_t> ready_offsets_;   // committable, not yet committed
  AnsweredOffsets answered_;  // what earlier members of the group answered already
  Clock::time_point last_commit_{};
  Clock::time_point last_probe_{};
  bool revoked_ = false;  // partitions were revoked: the batch in hand is abandoned
  std::unique_ptr<FeedbackSubscriber> feedback_;
  std::jthread progress_;  // reads the partitions' watermarks for the lag
};

}  // namespace

core::Result<std::unique_ptr<EventSource>> MakeKafkaSource(const StreamConfig& config, StreamParts parts,
                                                           runtime::Server& server) {
  auto source = std::make_unique<KafkaSource>(parts);
  FERRY_RETURN_IF_ERROR(source->Connect(config, server));
  return std::unique_ptr<EventSource>(std::move(source));
}

}  // namespace ferry::stream
