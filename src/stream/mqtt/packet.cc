#include "stream/mqtt/packet.h"

#include <fmt/format.h>

#include <charconv>

namespace ferry::stream::mqtt {
namespace {

// Property identifiers (MQTT 5.0, 2.2.2.2).
enum : std::uint8_t {
  kPayloadFormat = 0x01, kMessageExpiry = 0x02, kContentType = 0x03, kResponseTopic = 0x08,
  kCorrelationData = 0x09, kSubscriptionId = 0x0B, kSessionExpiry = 0x11, kAssignedClientId = 0x12,
  kServerKeepAlive = 0x13, kAuthMethod = 0x15, kAuthData = 0x16, kRequestProblemInfo = 0x17,
  kWillDelay = 0x18, kRequestResponseInfo = 0x19, kResponseInfo = 0x1A, kServerReference = 0x1C,
  kReasonString = 0x1F, kReceiveMaximum = 0x21, kTopicAliasMaximum = 0x22, kTopicAlias = 0x23,
  kMaximumQos = 0x24, kRetainAvailable = 0x25, kUserProperty = 0x26, kMaximumPacketSize = 0x27,
  kWildcardAvailable = 0x28, kSubscriptionIdAvailable = 0x29, kSharedAvailable = 0x2A,
};

constexpr std::uint32_t kMaxRemaining = 268435455;  // four bytes of variable byte integer

class Writer {
 public:
  void Byte(std::uint8_t b) { out_.push_back(static_cast<char>(b)); }
  void U16(std::uint16_t v) {
    Byte(static_cast<std::uint8_t>(v >> 8));
    Byte(static_cast<std::uint8_t>(v));
  }
  void U32(std::uint32_t v) {
    U16(static_cast<std::uint16_t>(v >> 16));
    U16(static_cast<std::uint16_t>(v));
  }
  void VarInt(std::uint32_t v) {
    do {
      std::uint8_t b = v % 128;
      v /= 128;
      if (v > 0) b |= 0x80;
      Byte(b);
    } while (v > 0);
  }
  // A UTF-8 string or binary data: two bytes of length, then the bytes (longer ones are cut:
  // the callers check the lengths they take from configuration).
  void Str(std::string_view s) {
    const auto n = static_cast<std::uint16_t>(std::min<std::size_t>(s.size(), 65535));
    U16(n);
    out_.append(s.substr(0, n));
  }
  void Raw(std::string_view s) { out_.append(s); }
  std::string& str() { return out_; }

 private:
  std::string out_;
};

void WriteProperties(Writer& w, const Properties& p) {
  Writer body;
  if (p.payload_format) { body.Byte(kPayloadFormat); body.Byte(*p.payload_format); }
  if (p.message_expiry) { body.Byte(kMessageExpiry); body.U32(*p.message_expiry); }
  if (p.content_type) { body.Byte(kContentType); body.Str(*p.content_type); }
  if (p.response_topic) { body.Byte(kResponseTopic); body.Str(*p.response_topic); }
  if (p.correlation_data) { body.Byte(kCorrelationData); body.Str(*p.correlation_data); }
  if (p.session_expiry) { body.Byte(kSessionExpiry); body.U32(*p.session_expiry); }
  if (p.receive_maximum) { body.Byte(kReceiveMaximum); body.U16(*p.receive_maximum); }
  if (p.maximum_packet_size) { body.Byte(kMaximumPacketSize); body.U32(*p.maximum_packet_size); }
  for (const auto& [name, value] : p.user) {
    body.Byte(kUserProperty);
    body.Str(name);
    body.Str(value);
  }
  w.VarInt(static_cast<std::uint32_t>(body.str().size()));
  w.Raw(body.str());
}

// The fixed header (type, flags, remaining length) before `body`.
std::string Frame(PacketType type, std::uint8_t flags, std::string_view body) {
  Writer w;
  w.Byte(static_cast<std::uint8_t>(static_cast<std::uint8_t>(type) << 4 | flags));
  w.VarInt(static_cast<std::uint32_t>(body.size()));
  w.Raw(body);
  return std::move(w.str());
}

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool empty() const { return at_ >= in_.size(); }
  std::size_t left() const { return in_.size() - at_; }

