// Fuzz target: model.yaml parsing (the files of a model repository, and the config an admin
// sends with POST /v2/repository/models/{m}/load, which may be Triton's ModelConfig JSON), a
// `file:` load parameter's path, and the token file.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "model/model_config.h"
#include "model/staged_files.h"
#include "model/triton_config.h"
#include "server/auth/token_auth.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)ferry::model::ParseModelConfig(text, "fuzz");
  (void)ferry::model::ParseLoadConfig(text, "fuzz");
  (void)ferry::model::CheckModelFilePath(text);
  (void)ferry::auth::TokenAuth::Parse(text, "fuzz");
  return 0;
}
