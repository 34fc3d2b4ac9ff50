// The messages between ferry and a Python worker process (python_worker.h), as pure functions.
//
// Over the socket each message is a frame: a 4-byte little-endian length, then that many bytes.
// Inside, integers are little-endian, strings are a 4-byte length and their bytes, tensors their
// name, datatype name, dims and raw bytes (core::Tensor's layout, BYTES length-prefixed):
//
//   ferry -> worker   WorkerLoad      what LoadPythonModel needs, and the signature ferry resolved
//   worker -> ferry   WorkerReply     ok, or an error (code and message)
//   ferry -> worker   WorkerExecute   a batch's inputs and the outputs wanted
//   worker -> ferry   WorkerReply     ok with the outputs, or an error
//
// Both ends come from the same build; the decoders still check every length, so that a worker
// (running a model's code) cannot make ferry read out of bounds. Decode errors are kInternal.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/inference.h"
#include "core/tensor.h"

namespace ferry::backends::python {

struct WorkerLoad {
  std::string model_name;
  std::int64_t version = 0;
  std::string version_dir;
  std::string model_file;
  std::map<std::string, std::string> parameters;
  std::map<std::string, std::string> flavor;
  // PythonFactory (python_model.h)
  std::string function;
  std::map<std::string, std::string> kwargs;
  bool pass_outputs = false;
  std::string platform;
  core::ModelSignature signature;
};

struct WorkerExecute {
  std::vector<core::Tensor> inputs;
  std::vector<std::string> outputs;
};

struct WorkerReply {
  core::Result<std::vector<core::Tensor>> outputs = std::vector<core::Tensor>();
};

std::string EncodeWorkerLoad(const WorkerLoad& load);
core::Result<WorkerLoad> DecodeWorkerLoad(std::string_view payload);

// Inputs are encoded from spans: ferry's request tensors are not copied first.
std::string EncodeWorkerExecute(std::span<const core::Tensor> inputs, std::span<const std::string> outputs);
core::Result<WorkerExecute> DecodeWorkerExecute(std::string_view payload);

std::string EncodeWorkerReply(const core::Result<std::vector<core::Tensor>>& outputs);
core::Result<WorkerReply> DecodeWorkerReply(std::string_view payload);

}  // namespace ferry::backends::python