  core::Result<std::uint8_t> Byte() {
    if (left() < 1) return Short();
    return static_cast<std::uint8_t>(in_[at_++]);
  }
  core::Result<std::uint16_t> U16() {
    if (left() < 2) return Short();
    const auto v = static_cast<std::uint16_t>(static_cast<std::uint8_t>(in_[at_]) << 8 |
                                              static_cast<std::uint8_t>(in_[at_ + 1]));
    at_ += 2;
    return v;
  }
  core::Result<std::uint32_t> U32() {
    FERRY_ASSIGN_OR_RETURN(const std::uint32_t hi, U16());
    FERRY_ASSIGN_OR_RETURN(const std::uint32_t lo, U16());
    return hi << 16 | lo;
  }
  core::Result<std::uint32_t> VarInt() {
    std::uint32_t value = 0;
    for (int i = 0; i < 4; ++i) {
      FERRY_ASSIGN_OR_RETURN(const std::uint8_t b, Byte());
      value |= static_cast<std::uint32_t>(b & 0x7F) << (7 * i);
      if (!(b & 0x80)) return value;
    }
    return core::InvalidArgument("mqtt: a variable byte integer longer than four bytes");
  }
  core::Result<std::string_view> Bytes(std::size_t n) {
    if (left() < n) return Short();
    const auto s = in_.substr(at_, n);
    at_ += n;
    return s;
  }
  core::Result<std::string_view> Str() {
    FERRY_ASSIGN_OR_RETURN(const std::uint16_t n, U16());
    return Bytes(n);
  }
  std::string_view Rest() {
    const auto s = in_.substr(at_);
    at_ = in_.size();
    return s;
  }

 private:
  static std::unexpected<core::Error> Short() { return core::InvalidArgument("mqtt: a packet shorter than it says"); }
  std::string_view in_;
  std::size_t at_ = 0;
};

core::Result<Properties> ReadProperties(Reader& r) {
  FERRY_ASSIGN_OR_RETURN(const std::uint32_t length, r.VarInt());
  FERRY_ASSIGN_OR_RETURN(const std::string_view bytes, r.Bytes(length));
  Reader p(bytes);
  Properties out;
  while (!p.empty()) {
    FERRY_ASSIGN_OR_RETURN(const std::uint8_t id, p.Byte());
    switch (id) {
      case kPayloadFormat: { FERRY_ASSIGN_OR_RETURN(out.payload_format, p.Byte()); break; }
      case kMessageExpiry: { FERRY_ASSIGN_OR_RETURN(out.message_expiry, p.U32()); break; }
      case kContentType: { FERRY_ASSIGN_OR_RETURN(auto s, p.Str()); out.content_type = std::string(s); break; }
      case kResponseTopic: { FERRY_ASSIGN_OR_RETURN(auto s, p.Str()); out.response_topic = std::string(s); break; }
      case kCorrelationData: { FERRY_ASSIGN_OR_RETURN(auto s, p.Str()); out.correlation_data = std::string(s); break; }
      case kSessionExpiry: { FERRY_ASSIGN_OR_RETURN(out.session_expiry, p.U32()); break; }
      case kAssignedClientId: { FERRY_ASSIGN_OR_RETURN(auto s, p.Str()); out.assigned_client_id = std::string(s); break; }
      case kServerKeepAlive: { FERRY_ASSIGN_OR_RETURN(out.server_keep_alive, p.U16()); break; }
      case kReasonString: { FERRY_ASSIGN_OR_RETURN(auto s, p.Str()); out.reason_string = std::string(s); break; }
      case kReceiveMaximum: { FERRY_ASSIGN_OR_RETURN(out.receive_maximum, p.U16()); break; }
      case kMaximumQos: { FERRY_ASSIGN_OR_RETURN(out.maximum_qos, p.Byte()); break; }
      case kMaximumPacketSize: { FERRY_ASSIGN_OR_RETURN(out.maximum_packet_size, p.U32()); break; }
      case kUserProperty: {
        FERRY_ASSIGN_OR_RETURN(auto name, p.Str());
        FERRY_ASSIGN_OR_RETURN(auto value, p.Str());
        out.user.emplace_back(name, value);
        break;
      }
      // Read and dropped.
      case kRequestProblemInfo: case kRequestResponseInfo: case kRetainAvailable: case kWildcardAvailable:
      case kSubscriptionIdAvailable: case kSharedAvailable: { FERRY_RETURN_IF_ERROR(p.Byte()); break; }
      case kTopicAliasMaximum: case kTopicAlias: { FERRY_RETURN_IF_ERROR(p.U16()); break; }
      case kWillDelay: { FERRY_RETURN_IF_ERROR(p.U32()); break; }
      case kSubscriptionId: { FERRY_RETURN_IF_ERROR(p.VarInt()); break; }
      case kAuthMethod: case kAuthData: case kResponseInfo: case kServerReference: {
        FERRY_RETURN_IF_ERROR(p.Str());
        break;
      }
      default: return core::InvalidArgument(fmt::format("mqtt: unknown property 0x{:02x}", id));
    }
  }
  return out;
}

core::Result<Packet> DecodePublish(std::uint8_t flags, Reader& r, Version version) {
  Message p;
  p.qos = (flags >> 1) & 3;
  p.retain = flags & 1;
  p.dup = flags & 8;
  if (p.qos == 3) return core::InvalidArgument("mqtt: PUBLISH with QoS 3");
  FERRY_ASSIGN_OR_RETURN(const auto topic, r.Str());
  p.topic = topic;
  if (p.qos > 0) {
    FERRY_ASSIGN_OR_RETURN(p.id, r.U16());
    if (p.id == 0) return core::InvalidArgument("mqtt: PUBLISH with packet identifier 0");
  }
  if (version == Version::k5) {
    FERRY_ASSIGN_OR_RETURN(p.properties, ReadProperties(r));
  }
  if (!ValidTopicName(p.topic)) return core::InvalidArgument("mqtt: PUBLISH to an invalid topic name");
  p.payload = r.Rest();
  return p;
}

}  // namespace

