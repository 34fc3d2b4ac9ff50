// A library with thread-local data, opened with dlopen by dynamic_tls_exit.cc. Its thread-local
// block is small, so the runtime of a sanitizer build allocates it from the heap at the page
// offset that GCC's LeakSanitizer mistakes for an old glibc's block header.
#include <cstdint>

namespace {
thread_local std::uint64_t touched = 0;
}

extern "C" __attribute__((visibility("default"))) std::uintptr_t ferry_touch_thread_local() {
  ++touched;
  return reinterpret_cast<std::uintptr_t>(&touched);
}
