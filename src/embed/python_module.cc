// ferry's Python module (docs/embedding.md, "From Python"): the embedding API (include/ferry) for
// notebooks and tests, built on libferry.so and its public headers alone.
//
//   import ferry, numpy as np
//   with ferry.Server("examples/models") as s:
//       s.infer("pima", {"features": np.array([[6, 148, 72, 35, 0, 33.6, 0.627, 50]], dtype=np.float32)})
//       s.predict("pima-pipeline", [{"preg": 6, ...}])
//       s.test("/v2/models/pima/infer", {"inputs": [...]})
//
// numpy crosses without copies where it can: a C-contiguous input array of the model's datatype is
// borrowed for the call (TensorView), an output array is a view of the answer's own bytes (kept
// alive by the array). Python models of the repository run in this interpreter (the python plugin
// finds it running). Every call that waits releases the GIL, so a Python model can run meanwhile
// and other Python threads can call the same Server.
#include <pybind11/eval.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <ferry/ferry.h>

#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace {

namespace py = pybind11;

// The Error class and its subclasses, one by code (so that `except LookupError` sees NOT_FOUND).
constexpr const char* kErrorClasses = R"PY(
class Error(Exception):
    """A call ferry refused or failed: `code` ("NOT_FOUND", ...), `http_status` (404, ...), the message."""
    def __init__(self, message, code, http_status):
        super().__init__(message)
        self.code = code
        self.http_status = http_status

class InvalidArgument(Error, ValueError): pass
class NotFound(Error, LookupError): pass
class Rejected(Error, ValueError): pass
class Unavailable(Error): pass
)PY";

struct CodeInfo {
  const char* name;
  int http_status;
  const char* error_class;
};

CodeInfo InfoOf(ferry::Status::Code code) {
  using C = ferry::Status::Code;
  switch (code) {
    case C::kOk: return {"OK", 200, "Error"};
    case C::kInvalidArgument: return {"INVALID_ARGUMENT", 400, "InvalidArgument"};
    case C::kUnauthenticated: return {"UNAUTHENTICATED", 401, "Error"};
    case C::kPermissionDenied: return {"PERMISSION_DENIED", 403, "Error"};
    case C::kNotFound: return {"NOT_FOUND", 404, "NotFound"};
    case C::kRejected: return {"REJECTED", 422, "Rejected"};
    case C::kPayloadTooLarge: return {"PAYLOAD_TOO_LARGE", 413, "Error"};
    case C::kResourceExhausted: return {"RESOURCE_EXHAUSTED", 429, "Error"};
    case C::kInternal: return {"INTERNAL", 500, "Error"};
    case C::kUnimplemented: return {"UNIMPLEMENTED", 501, "Error"};
    case C::kUnavailable: return {"UNAVAILABLE", 503, "Unavailable"};
    case C::kDeadlineExceeded: return {"DEADLINE_EXCEEDED", 504, "Error"};
  }
  return {"INTERNAL", 500, "Error"};
}

// The module, as long as the interpreter lives (sys.modules holds it; not released at exit).
py::handle& Module() {
  static py::handle module;  // set by PYBIND11_MODULE, before any call
  return module;
}

// Raises the Status as ferry.Error (its subclass for the code); the GIL must be held.
[[noreturn]] void Raise(const ferry::Status& status) {
  const CodeInfo info = InfoOf(status.code());
  py::object error = Module().attr(info.error_class)(status.message(), info.name, info.http_status);
  PyErr_SetObject(error.get_type().ptr(), error.ptr());
  throw py::error_already_set();
}

void Check(const ferry::Status& status) {
  if (!status.ok()) Raise(status);
}

py::object Json() { return py::module_::import("json"); }

