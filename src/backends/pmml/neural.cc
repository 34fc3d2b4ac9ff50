// PMML NeuralNetwork: NeuralInputs (each a DerivedField expression), feed-forward NeuralLayers of
// Neurons with their connections as (buffer index, weight) arrays, and NeuralOutputs mapping
// neurons to the target: a category's probability (NormDiscrete), the value (FieldRef), or the
// value denormalized (NormContinuous). Activations, thresholds, widths and altitudes follow PMML
// 4.4 (a layer's attribute, else the network's).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numbers>

#include "backends/pmml/compiler.h"

namespace ferry::backends::pmml {
namespace {

enum class Activation : std::uint8_t {
  kThreshold, kLogistic, kTanh, kIdentity, kExponential, kReciprocal, kSquare, kGauss, kSine, kCosine, kElliott,
  kArctan, kRectifier, kRadialBasis
};

constexpr std::pair<std::string_view, Activation> kActivations[] = {
    {"threshold", Activation::kThreshold},   {"logistic", Activation::kLogistic},
    {"tanh", Activation::kTanh},             {"identity", Activation::kIdentity},
    {"exponential", Activation::kExponential}, {"reciprocal", Activation::kReciprocal},
    {"square", Activation::kSquare},         {"Gauss", Activation::kGauss},
    {"sine", Activation::kSine},             {"cosine", Activation::kCosine},
    {"Elliott", Activation::kElliott},       {"arctan", Activation::kArctan},
    {"rectifier", Activation::kRectifier},   {"radialBasis", Activation::kRadialBasis}};

enum class LayerNormalization : std::uint8_t { kNone, kSoftmax, kSimplemax };

struct Neuron {
  double bias = 0;
  double width = 0;                                        // radialBasis
  std::vector<std::pair<std::size_t, double>> inputs;     // (buffer index, weight)
};

struct Layer {
  Activation activation = Activation::kLogistic;
  double threshold = 0, leakage = 0, altitude = 1;
  LayerNormalization normalization = LayerNormalization::kNone;
  std::size_t first = 0;  // the buffer index of its first neuron
  std::vector<Neuron> neurons;
};

double Activate(const Layer& layer, double z) {
  switch (layer.activation) {
    case Activation::kThreshold: return z > layer.threshold ? 1.0 : 0.0;
    case Activation::kLogistic: return 1 / (1 + std::exp(-z));
    case Activation::kTanh: return std::tanh(z);
    case Activation::kIdentity: return z;
    case Activation::kExponential: return std::exp(z);
    case Activation::kReciprocal: return 1 / z;
    case Activation::kSquare: return z * z;
    case Activation::kGauss: return std::exp(-(z * z));
    case Activation::kSine: return std::sin(z);
    case Activation::kCosine: return std::cos(z);
    case Activation::kElliott: return z / (1 + std::abs(z));
    case Activation::kArctan: return 2 * std::atan(z) / std::numbers::pi;
    case Activation::kRectifier: return z > 0 ? z : layer.leakage * z;
    case Activation::kRadialBasis: return z;  // computed whole in Score
  }
  return z;
}

class NeuralNetworkModel final : public Model {
 public:
  std::vector<Expr> inputs;  // buffer [0, inputs.size())
  std::vector<Layer> layers;
  std::size_t neurons = 0;   // in every layer
  // Classification: (category, buffer index) a NeuralOutput. Regression: the one output's
  // buffer index and, for a NormContinuous, its LinearNorm (orig, norm) points to invert.
  std::vector<std::pair<std::size_t, std::size_t>> class_outputs;
  std::size_t value_output = 0;
  std::vector<std::pair<double, double>> denormalize;

  std::size_t scratch_size() const override { return inputs.size() + neurons; }

