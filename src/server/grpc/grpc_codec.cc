#include "server/grpc/grpc_codec.h"

#include <charconv>
#include <fmt/format.h>
#include <limits>

namespace ferry::grpc_frontend {
namespace {

using core::DataType;
using core::Result;

core::Parameters DecodeParameters(const google::protobuf::Map<std::string, inference::InferParameter>& params) {
  core::Parameters out;
  for (const auto& [key, value] : params) {
    switch (value.parameter_choice_case()) {
      case inference::InferParameter::kBoolParam: out.emplace(key, value.bool_param()); break;
      case inference::InferParameter::kInt64Param: out.emplace(key, value.int64_param()); break;
      case inference::InferParameter::kStringParam: out.emplace(key, value.string_param()); break;
      case inference::InferParameter::kDoubleParam: out.emplace(key, value.double_param()); break;
      case inference::InferParameter::kUint64Param:
        if (value.uint64_param() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
          out.emplace(key, static_cast<std::int64_t>(value.uint64_param()));
        } else {
          out.emplace(key, static_cast<double>(value.uint64_param()));
        }
        break;
      case inference::InferParameter::PARAMETER_CHOICE_NOT_SET: break;
    }
  }
  return out;
}

void EncodeParameters(const core::Parameters& params, google::protobuf::Map<std::string, inference::InferParameter>* out) {
  for (const auto& [key, value] : params) {
    inference::InferParameter& p = (*out)[key];
    std::visit(
        [&](const auto& v) {
          using V = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<V, bool>) p.set_bool_param(v);
          else if constexpr (std::is_same_v<V, std::int64_t>) p.set_int64_param(v);
          else if constexpr (std::is_same_v<V, double>) p.set_double_param(v);
          else p.set_string_param(v);
        },
        value);
  }
}

// Copies typed contents into a tensor, checking the count and each value's range.
template <typename T, typename Repeated>
Result<core::Tensor> FromContents(std::string name, DataType type, core::Shape shape, const Repeated& values,
                                  std::string_view field) {
  const std::int64_t count = shape.ElementCount().value_or(-1);
  if (count != values.size()) {
    return core::InvalidArgument(fmt::format("input '{}': shape {} needs {} values, contents.{} has {}", name,
                                             shape.ToString(), count, field, values.size()));
  }
  FERRY_ASSIGN_OR_RETURN(core::Tensor tensor, core::Tensor::Allocate(std::move(name), type, std::move(shape)));
  auto out = tensor.values<T>();
  for (int i = 0; i < values.size(); ++i) {
    const auto v = values.Get(i);
    if constexpr (!std::is_same_v<T, bool> && std::is_integral_v<T> && sizeof(T) < sizeof(v)) {
      if (v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max()) {
        return core::InvalidArgument(fmt::format("input '{}': element {} ({}) is out of range for {}",
                                                 tensor.name(), i, v, core::DataTypeName(type)));
      }
    }
    out[i] = static_cast<T>(v);
  }
  return tensor;
}

Result<core::Tensor> FromBytesContents(std::string name, core::Shape shape,
                                       const google::protobuf::RepeatedPtrField<std::string>& values) {
  const std::int64_t count = shape.ElementCount().value_or(-1);
  if (count != values.size()) {
    return core::InvalidArgument(fmt::format("input '{}': shape {} needs {} values, contents.bytes_contents has {}",
                                             name, shape.ToString(), count, values.size()));
  }
  std::size_t size = 0;
  for (const auto& v : values) size += 4 + v.size();
  core::Tensor tensor = core::Tensor::AllocateBytes(std::move(name), DataType::kBytes, std::move(shape), size);
  std::byte* out = tensor.bytes().data();
  for (const auto& v : values) out += core::WriteBytesElement(out, v);
  return tensor;
}

Result<core::Tensor> DecodeContents(const inference::ModelInferRequest::InferInputTensor& input, DataType type,
                                    core::Shape shape) {
  const auto& c = input.contents();
  std::string name = input.name();
  switch (type) {
    case DataType::kBool: return FromContents<std::uint8_t>(name, type, shape, c.bool_contents(), "bool_contents");
    case DataType::kUint8: return FromContents<std::uint8_t>(name, type, shape, c.uint_contents(), "uint_contents");
    case DataType::kUint16: return FromContents<std::uint16_t>(name, type, shape, c.uint_contents(), "uint_contents");
    case DataType::kUint32: return FromContents<std::uint32_t>(name, type, shape, c.uint_contents(), "uint_contents");
    case DataType::kUint64:
      return FromContents<std::uint64_t>(name, type, shape, c.uint64_contents(), "uint64_contents");
    case DataType::kInt8: return FromContents<std::int8_t>(name, type, shape, c.int_contents(), "int_contents");
    case DataType::kInt16: return FromContents<std::int16_t>(name, type, shape, c.int_contents(), "int_contents");
    case DataType::kInt32: return FromContents<std::int32_t>(name, type, shape, c.int_contents(), "int_contents");
    case DataType::kInt64: return FromContents<std::int64_t>(name, type, shape, c.int64_contents(), "int64_contents");
    case DataType::kFp32: return FromContents<float>(name, type, shape, c.fp32_contents(), "fp32_contents");
    case DataType::kFp64: return FromContents<double>(name, type, shape, c.fp64_contents(), "fp64_contents");
    case DataType::kBytes: return FromBytesContents(name, shape, c.bytes_contents());
    case DataType::kFp16:
    case DataType::kBf16: break;
  }
  return core::InvalidArgument(fmt::format("input '{}': {} data travels only in raw_input_contents", name,
                                           core::DataTypeName(type)));
}

inference::DataType ConfigDataType(DataType type) {
  switch (type) {
    case DataType::kBool: return inference::TYPE_BOOL;
    case DataType::kUint8: return inference::TYPE_UINT8;
    case DataType::kUint16: return inference::TYPE_UINT16;
    case DataType::kUint32: return inference::TYPE_UINT32;
    case DataType::kUint64: return inference::TYPE_UINT64;
    case DataType::kInt8: return inference::TYPE_INT8;
    case DataType::kInt16: return inference::TYPE_INT16;
    case DataType::kInt32: return inference::TYPE_INT32;
    case DataType::kInt64: return inference::TYPE_INT64;
    case DataType::kFp16: return inference::TYPE_FP16;
    case DataType::kFp32: return inference::TYPE_FP32;
    case DataType::kFp64: return inference::TYPE_FP64;
    case DataType::kBf16: return inference::TYPE_BF16;
    case DataType::kBytes: return inference::TYPE_STRING;
  }
  return inference::TYPE_INVALID;
}

}  // namespace

