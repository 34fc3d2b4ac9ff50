// The ferry release version, reported by `ferry --version` and GET /v2.
#pragma once

namespace ferry {
inline constexpr char kFerryVersion[] = "0.1.0";
}  // namespace ferry