std::optional<ferry::DataType> TypeOfDtype(const py::dtype& dtype) {
  const char kind = dtype.kind();
  const auto size = dtype.itemsize();
  using T = ferry::DataType;
  if (kind == 'b') return T::kBool;
  if (kind == 'O' || kind == 'S' || kind == 'U') return T::kBytes;
  if (kind == 'u' || kind == 'i' || kind == 'f') {
    static const std::map<std::pair<char, py::ssize_t>, T> kTypes = {
        {{'u', 1}, T::kUint8}, {{'u', 2}, T::kUint16}, {{'u', 4}, T::kUint32}, {{'u', 8}, T::kUint64},
        {{'i', 1}, T::kInt8},  {{'i', 2}, T::kInt16},  {{'i', 4}, T::kInt32},  {{'i', 8}, T::kInt64},
        {{'f', 2}, T::kFp16},  {{'f', 4}, T::kFp32},   {{'f', 8}, T::kFp64}};
    if (auto it = kTypes.find({kind, size}); it != kTypes.end()) return it->second;
  }
  return std::nullopt;
}

// numpy's name of a datatype ("float32"); BF16, which numpy lacks, as its bits ("uint16").
const char* DtypeOf(ferry::DataType type) {
  using T = ferry::DataType;
  switch (type) {
    case T::kBool: return "bool";
    case T::kUint8: return "uint8";
    case T::kUint16: case T::kBf16: return "uint16";
    case T::kUint32: return "uint32";
    case T::kUint64: return "uint64";
    case T::kInt8: return "int8";
    case T::kInt16: return "int16";
    case T::kInt32: return "int32";
    case T::kInt64: return "int64";
    case T::kFp16: return "float16";
    case T::kFp32: return "float32";
    case T::kFp64: return "float64";
    case T::kBytes: return "object";
  }
  return "object";
}

std::optional<ferry::DataType> TypeNamed(std::string_view name) {
  for (int i = 0; i <= static_cast<int>(ferry::DataType::kBytes); ++i) {
    const auto type = static_cast<ferry::DataType>(i);
    if (ferry::DataTypeName(type) == name) return type;
  }
  return std::nullopt;
}

// The inputs of one call: the views handed to ferry and what keeps their memory alive.
struct Inputs {
  std::vector<ferry::TensorView> views;
  std::vector<py::array> arrays;    // borrowed (or converted) arrays
  std::vector<std::string> bytes;   // BYTES tensors, serialized
};

// A BYTES tensor's elements, each a 4-byte little-endian length then its bytes.
std::string SerializeBytes(const py::array& array) {
  std::string out;
  for (py::handle item : py::list(array.attr("ravel")())) {
    std::string element;
    if (py::isinstance<py::bytes>(item)) {
      element = item.cast<std::string>();
    } else if (py::isinstance<py::str>(item)) {
      element = item.cast<std::string>();  // UTF-8
    } else {
      element = py::str(item).cast<std::string>();
    }
    const auto length = static_cast<std::uint32_t>(element.size());
    char prefix[4];
    std::memcpy(prefix, &length, sizeof prefix);
    out.append(prefix, sizeof prefix).append(element);
  }
  return out;
}

// An output as numpy: a view of the tensor's bytes that keeps the tensor alive; BYTES as an object
// array of bytes.
py::array ToNumpy(ferry::Tensor tensor) {
  std::vector<py::ssize_t> shape(tensor.shape().begin(), tensor.shape().end());
  if (tensor.type() == ferry::DataType::kBytes) {
    py::list items;
    for (std::string_view element : tensor.strings()) items.append(py::bytes(element.data(), element.size()));
    return py::module_::import("numpy").attr("array")(items, py::arg("dtype") = "object").attr("reshape")(shape);
  }
  auto* owned = new ferry::Tensor(std::move(tensor));
  py::capsule owner(owned, [](void* p) { delete static_cast<ferry::Tensor*>(p); });
  return py::array(py::dtype(DtypeOf(owned->type())), shape, const_cast<void*>(owned->data()), owner);
}