grpc::Status ToStatus(const core::Error& error) {
  grpc::StatusCode code = grpc::StatusCode::INTERNAL;
  switch (error.code) {
    case core::ErrorCode::kRejected:
    case core::ErrorCode::kInvalidArgument: code = grpc::StatusCode::INVALID_ARGUMENT; break;
    case core::ErrorCode::kUnauthenticated: code = grpc::StatusCode::UNAUTHENTICATED; break;
    case core::ErrorCode::kPermissionDenied: code = grpc::StatusCode::PERMISSION_DENIED; break;
    case core::ErrorCode::kNotFound: code = grpc::StatusCode::NOT_FOUND; break;
    case core::ErrorCode::kPayloadTooLarge:
    case core::ErrorCode::kResourceExhausted: code = grpc::StatusCode::RESOURCE_EXHAUSTED; break;
    case core::ErrorCode::kInternal: code = grpc::StatusCode::INTERNAL; break;
    case core::ErrorCode::kUnimplemented: code = grpc::StatusCode::UNIMPLEMENTED; break;
    case core::ErrorCode::kUnavailable: code = grpc::StatusCode::UNAVAILABLE; break;
    case core::ErrorCode::kDeadlineExceeded: code = grpc::StatusCode::DEADLINE_EXCEEDED; break;
  }
  return grpc::Status(code, error.message);
}

