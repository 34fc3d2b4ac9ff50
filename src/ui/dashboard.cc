#include "ui/dashboard.h"

#include <string_view>

namespace ferry::ui {
namespace {

// kDashboardPage, assembled by CMake from src/ui/index.html, dashboard.css and dashboard.js.
#include "ferry_dashboard_page.h"

}  // namespace

std::string_view DashboardPage() { return kDashboardPage; }

}  // namespace ferry::ui
