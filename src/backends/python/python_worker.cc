#include "backends/python/python_worker.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdlib>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "backends/python/python_model.h"

extern char** environ;

namespace ferry::backends::python {
namespace {

constexpr int kWorkerFd = 3;  // the socket, in the worker
constexpr std::uint32_t kMaxFrameBytes = 1u << 31;

core::Result<void> WriteAll(int fd, const char* data, std::size_t n) {
  while (n > 0) {
    const ssize_t sent = ::send(fd, data, n, MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR) continue;
      return core::Unavailable(std::strerror(errno));
    }
    data += sent;
    n -= static_cast<std::size_t>(sent);
  }
  return {};
}

// Reads exactly n bytes; false on end of stream before any byte.
core::Result<bool> ReadAll(int fd, char* data, std::size_t n) {
  std::size_t got = 0;
  while (got < n) {
    const ssize_t r = ::recv(fd, data + got, n - got, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      return core::Unavailable(std::strerror(errno));
    }
    if (r == 0) {
      if (got == 0) return false;
      return core::Unavailable("the stream ended inside a message");
    }
    got += static_cast<std::size_t>(r);
  }
  return true;
}

// The folder this plugin was opened from, for the worker to open it from too (the binary's
// --backend-directory is the binary's business: a plugin has its own copy of the loader).
std::string PluginFolder() {
  Dl_info info{};
  if (::dladdr(reinterpret_cast<void*>(&RunPythonWorker), &info) == 0 || !info.dli_fname) return "";
  return std::filesystem::path(info.dli_fname).parent_path().string();
}

// The program a worker runs, `ferry python-worker`: $FERRY_EXECUTABLE when set; this process's
// own binary when it is ferry; else (a program embedding ferry, Python with ferry's module) the
// ferry binary of the same build or install, found from this plugin's folder: bin/ferry beside
// lib/ferry/backends, or the build tree's ferry beside backends/.
core::Result<std::filesystem::path> WorkerExecutable(std::string_view where) {
  namespace fs = std::filesystem;
  if (const char* env = std::getenv("FERRY_EXECUTABLE"); env && *env) return fs::path(env);
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec && self.filename() == "ferry") return self;
  const fs::path folder = PluginFolder();
  for (const fs::path& candidate : {folder / ".." / ".." / ".." / "bin" / "ferry", folder / ".." / "ferry"}) {
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.lexically_normal();
  }
  return core::Unavailable(fmt::format("{}: no python worker: this process is not ferry and no ferry executable is "
                                       "beside the plugins in {} (set FERRY_EXECUTABLE)", where, folder.string()));
}

std::string HowItEnded(int status) {
  if (WIFSIGNALED(status)) {
    const int signal = WTERMSIG(status);
    const char* name = sigabbrev_np(signal);
    return fmt::format("was killed by signal {} (SIG{})", signal, name ? name : "?");
  }
  if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
  return "ended";
}

}  // namespace

core::Result<void> WriteFrame(int fd, std::string_view payload) {
  const auto size = static_cast<std::uint32_t>(payload.size());
  if (payload.size() >= kMaxFrameBytes) return core::InvalidArgument("a message over 2 GiB for a python worker");
  FERRY_RETURN_IF_ERROR(WriteAll(fd, reinterpret_cast<const char*>(&size), sizeof size));
  return WriteAll(fd, payload.data(), payload.size());
}

core::Result<std::optional<std::string>> ReadFrame(int fd) {
  std::uint32_t size = 0;
  FERRY_ASSIGN_OR_RETURN(const bool any, ReadAll(fd, reinterpret_cast<char*>(&size), sizeof size));
  if (!any) return std::nullopt;
  if (size >= kMaxFrameBytes) return core::Internal(fmt::format("a python worker frame of {} bytes", size));
  std::string payload(size, '\0');
  FERRY_ASSIGN_OR_RETURN(const bool complete, ReadAll(fd, payload.data(), size));
  if (!complete && size > 0) return core::Unavailable("the stream ended inside a message");
  return payload;
}

core::Result<std::unique_ptr<PythonWorker>> PythonWorker::Spawn(const WorkerLoad& load, std::string where) {
  FERRY_ASSIGN_OR_RETURN(const std::filesystem::path exe, WorkerExecutable(where));
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return core::Unavailable(fmt::format("{}: no python worker: socketpair: {}", where, std::strerror(errno)));
  }
  int child_end = fds[1];
  if (child_end == kWorkerFd) {  // dup2 onto itself would keep close-on-exec
    child_end = ::fcntl(fds[1], F_DUPFD_CLOEXEC, kWorkerFd + 1);
    ::close(fds[1]);
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, child_end, kWorkerFd);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attributes, &none);  // ferry blocks SIGINT/SIGTERM in every thread
  posix_spawnattr_setsigdefault(&attributes, &all);
  posix_spawnattr_setpgroup(&attributes, 0);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  const std::string directory = PluginFolder();
  const std::string fd_text = std::to_string(kWorkerFd);
  const char* argv[] = {exe.c_str(), "python-worker", "--fd", fd_text.c_str(),
                        directory.empty() ? nullptr : "--backend-directory", directory.c_str(), nullptr};
  pid_t pid = 0;
  const int spawned = ::posix_spawn(&pid, exe.c_str(), &actions, &attributes, const_cast<char* const*>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  ::close(child_end);
  if (spawned != 0) {
    ::close(fds[0]);
    return core::Unavailable(fmt::format("{}: no python worker: {}: {}", where, exe.string(), std::strerror(spawned)));
  }
  std::unique_ptr<PythonWorker> worker(new PythonWorker(pid, fds[0], std::move(where)));
  spdlog::info("{}: python worker {} started", worker->where_, pid);
  if (auto sent = WriteFrame(worker->fd_, EncodeWorkerLoad(load)); !sent) return worker->Died("loading the model");
  return worker;
}

