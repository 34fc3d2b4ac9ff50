// Process-wide logging set-up: structured one-line logs on stderr through spdlog.
#pragma once

#include <string_view>

#include "core/error.h"

namespace ferry::observe {

// level: trace, debug, info, warn, error, off. Call once at start-up, before other threads.
core::Result<void> InitLogging(std::string_view level);

}  // namespace ferry::observe
