// The xgboost plugin, libferry_backend_xgboost.so: the xgboost backend (XGBoost (libxgboost)).
#include "backends/xgboost/xgboost_backend.h"
#include "backends/plugin.h"

namespace {

std::unique_ptr<ferry::backends::Backend> CreateBackend(std::string_view name) {
  return name == "xgboost" ? ferry::backends::xgboost::CreateXgboostBackend() : nullptr;
}

}  // namespace

FERRY_BACKEND_PLUGIN(&CreateBackend, nullptr)