std::string EncodeConnect(const Connect& c) {
  Writer w;
  w.Str("MQTT");
  w.Byte(static_cast<std::uint8_t>(c.version));
  std::uint8_t flags = c.clean ? 0x02 : 0;
  if (c.username) flags |= 0x80;
  if (c.password) flags |= 0x40;
  w.Byte(flags);
  w.U16(c.keep_alive_s);
  if (c.version == Version::k5) {
    Properties p;
    if (c.session_expiry_s) p.session_expiry = c.session_expiry_s;
    if (c.receive_maximum) p.receive_maximum = c.receive_maximum;
    WriteProperties(w, p);
  }
  w.Str(c.client_id);
  if (c.username) w.Str(*c.username);
  if (c.password) w.Str(*c.password);
  return Frame(PacketType::kConnect, 0, w.str());
}

std::string EncodePublish(const Message& p, Version version) {
  Writer w;
  w.Str(p.topic);
  if (p.qos > 0) w.U16(p.id);
  if (version == Version::k5) WriteProperties(w, p.properties);
  w.Raw(p.payload);
  const auto flags = static_cast<std::uint8_t>((p.dup ? 8 : 0) | (p.qos << 1) | (p.retain ? 1 : 0));
  return Frame(PacketType::kPublish, flags, w.str());
}

std::string EncodePuback(std::uint16_t id, Version) {
  Writer w;
  w.U16(id);  // 5: reason code 0 and no properties may be left out (3.4.2.1)
  return Frame(PacketType::kPuback, 0, w.str());
}

std::string EncodeSubscribe(std::uint16_t id, std::string_view filter, std::uint8_t qos, Version version) {
  Writer w;
  w.U16(id);
  if (version == Version::k5) w.VarInt(0);
  w.Str(filter);
  w.Byte(qos);
  return Frame(PacketType::kSubscribe, 0x02, w.str());
}

std::string EncodePingreq() { return std::string("\xC0\x00", 2); }

std::string EncodeDisconnect(Version) { return std::string("\xE0\x00", 2); }

