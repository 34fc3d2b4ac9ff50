// The shape of a ferry process at exit: libraries opened with dlopen (the gRPC module, backend
// plugins) whose thread-local data lives in dynamic TLS blocks, and threads still using them
// (gRPC's pollers, ONNX Runtime's pools). Under `make test-sanitizers`, LeakSanitizer's check at
// exit must get through this: with GCC 12's runtime and the default intercept_tls_get_addr=1 it
// reads a block starting 16 bytes into a page as a glibc 2.19 header, scans the range it finds
// there and dies ("Tracer caught signal 11"), failing whichever test's ferry exits so. The
// Makefile turns the interception off. Outside a sanitizer build the program simply exits 0.
//
// Usage: ferry_dynamic_tls_exit LIBRARY
#include <dlfcn.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <thread>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s LIBRARY\n", argv[0]);
    return 2;
  }
  void* library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    std::fprintf(stderr, "%s\n", dlerror());
    return 2;
  }
  using Touch = std::uintptr_t (*)();
  const auto touch = reinterpret_cast<Touch>(dlsym(library, "ferry_touch_thread_local"));
  if (!touch) {
    std::fprintf(stderr, "%s has no ferry_touch_thread_local\n", argv[1]);
    return 2;
  }
  constexpr int kThreads = 16;
  std::atomic<int> started{0};
  std::atomic<int> at_offset_16{0};
  for (int i = 0; i < kThreads; ++i) {
    std::thread([&] {
      if (touch() % 4096 == 16) ++at_offset_16;
      ++started;
      pause();  // alive, its block in use, when the process exits
    }).detach();
  }
  while (started < kThreads) std::this_thread::yield();
  std::printf("%d of %d threads have their block 16 bytes into a page\n", at_offset_16.load(), kThreads);
  std::fflush(stdout);
  return 0;  // LeakSanitizer checks here, with every thread stopped
}