core::Result<std::int64_t> ParseVersion(const std::string& version) {
  if (version.empty()) return 0;
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(version.data(), version.data() + version.size(), v);
  if (ec != std::errc() || end != version.data() + version.size() || v < 1) {
    return core::InvalidArgument(fmt::format("model version '{}' is not a positive integer", version));
  }
  return v;
}

core::Result<core::InferenceRequest> DecodeInferRequest(const inference::ModelInferRequest& request,
                                                        const core::RequestLimits& limits) {
  core::InferenceRequest out;
  if (static_cast<std::size_t>(request.inputs_size()) > limits.max_inputs) {
    return core::InvalidArgument(fmt::format("request has {} inputs, more than the limit of {} (--max-inputs)",
                                             request.inputs_size(), limits.max_inputs));
  }
  out.model_name = request.model_name();
  FERRY_ASSIGN_OR_RETURN(out.model_version, ParseVersion(request.model_version()));
  out.id = request.id();
  out.parameters = DecodeParameters(request.parameters());
  const bool raw = request.raw_input_contents_size() > 0;
  if (raw && request.raw_input_contents_size() != request.inputs_size()) {
    return core::InvalidArgument(fmt::format("raw_input_contents has {} entries for {} inputs; send one per input",
                                             request.raw_input_contents_size(), request.inputs_size()));
  }
  out.inputs.reserve(request.inputs_size());
  for (int i = 0; i < request.inputs_size(); ++i) {
    const auto& input = request.inputs(i);
    const auto type = core::ParseDataType(input.datatype());
    if (!type) {
      return core::InvalidArgument(fmt::format("input '{}': unknown datatype '{}' (use BOOL, UINT8, UINT16, UINT32, "
                                               "UINT64, INT8, INT16, INT32, INT64, FP16, FP32, FP64, BF16 or BYTES)",
                                               input.name(), input.datatype()));
    }
    core::Shape shape;
    for (std::int64_t d : input.shape()) {
      if (d < 0) {
        return core::InvalidArgument(fmt::format("input '{}': 'shape' must hold non-negative integers, got {}",
                                                 input.name(), d));
      }
      shape.mutable_dims().push_back(d);
    }
    if (!shape.ElementCount() || *shape.ElementCount() > limits.max_tensor_elements) {
      return core::InvalidArgument(fmt::format("input '{}': shape {} has more elements than the limit of {} "
                                               "(--max-tensor-elements)", input.name(), shape.ToString(),
                                               limits.max_tensor_elements));
    }
    if (*type == DataType::kBytes) {
      std::size_t longest = 0;
      if (raw) {
        core::ForEachBytesElement(std::as_bytes(std::span(request.raw_input_contents(i).data(),
                                                          request.raw_input_contents(i).size())),
                                  [&](std::string_view s) { longest = std::max(longest, s.size()); });
      } else {
        for (const auto& s : input.contents().bytes_contents()) longest = std::max(longest, s.size());
      }
      if (longest > limits.max_bytes_element) {
        return core::InvalidArgument(fmt::format("input '{}': an element has {} bytes, more than the limit of {} "
                                                 "(--max-bytes-element)", input.name(), longest,
                                                 limits.max_bytes_element));
      }
    }
    if (raw) {
      if (input.has_contents()) {
        return core::InvalidArgument(fmt::format("input '{}' carries contents while raw_input_contents is used; "
                                                 "send one or the other", input.name()));
      }
      const std::string& bytes = request.raw_input_contents(i);
      FERRY_ASSIGN_OR_RETURN(auto tensor, core::Tensor::FromRaw(input.name(), *type, std::move(shape),
                                                                std::as_bytes(std::span(bytes.data(), bytes.size()))));
      out.inputs.push_back(std::move(tensor));
    } else {
      FERRY_ASSIGN_OR_RETURN(auto tensor, DecodeContents(input, *type, std::move(shape)));
      out.inputs.push_back(std::move(tensor));
    }
  }
  for (const auto& output : request.outputs()) {
    out.outputs.push_back({.name = output.name(), .parameters = DecodeParameters(output.parameters())});
  }
  return out;
}

