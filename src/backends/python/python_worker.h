// Python worker processes: a Python model (class, scikit-learn pickle, MLflow python flavor) with
// `python: {workers: N}` in model.yaml runs each of its N instances in its own process, so that
// CPU-bound Python code runs past the GIL. A worker is `ferry python-worker --fd 3`: the same
// binary and python plugin, its own embedded interpreter, the model loaded there exactly as
// in-process. ferry's scheduler batches as usual; an instance sends its batch over a Unix socket
// (worker_protocol.h) and waits for the answer, so each worker runs one batch at a time.
//
// Lifecycle. Start spawns the worker (in its own process group, so that a terminal's Ctrl-C
// reaches only ferry, which drains first; the worker dies with ferry through PR_SET_PDEATHSIG)
// and waits until it has loaded the model, or fails with its reason. A worker that dies while
// running a batch (killed, crashed in native code) fails that batch with how it died; the
// instance then starts a replacement at once, which the next batch waits for. Destruction closes
// the socket, on which the worker exits; it is killed if it has not within 5 s.
//
// Thread safety: a PythonWorker is used by one thread at a time (its instance's).
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <string_view>

#include "backends/python/worker_protocol.h"
#include "core/error.h"

namespace ferry::backends::python {

class PythonWorker {
 public:
  // Spawns a worker and sends it `load`, without waiting; AwaitLoaded (or Call) waits.
  static core::Result<std::unique_ptr<PythonWorker>> Spawn(const WorkerLoad& load, std::string where);
  // Spawn, then AwaitLoaded.
  static core::Result<std::unique_ptr<PythonWorker>> Start(const WorkerLoad& load, std::string where);

  ~PythonWorker();
  PythonWorker(const PythonWorker&) = delete;
  PythonWorker& operator=(const PythonWorker&) = delete;

  // Waits for the worker's answer to the load: ok, or the reason it could not load the model.
  core::Result<void> AwaitLoaded();

  // Sends one message and returns the worker's answer. When the worker dies meanwhile the error
  // (kUnavailable) says how, and the worker is reaped; this object is then of no further use.
  core::Result<std::string> Call(std::string_view message);

  pid_t pid() const { return pid_; }

 private:
  PythonWorker(pid_t pid, int fd, std::string where) : pid_(pid), fd_(fd), where_(std::move(where)) {}
  std::unexpected<core::Error> Died(std::string_view doing);

  pid_t pid_;
  int fd_;
  std::string where_;
  bool loaded_ = false;
  bool reaped_ = false;
};

// Frames on a socket (4-byte little-endian length, then the payload), for both ends. ReadFrame
// returns std::nullopt on a clean end of stream.
core::Result<void> WriteFrame(int fd, std::string_view payload);
core::Result<std::optional<std::string>> ReadFrame(int fd);

// The worker's side: serves the model named by the first frame on `fd` until the socket closes.
// Returns the process's exit code. (The python plugin's "python_worker" entry point.)
int RunPythonWorker(int fd);

}  // namespace ferry::backends::python
