// The arithmetic of a weighted split. Weights are normalised by their sum into cumulative integer
// ranges over [0, 2^32): route i owns [end(i-1), end(i)), each end rounded from the cumulative
// weight, so the ranges tile the space exactly -- no gap, no overlap, no off-by-one at the edges
// -- and a route of weight 0 owns nothing. A 32-bit draw (random, or a sticky key's hash) picks
// the route whose range holds it.
//
// StickyHash is the same on every replica, build and restart (FNV-1a, then a 64-bit finaliser
// for an even spread), so one key always lands on the same route while the weights stand.
// Plain value types and pure functions; safe from any thread. RandomDraw uses a per-thread
// generator.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace ferry::routing {

class SplitTable {
 public:
  // `weights` >= 0 with a positive sum.
  explicit SplitTable(std::span<const double> weights);

  std::size_t Pick(std::uint32_t draw) const;
  std::size_t size() const { return ends_.size(); }
  // Route i's weight over the sum of the weights (its share of the draws, up to 2^-32).
  double share(std::size_t i) const;
  const std::vector<double>& weights() const { return weights_; }

 private:
  std::vector<double> weights_;
  double total_ = 0;
  std::vector<std::uint64_t> ends_;  // cumulative, the last is 2^32
};

std::uint64_t StickyHash(std::string_view key);
// A uniform 32-bit draw from a per-thread generator.
std::uint32_t RandomDraw();
// A uniform double in [0, 1) from the same generator.
double RandomUnit();

}  // namespace ferry::routing
