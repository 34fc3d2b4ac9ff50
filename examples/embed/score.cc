// Scores patients with the models of examples/models inside this program (docs/embedding.md):
// records through the pipeline, then a tensor through the bare model, its input borrowed.
#include <ferry/ferry.h>

#include <array>
#include <cstdio>
#include <memory>
#include <string>

int main(int argc, char** argv) {
  const std::string repository = argc > 1 ? argv[1] : "examples/models";
  std::unique_ptr<ferry::Server> server;
  if (ferry::Status opened = ferry::Server::Open({.model_repository = repository}, &server); !opened.ok()) {
    std::fprintf(stderr, "%s\n", opened.ToString().c_str());
    return 1;
  }
  std::string predictions;
  ferry::Status predicted = server->Predict(
      "pima-pipeline", R"({"instances": [
        {"preg": 6, "plas": 148, "pres": 72, "skin": 35, "test": 0, "mass": 33.6, "pedi": 0.627, "age": 50},
        {"preg": 1, "plas": 85, "pres": 66, "skin": 29, "test": 0, "mass": 26.6, "pedi": 0.351}]})",
      &predictions);
  std::printf("%s\n", predictions.c_str());  // the second record lacks its age: its own error

  const std::array<float, 8> patient = {6, 148, 72, 35, 0, 33.6f, 0.627f, 50};
  ferry::InferResult result;
  ferry::Status inferred = server->Infer(
      {.model = "pima", .inputs = {{"features", ferry::DataType::kFp32, {1, 8}, patient.data(), sizeof patient}}},
      &result);
  if (!predicted.ok() || !inferred.ok()) {
    std::fprintf(stderr, "%s\n", (predicted.ok() ? inferred : predicted).ToString().c_str());
    return 1;
  }
  std::printf("%s version %lld: probability %.4f\n", result.model.c_str(), static_cast<long long>(result.version),
              result.Output("probability")->values<float>()[0]);
  return 0;
}