 protected:
  bool Score(double* v, double* y, double* scratch) const override {
    double* buffer = scratch;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      buffer[i] = Eval(inputs[i], v);
      if (std::isnan(buffer[i])) return false;  // a missing input: no prediction
    }
    for (const Layer& layer : layers) {
      double* out = buffer + layer.first;
      for (std::size_t j = 0; j < layer.neurons.size(); ++j) {
        const Neuron& n = layer.neurons[j];
        if (layer.activation == Activation::kRadialBasis) {
          double sum = 0;
          for (const auto& [from, weight] : n.inputs) sum += (buffer[from] - weight) * (buffer[from] - weight);
          double z = -sum / (2 * n.width * n.width);
          if (layer.altitude != 1) z += static_cast<double>(n.inputs.size()) * std::log(layer.altitude);
          out[j] = std::exp(z);
        } else {
          double z = n.bias;
          for (const auto& [from, weight] : n.inputs) z += weight * buffer[from];
          out[j] = Activate(layer, z);
        }
      }
      const std::size_t count = layer.neurons.size();
      if (layer.normalization == LayerNormalization::kSoftmax) {
        const double top = *std::max_element(out, out + count);
        double sum = 0;
        for (std::size_t j = 0; j < count; ++j) sum += out[j] = std::exp(out[j] - top);
        for (std::size_t j = 0; j < count; ++j) out[j] /= sum;
      } else if (layer.normalization == LayerNormalization::kSimplemax) {
        double sum = 0;
        for (std::size_t j = 0; j < count; ++j) sum += out[j];
        for (std::size_t j = 0; j < count; ++j) out[j] /= sum;
      }
    }
    if (classification) {
      std::fill(y, y + categories, 0.0);
      for (const auto& [category, index] : class_outputs) y[category] = buffer[index];
      return true;
    }
    y[0] = denormalize.empty() ? buffer[value_output] : Denormalize(buffer[value_output]);
    return true;
  }

 private:
  // The original value of a normalized one: NormContinuous's piecewise-linear map inverted
  // (outside the points, the end segments extended).
  double Denormalize(double norm) const {
    const auto& p = denormalize;
    std::size_t i = 1;
    while (i + 1 < p.size() && norm > p[i].second) ++i;
    const auto& [o0, n0] = p[i - 1];
    const auto& [o1, n1] = p[i];
    return o0 + (norm - n0) * (o1 - o0) / (n1 - n0);
  }
};

}  // namespace