void EncodeInferResponse(const core::InferenceResponse& response, inference::ModelInferResponse* out) {
  out->set_model_name(response.model_name);
  out->set_model_version(std::to_string(response.model_version));
  out->set_id(response.id);
  EncodeParameters(response.parameters, out->mutable_parameters());
  // A router's route, as parameters (as in V2 JSON): ferry-model-version a number, the rest strings.
  response.route.ForEachField([&](std::string_view key, std::string_view value) {
    inference::InferParameter& p = (*out->mutable_parameters())[std::string(key)];
    if (key == "ferry-model-version") {
      p.set_int64_param(response.route.version);
    } else {
      p.set_string_param(std::string(value));
    }
  });
  for (const core::Tensor& t : response.outputs) {
    auto* tensor = out->add_outputs();
    tensor->set_name(t.name());
    tensor->set_datatype(std::string(core::DataTypeName(t.type())));
    for (auto d : t.shape().dims()) tensor->add_shape(d);
    out->add_raw_output_contents(reinterpret_cast<const char*>(t.bytes().data()), t.byte_size());
  }
}

void EncodeInferRequest(const core::InferenceRequest& request, inference::ModelInferRequest* out) {
  out->set_model_name(request.model_name);
  if (request.model_version > 0) out->set_model_version(std::to_string(request.model_version));
  out->set_id(request.id);
  EncodeParameters(request.parameters, out->mutable_parameters());
  for (const core::Tensor& t : request.inputs) {
    auto* input = out->add_inputs();
    input->set_name(t.name());
    input->set_datatype(std::string(core::DataTypeName(t.type())));
    for (auto d : t.shape().dims()) input->add_shape(d);
    out->add_raw_input_contents(reinterpret_cast<const char*>(t.bytes().data()), t.byte_size());
  }
  for (const auto& wanted : request.outputs) {
    auto* output = out->add_outputs();
    output->set_name(wanted.name);
    EncodeParameters(wanted.parameters, output->mutable_parameters());
  }
}

core::Result<core::InferenceResponse> DecodeInferResponse(const inference::ModelInferResponse& response) {
  core::InferenceResponse out;
  out.model_name = response.model_name();
  FERRY_ASSIGN_OR_RETURN(out.model_version, ParseVersion(response.model_version()));
  out.id = response.id();
  out.parameters = DecodeParameters(response.parameters());
  if (response.raw_output_contents_size() != response.outputs_size()) {
    return core::InvalidArgument(fmt::format("response has {} raw_output_contents for {} outputs",
                                             response.raw_output_contents_size(), response.outputs_size()));
  }
  for (int i = 0; i < response.outputs_size(); ++i) {
    const auto& output = response.outputs(i);
    const auto type = core::ParseDataType(output.datatype());
    if (!type) return core::InvalidArgument(fmt::format("output '{}' has unknown datatype '{}'", output.name(),
                                                        output.datatype()));
    core::Shape shape(std::vector<std::int64_t>(output.shape().begin(), output.shape().end()));
    const std::string& raw = response.raw_output_contents(i);
    FERRY_ASSIGN_OR_RETURN(auto tensor, core::Tensor::FromRaw(output.name(), *type, std::move(shape),
                                                              std::as_bytes(std::span(raw.data(), raw.size()))));
    out.outputs.push_back(std::move(tensor));
  }
  return out;
}

void EncodeModelMetadata(const runtime::ModelMetadata& metadata, inference::ModelMetadataResponse* out) {
  out->set_name(metadata.name);
  for (auto v : metadata.versions) out->add_versions(std::to_string(v));
  out->set_platform(metadata.platform);
  auto add = [](const core::TensorSpec& spec, inference::ModelMetadataResponse::TensorMetadata* t) {
    t->set_name(spec.name);
    t->set_datatype(std::string(core::DataTypeName(spec.type)));
    for (auto d : spec.shape.dims()) t->add_shape(d);
  };
  for (const auto& spec : metadata.signature.inputs) add(spec, out->add_inputs());
  for (const auto& spec : metadata.signature.outputs) add(spec, out->add_outputs());
}