core::Result<std::unique_ptr<PythonWorker>> PythonWorker::Start(const WorkerLoad& load, std::string where) {
  FERRY_ASSIGN_OR_RETURN(auto worker, Spawn(load, std::move(where)));
  FERRY_RETURN_IF_ERROR(worker->AwaitLoaded());
  return worker;
}

core::Result<void> PythonWorker::AwaitLoaded() {
  if (loaded_) return {};
  auto frame = ReadFrame(fd_);
  if (!frame || !*frame) return Died("loading the model");
  auto reply = DecodeWorkerReply(**frame);
  if (!reply) return std::unexpected(std::move(reply).error());
  if (!reply->outputs) return std::unexpected(reply->outputs.error());
  loaded_ = true;
  return {};
}

core::Result<std::string> PythonWorker::Call(std::string_view message) {
  FERRY_RETURN_IF_ERROR(AwaitLoaded());
  if (auto sent = WriteFrame(fd_, message); !sent) return Died("running this batch");
  auto frame = ReadFrame(fd_);
  if (!frame || !*frame) return Died("running this batch");
  return std::move(**frame);
}

std::unexpected<core::Error> PythonWorker::Died(std::string_view doing) {
  // The socket failed: the worker is gone or going. Reap it (kill it if it lingers).
  int status = 0;
  pid_t done = 0;
  for (int i = 0; i < 100 && (done = ::waitpid(pid_, &status, WNOHANG)) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (done == 0) {
    ::kill(pid_, SIGKILL);
    done = ::waitpid(pid_, &status, 0);
  }
  reaped_ = true;
  const std::string how = done == pid_ ? HowItEnded(status) : "is gone";
  spdlog::warn("{}: python worker {} {} while {}", where_, pid_, how, doing);
  return core::Unavailable(fmt::format("{}: its python worker (pid {}) {} while {}", where_, pid_, how, doing));
}

PythonWorker::~PythonWorker() {
  ::close(fd_);  // the worker reads the end of the stream and exits
  if (reaped_) return;
  int status = 0;
  for (int i = 0; i < 500; ++i) {
    if (::waitpid(pid_, &status, WNOHANG) != 0) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  spdlog::warn("{}: python worker {} did not exit within 5 s of being told; killed", where_, pid_);
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, &status, 0);
}

int RunPythonWorker(int fd) {
  // Dies with ferry. Strictly, with the thread that spawned it: ferry's model loader thread or the
  // instance's own scheduler thread, each of which outlives the worker it spawned.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() == 1) return 1;      // ferry died before the line above
  auto first = ReadFrame(fd);
  if (!first || !*first) {
    fmt::print(stderr, "ferry python-worker: no model to load on fd {} ({}): ferry serve starts workers itself\n", fd,
               first ? "end of stream" : first.error().message);
    return 1;
  }
  auto load = DecodeWorkerLoad(**first);
  if (!load) {
    (void)WriteFrame(fd, EncodeWorkerReply(std::unexpected(load.error())));
    return 1;
  }
  LoadOptions options{.model_name = load->model_name, .version = load->version, .version_dir = load->version_dir,
                      .parameters = load->parameters, .declared = load->signature, .model_file = load->model_file,
                      .flavor = load->flavor};
  const PythonFactory factory{.function = load->function, .kwargs = load->kwargs, .pass_outputs = load->pass_outputs,
                              .platform = load->platform};
  auto model = LoadPythonModel(options, factory);
  auto instance = model ? (*model)->CreateInstance()
                        : core::Result<std::unique_ptr<BackendInstance>>(std::unexpected(model.error()));
  if (!instance) {
    (void)WriteFrame(fd, EncodeWorkerReply(std::unexpected(instance.error())));
    return 1;
  }
  if (!WriteFrame(fd, EncodeWorkerReply(std::vector<core::Tensor>()))) return 1;
  while (true) {
    auto frame = ReadFrame(fd);
    if (!frame) return 1;
    if (!*frame) return 0;  // ferry closed the socket: done
    auto batch = DecodeWorkerExecute(**frame);
    core::Result<std::vector<core::Tensor>> outputs =
        batch ? (*instance)->Execute(batch->inputs, batch->outputs, nullptr)
              : core::Result<std::vector<core::Tensor>>(std::unexpected(batch.error()));
    if (!WriteFrame(fd, EncodeWorkerReply(outputs))) return 1;
  }
}

}  // namespace ferry::backends::python
