#include "routing/split.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace ferry::routing {
namespace {

constexpr std::uint64_t kSpace = std::uint64_t{1} << 32;

std::uint64_t Mix(std::uint64_t x) {  // splitmix64's finaliser
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

std::uint64_t& ThreadState() {
  thread_local std::uint64_t state = [] {
    std::random_device device;
    return (std::uint64_t{device()} << 32) ^ device();
  }();
  return state;
}

std::uint64_t Next() {
  auto& state = ThreadState();
  state += 0x9e3779b97f4a7c15ull;
  return Mix(state);
}

}  // namespace

SplitTable::SplitTable(std::span<const double> weights) : weights_(weights.begin(), weights.end()) {
  double total = 0;
  for (double w : weights_) total += w;
  total_ = total;
  double cumulative = 0;
  for (double w : weights_) {
    cumulative += w;
    const double end = total > 0 ? std::round(cumulative / total * static_cast<double>(kSpace)) : 0;
    ends_.push_back(std::min<std::uint64_t>(static_cast<std::uint64_t>(end), kSpace));
  }
  // Rounding may leave the last end a hair short of the space: the last route with a weight owns the rest.
  for (auto it = ends_.rbegin(); it != ends_.rend(); ++it) {
    const auto i = static_cast<std::size_t>(ends_.rend() - it - 1);
    if (weights_[i] > 0) {
      for (std::size_t k = i; k < ends_.size(); ++k) ends_[k] = kSpace;
      break;
    }
  }
}

std::size_t SplitTable::Pick(std::uint32_t draw) const {
  const auto it = std::upper_bound(ends_.begin(), ends_.end(), std::uint64_t{draw});
  return std::min<std::size_t>(static_cast<std::size_t>(it - ends_.begin()), ends_.size() - 1);
}

double SplitTable::share(std::size_t i) const { return total_ > 0 ? weights_[i] / total_ : 0; }

std::uint64_t StickyHash(std::string_view key) {
  std::uint64_t hash = 1469598103934665603ull;
  for (unsigned char c : key) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return Mix(hash);
}

std::uint32_t RandomDraw() { return static_cast<std::uint32_t>(Next() >> 32); }

double RandomUnit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

}  // namespace ferry::routing