core::Result<std::optional<std::size_t>> FrameSize(std::string_view buffer, std::size_t max_size) {
  std::uint32_t remaining = 0;
  for (std::size_t i = 1; i <= 4; ++i) {
    if (buffer.size() <= i) return std::optional<std::size_t>();
    const auto b = static_cast<std::uint8_t>(buffer[i]);
    remaining |= static_cast<std::uint32_t>(b & 0x7F) << (7 * (i - 1));
    if (!(b & 0x80)) {
      const std::size_t size = 1 + i + remaining;
      if (size > max_size) {
        return core::InvalidArgument(fmt::format("mqtt: a packet of {} bytes, over the limit of {}", size, max_size));
      }
      return buffer.size() >= size ? std::optional<std::size_t>(size) : std::optional<std::size_t>();
    }
  }
  return core::InvalidArgument("mqtt: a remaining length longer than four bytes");
}

core::Result<Packet> DecodePacket(std::string_view frame, Version version) {
  FERRY_ASSIGN_OR_RETURN(const auto size, FrameSize(frame, kMaxRemaining + 5));
  if (!size || *size != frame.size()) return core::InvalidArgument("mqtt: not one whole packet");
  Reader header(frame);
  FERRY_ASSIGN_OR_RETURN(const std::uint8_t first, header.Byte());
  FERRY_RETURN_IF_ERROR(header.VarInt());
  Reader r(header.Rest());
  const auto type = static_cast<PacketType>(first >> 4);
  const std::uint8_t flags = first & 0x0F;
  const bool v5 = version == Version::k5;
  switch (type) {
    case PacketType::kConnack: {
      Connack c;
      FERRY_ASSIGN_OR_RETURN(const std::uint8_t ack_flags, r.Byte());
      c.session_present = ack_flags & 1;
      FERRY_ASSIGN_OR_RETURN(c.code, r.Byte());
      if (v5 && !r.empty()) { FERRY_ASSIGN_OR_RETURN(c.properties, ReadProperties(r)); }
      return c;
    }
    case PacketType::kPublish: return DecodePublish(flags, r, version);
    case PacketType::kPuback: case PacketType::kPubrec: case PacketType::kPubrel: case PacketType::kPubcomp: {
      Ack a;
      a.type = type;
      FERRY_ASSIGN_OR_RETURN(a.id, r.U16());
      if (v5 && !r.empty()) {
        FERRY_ASSIGN_OR_RETURN(a.code, r.Byte());
        if (!r.empty()) { FERRY_ASSIGN_OR_RETURN(a.properties, ReadProperties(r)); }
      }
      return a;
    }
    case PacketType::kSuback: {
      Suback s;
      FERRY_ASSIGN_OR_RETURN(s.id, r.U16());
      if (v5) { FERRY_ASSIGN_OR_RETURN(s.properties, ReadProperties(r)); }
      for (const char c : r.Rest()) s.codes.push_back(static_cast<std::uint8_t>(c));
      if (s.codes.empty()) return core::InvalidArgument("mqtt: SUBACK without a return code");
      return s;
    }
    case PacketType::kPingresp: return Pingresp{};
    case PacketType::kDisconnect: {
      Disconnect d;
      if (v5 && !r.empty()) {
        FERRY_ASSIGN_OR_RETURN(d.code, r.Byte());
        if (!r.empty()) { FERRY_ASSIGN_OR_RETURN(d.properties, ReadProperties(r)); }
      }
      return d;
    }
    default:
      return core::InvalidArgument(fmt::format("mqtt: a client does not receive packets of type {}", first >> 4));
  }
}

std::string CodeText(std::uint8_t code, Version version, bool connack) {
  if (connack && version == Version::k311) {
    switch (code) {
      case 0: return "accepted";
      case 1: return "unacceptable protocol version";
      case 2: return "client identifier rejected";
      case 3: return "server unavailable";
      case 4: return "bad user name or password";
      case 5: return "not authorized";
      default: return fmt::format("return code {}", code);
    }
  }
  switch (code) {
    case 0x00: return "success";
    case 0x10: return "no matching subscribers";
    case 0x80: return "unspecified error";
    case 0x81: return "malformed packet";
    case 0x82: return "protocol error";
    case 0x83: return "implementation specific error";
    case 0x84: return "unsupported protocol version";
    case 0x85: return "client identifier not valid";
    case 0x86: return "bad user name or password";
    case 0x87: return "not authorized";
    case 0x88: return "server unavailable";
    case 0x89: return "server busy";
    case 0x8A: return "banned";
    case 0x8B: return "server shutting down";
    case 0x8D: return "keep alive timeout";
    case 0x8E: return "session taken over (another client connected with the same client id)";
    case 0x8F: return "topic filter invalid";
    case 0x90: return "topic name invalid";
    case 0x93: return "receive maximum exceeded";
    case 0x95: return "packet too large";
    case 0x97: return "quota exceeded";
    case 0x99: return "payload format invalid";
    case 0x9B: return "QoS not supported";
    case 0x9E: return "shared subscriptions not supported";
    case 0xA1: return "subscription identifiers not supported";
    case 0xA2: return "wildcard subscriptions not supported";
    default: return fmt::format("reason code 0x{:02x}", code);
  }
}