class PyServer;
std::set<PyServer*>& Living() {  // guarded by the GIL
  static auto* living = new std::set<PyServer*>;
  return *living;
}

class PyServer {
 public:
  PyServer(const std::string& model_repository, const std::string& backend_directory, bool explicit_model_control,
           double ready_timeout, const std::string& log_level, int http_port, const std::string& http_host,
           int grpc_port, const std::string& grpc_host) {
    ferry::Server::Options options;
    options.model_repository = model_repository;
    options.backend_directory = backend_directory;
    options.explicit_model_control = explicit_model_control;
    options.ready_timeout = std::chrono::milliseconds(static_cast<std::int64_t>(ready_timeout * 1000));
    options.log_level = log_level;
    options.http_port = http_port;
    options.http_host = http_host;
    options.grpc_port = grpc_port;
    options.grpc_host = grpc_host;
    ferry::Status opened;
    {
      py::gil_scoped_release unlocked;  // a Python model loads on ferry's threads meanwhile
      opened = ferry::Server::Open(options, &server_);
    }
    Check(opened);
    Living().insert(this);
  }
  ~PyServer() { Close(); }

  // Stops the server (waiting for calls in flight) and unloads its models; the GIL must be held.
  void Close() {
    Living().erase(this);
    if (!server_) return;
    py::gil_scoped_release unlocked;
    server_.reset();
  }

  ferry::Server& server() {
    if (!server_) Raise({ferry::Status::Code::kUnavailable, "the server is closed"});
    return *server_;
  }

  py::dict Infer(const std::string& model, const py::dict& inputs, std::int64_t version,
                 const std::optional<std::vector<std::string>>& outputs) {
    ferry::InferRequest request{.model = model, .version = version, .inputs = {}, .outputs = outputs.value_or(
                                                                                         std::vector<std::string>{})};
    Inputs held = Prepare(model, inputs);
    request.inputs = std::move(held.views);
    ferry::InferResult result;
    ferry::Status status;
    {
      py::gil_scoped_release unlocked;
      status = server().Infer(request, &result);
    }
    Check(status);
    py::dict answer;
    for (auto& tensor : result.outputs) {
      const std::string name = tensor.name();
      answer[py::str(name)] = ToNumpy(std::move(tensor));
    }
    return answer;
  }

  // One record (a dict) answers its prediction, or raises its rejection; a list answers a list in
  // which a rejected record is its own {"error": ...}, as /predict answers.
  py::object Predict(const std::string& model, const py::object& records) {
    const bool one = py::isinstance<py::dict>(records);
    py::dict body;
    if (one) {
      body = records;
    } else {
      body["instances"] = py::list(records);
    }
    auto [status, text] = Exchange("POST", "/v2/models/" + model + "/predict", JsonText(body));
    py::object answer = FromJson(text);
    const bool listed = py::isinstance<py::dict>(answer) && answer.contains("predictions");
    if (!listed || (one && !status.ok())) {
      if (listed && py::len(answer["predictions"]) == 1) {  // the record's own reason, not the list's JSON
        py::object first = answer["predictions"][py::int_(0)];
        if (py::isinstance<py::dict>(first) && first.contains("error")) {
          Raise({status.code(), first["error"].cast<std::string>()});
        }
      }
      Check(status);
    }
    py::object predictions = answer["predictions"];
    return one && py::len(predictions) == 1 ? py::object(predictions[py::int_(0)]) : predictions;
  }

  // Any route, as MLRun's mock server's test(): the answer's JSON as Python values; an error
  // raised as ferry.Error, or (silent) answered as its {"error": ...}.
  py::object Call(const std::string& method, const std::string& path, const py::object& body,
                  const std::string& chosen_method, bool silent) {
    const std::string text = JsonText(body);
    const std::string verb = !chosen_method.empty() ? chosen_method : !method.empty() ? method : text.empty() ? "GET" : "POST";
    auto [status, answer] = Exchange(verb, path, text);
    if (!status.ok() && !silent) Raise(status);
    return FromJson(answer);
  }

