// Fuzz target: MQTT packets from a broker (stream/mqtt/packet.h), as the client's reader takes
// them: delimited by FrameSize, decoded as MQTT 3.1.1 and 5; and topic filters and patterns.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "stream/mqtt/packet.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace mqtt = ferry::stream::mqtt;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string_view rest = input;
  while (!rest.empty()) {
    auto frame = mqtt::FrameSize(rest, 1 << 20);
    if (!frame || !*frame) break;
    for (const auto version : {mqtt::Version::k311, mqtt::Version::k5}) {
      if (auto packet = mqtt::DecodePacket(rest.substr(0, **frame), version)) {
        if (auto* m = std::get_if<mqtt::Message>(&*packet)) (void)mqtt::EncodePublish(*m, version);
      }
    }
    rest.remove_prefix(**frame);
  }
  // A filter and a topic, split at the first newline; the topic also as a sink pattern.
  const auto newline = input.find('\n');
  if (newline != std::string_view::npos) {
    const auto filter = input.substr(0, newline);
    const auto topic = input.substr(newline + 1);
    if (mqtt::ValidFilter(filter)) {
      if (auto levels = mqtt::MatchFilter(filter, topic)) (void)mqtt::ExpandTopic(topic, *levels);
    }
  }
  return 0;
}