void EncodeModelConfig(const runtime::ModelConfiguration& c, inference::ModelConfig* out) {
  out->set_name(c.config.name);
  out->set_platform(c.platform);
  out->set_backend(c.backend);
  out->set_max_batch_size(static_cast<std::int32_t>(c.config.max_batch_size));
  auto* policy = out->mutable_version_policy();
  switch (c.config.version_policy.kind) {
    case model::VersionPolicy::Kind::kLatest:
      policy->mutable_latest()->set_num_versions(static_cast<std::uint32_t>(c.config.version_policy.latest));
      break;
    case model::VersionPolicy::Kind::kAll: policy->mutable_all(); break;
    case model::VersionPolicy::Kind::kSpecific:
      for (auto v : c.config.version_policy.versions) policy->mutable_specific()->add_versions(v);
      break;
  }
  const std::size_t skip = c.config.max_batch_size > 0 ? 1 : 0;
  for (const auto& spec : c.signature.inputs) {
    auto* input = out->add_input();
    input->set_name(spec.name);
    input->set_data_type(ConfigDataType(spec.type));
    for (std::size_t i = skip; i < spec.shape.rank(); ++i) input->add_dims(spec.shape[i]);
  }
  for (const auto& spec : c.signature.outputs) {
    auto* output = out->add_output();
    output->set_name(spec.name);
    output->set_data_type(ConfigDataType(spec.type));
    for (std::size_t i = skip; i < spec.shape.rank(); ++i) output->add_dims(spec.shape[i]);
  }
  if (c.config.dynamic_batching.enabled) {
    const auto& batching = c.config.dynamic_batching;
    auto* dynamic = out->mutable_dynamic_batching();
    for (auto size : batching.preferred_batch_sizes) dynamic->add_preferred_batch_size(static_cast<std::int32_t>(size));
    dynamic->set_max_queue_delay_microseconds(static_cast<std::uint64_t>(batching.max_queue_delay_us));
    dynamic->mutable_default_queue_policy()->set_max_queue_size(static_cast<std::uint32_t>(batching.max_queue_size));
    dynamic->mutable_default_queue_policy()->set_default_timeout_microseconds(
        static_cast<std::uint64_t>(batching.default_timeout_us));
    dynamic->mutable_default_queue_policy()->set_allow_timeout_override(true);
  }
  auto* group = out->add_instance_group();
  group->set_name(c.config.name);
  group->set_kind(inference::ModelInstanceGroup::KIND_CPU);
  group->set_count(c.config.instances);
  for (const auto& [key, value] : c.config.parameters) (*out->mutable_parameters())[key].set_string_value(value);
}

void EncodeStatistics(const std::vector<runtime::VersionStatistics>& stats, inference::ModelStatisticsResponse* out) {
  auto duration = [](const sched::DurationStat& d, inference::StatisticDuration* o) {
    o->set_count(d.count);
    o->set_ns(d.ns);
  };
  for (const auto& v : stats) {
    auto* m = out->add_model_stats();
    m->set_name(v.name);
    m->set_version(std::to_string(v.version));
    m->set_last_inference(static_cast<std::uint64_t>(v.stats.last_inference_ms));
    m->set_inference_count(v.stats.inference_count);
    m->set_execution_count(v.stats.execution_count);
    auto* s = m->mutable_inference_stats();
    duration(v.stats.success, s->mutable_success());
    duration(v.stats.fail, s->mutable_fail());
    duration(v.stats.queue, s->mutable_queue());
    duration(v.stats.compute_input, s->mutable_compute_input());
    duration(v.stats.compute_infer, s->mutable_compute_infer());
    duration(v.stats.compute_output, s->mutable_compute_output());
    s->mutable_cache_hit();
    s->mutable_cache_miss();
    for (const auto& b : v.stats.batch_stats) {
      auto* batch = m->add_batch_stats();
      batch->set_batch_size(b.batch_size);
      duration(b.compute_input, batch->mutable_compute_input());
      duration(b.compute_infer, batch->mutable_compute_infer());
      duration(b.compute_output, batch->mutable_compute_output());
    }
  }
}

}  // namespace ferry::grpc_frontend
