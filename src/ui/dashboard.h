// The dashboard (docs/dashboard.md): one self-contained page -- src/ui/index.html with
// dashboard.css and dashboard.js inlined at build time -- that ferry serves at / and /ui/ on its
// HTTP port. It talks to ferry only through the public API (plus GET /v2/figures), by URLs
// relative to where it was loaded, so it works behind a reverse proxy under a path prefix.
#pragma once

#include <string_view>

namespace ferry::ui {

inline constexpr std::string_view kDashboardContentType = "text/html; charset=utf-8";
// Everything the page loads is inline; it connects to the server that served it, and nowhere else.
inline constexpr std::string_view kDashboardContentSecurityPolicy =
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

// The page, HTML with its style and script in it.
std::string_view DashboardPage();

}  // namespace ferry::ui
