// MQTT 3.1.1 and 5.0 control packets as ferry's MQTT client sends and reads them (OASIS MQTT
// 3.1.1 and 5.0, chapter 2 and 3), and topic names and filters (chapter 4.7): pure functions, safe
// from any thread, fuzzed (tests/fuzz/fuzz_mqtt_packet.cc).
//
// ferry writes its own client because the acknowledgement of a QoS 1 message is its business:
// it is sent only once the answer is published and acknowledged (at least once), and neither
// libmosquitto nor Paho C lets an application hold it back (both send PUBACK before the message
// reaches the application; mosquitto issue #118).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/error.h"

namespace ferry::stream::mqtt {

enum class Version : std::uint8_t { k311 = 4, k5 = 5 };

enum class PacketType : std::uint8_t {
  kConnect = 1, kConnack = 2, kPublish = 3, kPuback = 4, kPubrec = 5, kPubrel = 6, kPubcomp = 7,
  kSubscribe = 8, kSuback = 9, kUnsubscribe = 10, kUnsuback = 11, kPingreq = 12, kPingresp = 13,
  kDisconnect = 14, kAuth = 15,
};

// The MQTT 5 properties ferry reads or writes; the others are skipped when read.
struct Properties {
  std::optional<std::uint8_t> payload_format;      // 0x01
  std::optional<std::uint32_t> message_expiry;     // 0x02
  std::optional<std::string> content_type;         // 0x03
  std::optional<std::string> response_topic;       // 0x08
  std::optional<std::string> correlation_data;     // 0x09
  std::optional<std::uint32_t> session_expiry;     // 0x11
  std::optional<std::string> assigned_client_id;   // 0x12
  std::optional<std::uint16_t> server_keep_alive;  // 0x13
  std::optional<std::string> reason_string;        // 0x1F
  std::optional<std::uint16_t> receive_maximum;    // 0x21
  std::optional<std::uint8_t> maximum_qos;         // 0x24
  std::optional<std::uint32_t> maximum_packet_size;  // 0x27
  std::vector<std::pair<std::string, std::string>> user;  // 0x26, in order
};

struct Connect {
  Version version = Version::k5;
  std::string client_id;
  bool clean = false;              // clean session (3.1.1) / clean start (5)
  std::uint16_t keep_alive_s = 30;
  std::optional<std::string> username;
  std::optional<std::string> password;
  std::uint32_t session_expiry_s = 0;  // 5: how long the broker keeps the session after a disconnect
  std::uint16_t receive_maximum = 0;   // 5: QoS 1 messages in flight to us (0: the protocol's 65535)
};

struct Message {
  std::string topic;
  std::string payload;
  std::uint16_t id = 0;  // QoS 1 and 2
  std::uint8_t qos = 0;
  bool retain = false;
  bool dup = false;
  Properties properties;
};

struct Connack {
  bool session_present = false;
  std::uint8_t code = 0;  // 3.1.1 return code or 5 reason code; 0 is success
  Properties properties;
};

// PUBACK (and the QoS 2 acknowledgements, which ferry refuses: it subscribes at QoS 0 or 1).
struct Ack {
  PacketType type = PacketType::kPuback;
  std::uint16_t id = 0;
  std::uint8_t code = 0;  // 5: >= 0x80 is a refusal
  Properties properties;
};

struct Suback {
  std::uint16_t id = 0;
  std::vector<std::uint8_t> codes;  // per filter: the QoS granted, or >= 0x80 refused
  Properties properties;
};

struct Pingresp {};

struct Disconnect {
  std::uint8_t code = 0;
  Properties properties;
};

using Packet = std::variant<Connack, Message, Ack, Suback, Pingresp, Disconnect>;

std::string EncodeConnect(const Connect& connect);
std::string EncodePublish(const Message& publish, Version version);
std::string EncodePuback(std::uint16_t id, Version version);
std::string EncodeSubscribe(std::uint16_t id, std::string_view filter, std::uint8_t qos, Version version);
std::string EncodePingreq();
std::string EncodeDisconnect(Version version);

// The size of the packet `buffer` starts with when it is all there; nullopt when more bytes are
// needed; an error when the length is malformed or over `max_size`.
core::Result<std::optional<std::size_t>> FrameSize(std::string_view buffer, std::size_t max_size);

// A whole packet (as FrameSize delimits it) from the broker. Packets a client never receives
// (CONNECT, SUBSCRIBE, PINGREQ, ...) are errors.
core::Result<Packet> DecodePacket(std::string_view frame, Version version);

// What a CONNACK code or a refusal means, for the log and the stream's state.
std::string CodeText(std::uint8_t code, Version version, bool connack);

// Topic names and filters (4.7): a filter is valid when `#` only ends it and `+` and `#` take
// whole levels; a name has no wildcard. A shared filter `$share/GROUP/FILTER` is split.
bool ValidFilter(std::string_view filter);
bool ValidTopicName(std::string_view topic);

// The levels of `topic` the wildcards of `filter` matched, in order (`#` takes the rest, joined
// by `/`), or nullopt when the topic does not match. Topics starting with `$` match no filter
// that starts with a wildcard.
std::optional<std::vector<std::string_view>> MatchFilter(std::string_view filter, std::string_view topic);

// `pattern` with `{1}`, `{2}`, ... replaced by the matched levels. An error when a placeholder
// names a level that was not matched or the result is not a topic name.
core::Result<std::string> ExpandTopic(std::string_view pattern, const std::vector<std::string_view>& levels);

}  // namespace ferry::stream::mqtt