core::Result<std::unique_ptr<Model>> Compiler::NeuralNetwork(const pugi::xml_node& e) {
  auto model = std::make_unique<NeuralNetworkModel>();
  FERRY_ASSIGN_OR_RETURN(model->classification, IsClassification(e));
  auto activation_of = [&](const pugi::xml_node& at, std::string_view name) -> core::Result<Activation> {
    const auto* a = std::find_if(std::begin(kActivations), std::end(kActivations),
                                 [&](const auto& p) { return p.first == name; });
    if (a == std::end(kActivations)) return Fail(at, fmt::format("activationFunction '{}' is not supported", name));
    return a->second;
  };
  auto normalization_of = [&](const pugi::xml_node& at, std::string_view name) -> core::Result<LayerNormalization> {
    if (name == "none") return LayerNormalization::kNone;
    if (name == "softmax") return LayerNormalization::kSoftmax;
    if (name == "simplemax") return LayerNormalization::kSimplemax;
    return Fail(at, fmt::format("normalizationMethod '{}' is not supported (none, softmax, simplemax)", name));
  };
  if (!e.attribute("activationFunction")) return Fail(e, "a NeuralNetwork needs an activationFunction");
  FERRY_ASSIGN_OR_RETURN(const Activation network_activation,
                         activation_of(e, e.attribute("activationFunction").as_string()));
  FERRY_ASSIGN_OR_RETURN(const LayerNormalization network_normalization,
                         normalization_of(e, e.attribute("normalizationMethod").as_string("none")));
  std::map<std::string, std::size_t, std::less<>> ids;  // NeuralInput and Neuron ids -> buffer index
  pugi::xml_node outputs;
  for (pugi::xml_node c : e.children()) {
    const std::string_view kind = c.name();
    if (c.type() != pugi::node_element || IsModelCommonChild(kind)) continue;
    if (kind == "NeuralInputs") {
      for (pugi::xml_node input : c.children("NeuralInput")) {
        const pugi::xml_node derived = input.child("DerivedField");
        pugi::xml_node expression;
        for (pugi::xml_node x : derived.children()) {
          if (x.type() == pugi::node_element && std::string_view(x.name()) != "Extension") expression = x;
        }
        if (!expression) return Fail(input, "a NeuralInput needs a DerivedField with an expression");
        FERRY_ASSIGN_OR_RETURN(auto compiled, Expression(expression));
        if (!ids.emplace(input.attribute("id").as_string(), model->inputs.size()).second) {
          return Fail(input, fmt::format("id '{}' is used twice", input.attribute("id").as_string()));
        }
        model->inputs.push_back(std::move(compiled));
      }
    } else if (kind == "NeuralLayer") {
      Layer layer;
      const auto layer_activation = c.attribute("activationFunction");
      if (layer_activation) {
        FERRY_ASSIGN_OR_RETURN(layer.activation, activation_of(c, layer_activation.as_string()));
      } else {
        layer.activation = network_activation;
      }
      const auto layer_normalization = c.attribute("normalizationMethod");
      if (layer_normalization) {
        FERRY_ASSIGN_OR_RETURN(layer.normalization, normalization_of(c, layer_normalization.as_string()));
      } else {
        layer.normalization = network_normalization;
      }
      auto inherited = [&](const char* name, double fallback) {
        return c.attribute(name) ? c.attribute(name).as_double() : e.attribute(name).as_double(fallback);
      };
      layer.threshold = inherited("threshold", 0);
      layer.leakage = inherited("leakage", 0);
      layer.altitude = inherited("altitude", 1);
      const double width = inherited("width", std::nan(""));
      layer.first = model->inputs.size() + model->neurons;
      std::map<std::string, std::size_t, std::less<>> layer_ids;
      for (pugi::xml_node n : c.children("Neuron")) {
        Neuron neuron;
        neuron.bias = n.attribute("bias").as_double(0);
        neuron.width = n.attribute("width").as_double(width);
        if (layer.activation == Activation::kRadialBasis && !(neuron.width > 0)) {
          return Fail(n, "a radialBasis neuron needs a width (its own or its layer's or network's)");
        }
        for (pugi::xml_node con : n.children("Con")) {
          auto from = ids.find(con.attribute("from").as_string());
          if (from == ids.end()) {
            return Fail(con, fmt::format("'{}' is not a NeuralInput or a Neuron of an earlier layer",
                                         con.attribute("from").as_string()));
          }
          neuron.inputs.emplace_back(from->second, con.attribute("weight").as_double());
        }
        const std::size_t index = layer.first + layer.neurons.size();
        const std::string id = n.attribute("id").as_string();
        if (ids.contains(id) || !layer_ids.emplace(id, index).second) {
          return Fail(n, fmt::format("id '{}' is used twice", id));
        }
        layer.neurons.push_back(std::move(neuron));
      }
      if (layer.neurons.empty()) return Fail(c, "a NeuralLayer needs Neurons");
      ids.merge(layer_ids);  // the next layers connect to these
      model->neurons += layer.neurons.size();
      model->layers.push_back(std::move(layer));
    } else if (kind == "NeuralOutputs") {
      outputs = c;
    } else {
      return Unsupported(c);
    }
  }
  if (model->inputs.empty()) return Fail(e, "has no NeuralInputs");
  if (model->layers.empty()) return Fail(e, "has no NeuralLayer");
  if (!outputs) return Fail(e, "has no NeuralOutputs");
  for (pugi::xml_node output : outputs.children("NeuralOutput")) {
    auto neuron = ids.find(output.attribute("outputNeuron").as_string());
    if (neuron == ids.end() || neuron->second < model->inputs.size()) {
      return Fail(output,
                  fmt::format("outputNeuron '{}' is not a Neuron", output.attribute("outputNeuron").as_string()));
    }
    pugi::xml_node expression;
    for (pugi::xml_node x : output.child("DerivedField").children()) {
      if (x.type() == pugi::node_element && std::string_view(x.name()) != "Extension") expression = x;
    }
    const std::string_view kind = expression.name();
    if (model->classification) {
      if (kind != "NormDiscrete") {
        return Fail(output, "a classification's NeuralOutput is a NormDiscrete of the target");
      }
      model->class_outputs.emplace_back(Category(expression.attribute("value").as_string()), neuron->second);
    } else {
      if (!model->class_outputs.empty() || model->value_output != 0) {
        return Fail(output, "a regression has one NeuralOutput");
      }
      model->value_output = neuron->second;
      if (kind == "NormContinuous") {
        for (pugi::xml_node p : expression.children("LinearNorm")) {
          model->denormalize.emplace_back(p.attribute("orig").as_double(), p.attribute("norm").as_double());
        }
        if (model->denormalize.size() < 2) return Fail(expression, "needs two or more LinearNorm");
        for (std::size_t i = 1; i < model->denormalize.size(); ++i) {
          if (!(model->denormalize[i].second > model->denormalize[i - 1].second)) {
            return Fail(expression, "LinearNorm norm values must increase to be inverted");
          }
        }
      } else if (kind != "FieldRef") {
        return Fail(output, "a regression's NeuralOutput is a FieldRef or a NormContinuous of the target");
      }
    }
  }
  if (model->classification ? model->class_outputs.empty() : model->value_output == 0) {
    return Fail(outputs, "has no NeuralOutput");
  }
  return std::unique_ptr<Model>(std::move(model));
}

}  // namespace ferry::backends::pmml