  py::object Metadata(const std::string& model) { return Call("GET", "/v2/models/" + model, py::none(), "", false); }

  py::object Statistics(const std::string& model) {
    return Call("GET", model.empty() ? "/v2/models/stats" : "/v2/models/" + model + "/stats", py::none(), "", false);
  }

  void Load(const std::string& model) { Control(model, true); }
  void Unload(const std::string& model) { Control(model, false); }

  bool ready() { return server().IsReady(); }
  std::string not_ready_reason() { return server().NotReadyReason(); }
  int http_port() { return server().http_port(); }
  int grpc_port() { return server().grpc_port(); }

 private:
  void Control(const std::string& model, bool load) {
    declared_.erase(model);
    ferry::Status status;
    {
      py::gil_scoped_release unlocked;
      status = load ? server().Load(model) : server().Unload(model);
    }
    Check(status);
  }

  // A body as JSON text: a str or bytes as it is, None as nothing, anything else json.dumps'd.
  static std::string JsonText(const py::object& body) {
    if (py::isinstance<py::str>(body) || py::isinstance<py::bytes>(body)) return body.cast<std::string>();
    if (body.is_none()) return {};
    return Json().attr("dumps")(body).cast<std::string>();
  }

  // An answer as Python values: its JSON parsed; a text that is not JSON (GET /metrics) as a str.
  static py::object FromJson(const std::string& answer) {
    if (answer.empty()) return py::none();
    try {
      return Json().attr("loads")(answer);
    } catch (py::error_already_set&) {
      return py::str(answer);
    }
  }

  // One call of a route, the GIL released while ferry answers.
  std::pair<ferry::Status, std::string> Exchange(const std::string& verb, const std::string& path,
                                                 const std::string& text) {
    ferry::Server& target = server();
    std::string answer;
    py::gil_scoped_release unlocked;
    ferry::Status status = target.Call(verb, path, text, &answer);
    return {std::move(status), std::move(answer)};
  }

  // The datatype the model declares for each input (empty for a servable that declares none),
  // read once from its metadata.
  const std::map<std::string, ferry::DataType>& Declared(const std::string& model) {
    auto it = declared_.find(model);
    if (it != declared_.end()) return it->second;
    std::map<std::string, ferry::DataType> types;
    py::object metadata = Call("GET", "/v2/models/" + model, py::none(), "", true);
    if (!py::isinstance<py::dict>(metadata) || !metadata.contains("inputs")) {
      static const std::map<std::string, ferry::DataType> kNone;
      return kNone;  // an unknown model (the call says so) or one without tensors: asked again next time
    }
    for (py::handle input : metadata["inputs"]) {
      if (!input.contains("name") || !input.contains("datatype")) continue;
      if (auto type = TypeNamed(input["datatype"].cast<std::string>())) types[input["name"].cast<std::string>()] = *type;
    }
    return declared_.emplace(model, std::move(types)).first->second;
  }