bool ValidFilter(std::string_view filter) {
  if (filter.empty() || filter.size() > 65535 || filter.find('\0') != std::string_view::npos) return false;
  std::size_t start = 0;
  while (true) {
    const auto end = filter.find('/', start);
    const auto level = filter.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (level.find_first_of("+#") != std::string_view::npos && level.size() != 1) return false;
    if (level == "#" && end != std::string_view::npos) return false;
    if (end == std::string_view::npos) return true;
    start = end + 1;
  }
}

bool ValidTopicName(std::string_view topic) {
  return !topic.empty() && topic.size() <= 65535 && topic.find_first_of(std::string_view("+#\0", 3)) == std::string_view::npos;
}

std::optional<std::vector<std::string_view>> MatchFilter(std::string_view filter, std::string_view topic) {
  if (!topic.empty() && topic.front() == '$' && !filter.empty() && (filter.front() == '+' || filter.front() == '#')) {
    return std::nullopt;
  }
  std::vector<std::string_view> levels;
  std::size_t f = 0, t = 0;
  while (true) {
    const auto fe = filter.find('/', f);
    const auto flevel = filter.substr(f, fe == std::string_view::npos ? std::string_view::npos : fe - f);
    if (flevel == "#") {
      levels.push_back(t <= topic.size() ? topic.substr(std::min(t, topic.size())) : std::string_view());
      return levels;
    }
    if (t > topic.size()) {
      return std::nullopt;  // the topic has fewer levels
    }
    const auto te = topic.find('/', t);
    const auto tlevel = topic.substr(t, te == std::string_view::npos ? std::string_view::npos : te - t);
    if (flevel == "+") {
      levels.push_back(tlevel);
    } else if (flevel != tlevel) {
      return std::nullopt;
    }
    if (fe == std::string_view::npos || te == std::string_view::npos) {
      if (fe == std::string_view::npos && te == std::string_view::npos) return levels;
      // "a/#" also matches "a" (the parent level): the filter has one level left and it is #.
      if (te == std::string_view::npos && filter.substr(fe + 1) == "#") {
        levels.emplace_back();
        return levels;
      }
      return std::nullopt;
    }
    f = fe + 1;
    t = te + 1;
  }
}

core::Result<std::string> ExpandTopic(std::string_view pattern, const std::vector<std::string_view>& levels) {
  std::string out;
  out.reserve(pattern.size());
  for (std::size_t i = 0; i < pattern.size();) {
    if (pattern[i] != '{') {
      out.push_back(pattern[i++]);
      continue;
    }
    const auto close = pattern.find('}', i);
    if (close == std::string_view::npos) return core::InvalidArgument(fmt::format("'{}': a '{{' without its '}}'", pattern));
    std::size_t n = 0;
    const auto digits = pattern.substr(i + 1, close - i - 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (ec != std::errc() || end != digits.data() + digits.size() || n < 1) {
      return core::InvalidArgument(fmt::format("'{}': {{{}}} is not a wildcard number such as {{1}}", pattern, digits));
    }
    if (n > levels.size()) {
      return core::InvalidArgument(fmt::format("'{}': {{{}}} but the source filter has {} wildcard(s)", pattern, n,
                                               levels.size()));
    }
    out.append(levels[n - 1]);
    i = close + 1;
  }
  if (!ValidTopicName(out)) return core::InvalidArgument(fmt::format("'{}' makes '{}', not a topic name", pattern, out));
  return out;
}

}  // namespace ferry::stream::mqtt
