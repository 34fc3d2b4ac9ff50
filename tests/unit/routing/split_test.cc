// The weighted split's arithmetic: shares over many draws, exact tiling of the draw space,
// zero-weight routes, and sticky hashing that is the same for every instance and build.
#include "routing/split.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace ferry::routing {
namespace {

TEST(SplitTable, HundredThousandDrawsFollowTheWeights) {
  const std::vector<double> weights{95, 4, 1};
  const SplitTable split(weights);
  std::vector<int> hits(weights.size());
  std::mt19937 random(11);
  constexpr int kDraws = 100000;
  for (int i = 0; i < kDraws; ++i) ++hits[split.Pick(static_cast<std::uint32_t>(random()))];
  for (std::size_t r = 0; r < weights.size(); ++r) {
    EXPECT_NEAR(hits[r] / double(kDraws), weights[r] / 100.0, 0.01) << "route " << r;
  }
}

TEST(SplitTable, RandomDrawsToo) {
  const std::vector<double> weights{1, 1};
  const SplitTable split(weights);
  int first = 0;
  for (int i = 0; i < 100000; ++i) first += split.Pick(RandomDraw()) == 0;
  EXPECT_NEAR(first / 100000.0, 0.5, 0.01);
}

TEST(SplitTable, RangesTileTheDrawSpaceWithoutGapsAtTheEdges) {
  const std::vector<double> weights{1, 2, 1};  // [0, 2^30), [2^30, 3*2^30), [3*2^30, 2^32)
  const SplitTable split(weights);
  EXPECT_EQ(split.Pick(0), 0u);
  EXPECT_EQ(split.Pick((1u << 30) - 1), 0u);
  EXPECT_EQ(split.Pick(1u << 30), 1u);
  EXPECT_EQ(split.Pick(3u << 30), 2u);
  EXPECT_EQ(split.Pick(0xffffffffu), 2u);
  EXPECT_DOUBLE_EQ(split.share(1), 0.5);
}

TEST(SplitTable, ZeroWeightRoutesAreNeverPicked) {
  const std::vector<double> weights{0, 3, 0, 1, 0};
  const SplitTable split(weights);
  for (std::uint32_t draw : {0u, 1u, 0x7fffffffu, 0xbfffffffu, 0xc0000000u, 0xffffffffu}) {
    const auto route = split.Pick(draw);
    EXPECT_TRUE(route == 1 || route == 3) << draw;
  }
  EXPECT_EQ(split.Pick(0xffffffffu), 3u);
  EXPECT_EQ(split.share(0), 0);
}

TEST(SplitTable, AWholeWeightGoesToTheOnlyRoute) {
  const std::vector<double> weights{0.3};
  const SplitTable split(weights);
  EXPECT_EQ(split.Pick(0), 0u);
  EXPECT_EQ(split.Pick(0xffffffffu), 0u);
}

TEST(StickyHash, IsTheSameForEveryInstanceAndBuild) {
  // Fixed values: a change here would move every sticky user to another route after an upgrade.
  EXPECT_EQ(StickyHash("user-42"), 0xe1a2fed0654c3d97ull);
  EXPECT_EQ(StickyHash(""), 0x552d3fb62b3c344full);
}

TEST(StickyHash, TwoRoutersWithTheSameWeightsSendAKeyTheSameWay) {
  const std::vector<double> weights{50, 30, 20};
  const SplitTable a(weights), rebuilt(weights);
  std::vector<int> hits(3);
  for (int i = 0; i < 30000; ++i) {
    const std::string key = "user-" + std::to_string(i);
    const auto draw = static_cast<std::uint32_t>(StickyHash(key) >> 32);
    ASSERT_EQ(a.Pick(draw), rebuilt.Pick(draw)) << key;
    ++hits[a.Pick(draw)];
  }
  EXPECT_NEAR(hits[0] / 30000.0, 0.5, 0.02);  // keys spread like random draws
  EXPECT_NEAR(hits[2] / 30000.0, 0.2, 0.02);
}

}  // namespace
}  // namespace ferry::routing