  Inputs Prepare(const std::string& model, const py::dict& inputs) {
    const auto& declared = Declared(model);
    py::object np = py::module_::import("numpy");
    Inputs held;
    held.arrays.reserve(inputs.size());
    held.bytes.reserve(inputs.size());
    for (auto [key, value] : inputs) {
      const std::string name = py::str(key).cast<std::string>();
      py::array array = np.attr("asarray")(value);
      std::optional<ferry::DataType> type = TypeOfDtype(array.dtype());
      if (auto it = declared.find(name); it != declared.end() && it->second != type) {
        type = it->second;  // the model's type: converted once (a copy), as numpy casts
        if (*type != ferry::DataType::kBytes) array = np.attr("asarray")(array, py::arg("dtype") = DtypeOf(*type));
      }
      if (!type) {
        Raise({ferry::Status::Code::kInvalidArgument,
               "input '" + name + "': numpy dtype " + py::str(array.dtype()).cast<std::string>() +
                   " has no KServe datatype"});
      }
      std::vector<std::int64_t> shape(array.shape(), array.shape() + array.ndim());
      if (*type == ferry::DataType::kBytes) {
        held.bytes.push_back(SerializeBytes(array));
        held.views.push_back({name, *type, std::move(shape), held.bytes.back().data(), held.bytes.back().size()});
        continue;
      }
      // Borrowed when C-contiguous in this machine's byte order; else one contiguous copy.
      if (!(array.flags() & py::array::c_style) || array.dtype().attr("isnative").cast<bool>() == false) {
        array = np.attr("ascontiguousarray")(array, py::arg("dtype") = DtypeOf(*type));
      }
      held.views.push_back({name, *type, std::move(shape), array.data(), static_cast<std::size_t>(array.nbytes())});
      held.arrays.push_back(std::move(array));
    }
    return held;
  }

  std::unique_ptr<ferry::Server> server_;
  std::map<std::string, std::map<std::string, ferry::DataType>> declared_;  // by model
};

}  // namespace

PYBIND11_MODULE(ferry, m) {
  Module() = m.ptr();
  m.doc() = "ferry, a model inference server, in this Python process (docs/embedding.md)";
  py::exec(kErrorClasses, m.attr("__dict__"));
  m.attr("__version__") = std::string(ferry::Version());

  py::class_<PyServer>(m, "Server", "A model repository served in this process.")
      .def(py::init<const std::string&, const std::string&, bool, double, const std::string&, int, const std::string&,
                    int, const std::string&>(),
           py::arg("model_repository"), py::kw_only(), py::arg("backend_directory") = "",
           py::arg("explicit_model_control") = false, py::arg("ready_timeout") = 300.0,
           py::arg("log_level") = "warn", py::arg("http_port") = -1, py::arg("http_host") = "127.0.0.1",
           py::arg("grpc_port") = -1, py::arg("grpc_host") = "127.0.0.1")
      .def("infer", &PyServer::Infer, py::arg("model"), py::arg("inputs"), py::kw_only(), py::arg("version") = 0,
           py::arg("outputs") = py::none(),
           "Tensors in ({name: array}), tensors out ({name: ndarray}).")
      .def("predict", &PyServer::Predict, py::arg("model"), py::arg("records"),
           "Records in (a dict, or a list of dicts), predictions out, as POST /v2/models/{model}/predict.")
      .def(
          "test",
          [](PyServer& s, const std::string& path, const py::object& body, const std::string& method, bool silent) {
            return s.Call("", path, body, method, silent);
          },
          py::arg("path"), py::arg("body") = py::none(), py::arg("method") = "", py::arg("silent") = false,
          "Any route of the HTTP API, in-process: the answer's JSON as Python values.")
      .def("metadata", &PyServer::Metadata, py::arg("model"))
      .def("statistics", &PyServer::Statistics, py::arg("model") = "")
      .def("load", &PyServer::Load, py::arg("model"))
      .def("unload", &PyServer::Unload, py::arg("model"))
      .def_property_readonly("ready", &PyServer::ready)
      .def_property_readonly("not_ready_reason", &PyServer::not_ready_reason)
      .def_property_readonly("http_port", &PyServer::http_port)
      .def_property_readonly("grpc_port", &PyServer::grpc_port)
      .def("close", &PyServer::Close, "Waits for calls in flight, then unloads the models.")
      .def("__enter__", [](PyServer& s) -> PyServer& { return s; }, py::return_value_policy::reference)
      .def("__exit__", [](PyServer& s, const py::args&) { s.Close(); });

  // Servers still open when Python exits are closed before the interpreter goes away, while the
  // Python models they hold can still be released.
  py::module_::import("atexit").attr("register")(py::cpp_function([] {
    while (!Living().empty()) (*Living().begin())->Close();
  }));
}
