// Bandits: each policy on a simulated environment, feedback idempotence and expiry, and the
// state file (round trip, and files that must be ignored without a crash).
#include "routing/bandit.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

namespace ferry::routing {
namespace {

std::vector<Bandit::Arm> Arms() { return {{"a", "m:1"}, {"b", "m:2"}, {"c", "m:3"}}; }

Bandit::Options Options(BanditPolicy policy, std::string state_file = {}) {
  BanditConfig config;
  config.policy = policy;
  config.epsilon = 0.1;
  config.min_pulls = 10;
  config.seed = 7;
  config.state_file = std::move(state_file);
  return {.router = "r", .config = config, .arms = Arms()};
}

// Three arms paying 1 with probability 0.2, 0.5 and 0.8; 5,000 rounds of one row each.
std::vector<std::uint64_t> Simulate(Bandit& bandit) {
  const double pay[] = {0.2, 0.5, 0.8};
  std::mt19937 random(3);
  for (int round = 0; round < 5000; ++round) {
    const auto decision = bandit.Decide(1);
    const double reward = std::bernoulli_distribution(pay[decision.arm])(random) ? 1 : 0;
    const auto result = bandit.Apply({.decision_id = decision.id, .reward = reward, .rewards = {}});
    EXPECT_EQ(result.outcome, FeedbackResult::Outcome::kApplied) << result.detail;
  }
  std::vector<std::uint64_t> pulls;
  for (const auto& s : bandit.State()) pulls.push_back(s.pulls);
  return pulls;
}

class Policies : public ::testing::TestWithParam<BanditPolicy> {};

TEST_P(Policies, TheBestArmGetsMostPulls) {
  Bandit bandit(Options(GetParam()));
  const auto pulls = Simulate(bandit);
  EXPECT_GT(pulls[2], pulls[0] + pulls[1]) << pulls[0] << " " << pulls[1] << " " << pulls[2];
  for (auto p : pulls) EXPECT_GE(p, 10u);  // min_pulls
  const auto posteriors = bandit.Posteriors();
  EXPECT_GT(posteriors[2].probability_best, 0.9);
  const auto state = bandit.State();
  EXPECT_NEAR(state[2].reward_sum / state[2].rewarded, 0.8, 0.05);
}

INSTANTIATE_TEST_SUITE_P(Bandit, Policies,
                         ::testing::Values(BanditPolicy::kEpsilonGreedy, BanditPolicy::kThompson, BanditPolicy::kUcb1),
                         [](const auto& info) { return std::string(BanditPolicyName(info.param)); });

TEST(Bandit, FeedbackIsCreditedOnceAndPerRow) {
  Bandit bandit(Options(BanditPolicy::kThompson));
  const auto decision = bandit.Decide(3);
  auto wrong = bandit.Apply({.decision_id = decision.id, .reward = std::nullopt, .rewards = {1, 0}});
  EXPECT_EQ(wrong.outcome, FeedbackResult::Outcome::kInvalid);
  EXPECT_NE(wrong.detail.find("covered 3 row(s)"), std::string::npos) << wrong.detail;
  auto out_of_range = bandit.Apply({.decision_id = decision.id, .reward = 2.0, .rewards = {}});
  EXPECT_EQ(out_of_range.outcome, FeedbackResult::Outcome::kInvalid);
  auto applied = bandit.Apply({.decision_id = decision.id, .reward = std::nullopt, .rewards = {1, 0, 1}});
  EXPECT_EQ(applied.outcome, FeedbackResult::Outcome::kApplied);
  EXPECT_EQ(applied.rows, 3u);
  EXPECT_EQ(applied.route, bandit.arms()[decision.arm].name);
  auto again = bandit.Apply({.decision_id = decision.id, .reward = 1.0, .rewards = {}});
  EXPECT_EQ(again.outcome, FeedbackResult::Outcome::kDuplicate);
  const auto state = bandit.State()[decision.arm];
  EXPECT_EQ(state.rewarded, 3u);
  EXPECT_DOUBLE_EQ(state.reward_sum, 2);
}

TEST(Bandit, UnknownAndForeignIdsAreSaidSo) {
  Bandit bandit(Options(BanditPolicy::kThompson));
  const auto decision = bandit.Decide(1);
  EXPECT_EQ(bandit.Apply({.decision_id = "nonsense", .reward = 1.0, .rewards = {}}).outcome,
            FeedbackResult::Outcome::kUnknown);
  EXPECT_EQ(bandit.Apply({.decision_id = "00000000-0", .reward = 1.0, .rewards = {}}).outcome,
            FeedbackResult::Outcome::kUnknown);  // another instance's
  const std::string instance = decision.id.substr(0, decision.id.find('-'));
  auto future = bandit.Apply({.decision_id = instance + "-ff", .reward = 1.0, .rewards = {}});
  EXPECT_EQ(future.outcome, FeedbackResult::Outcome::kUnknown);
  EXPECT_EQ(future.detail, "no such decision");
}

TEST(Bandit, OldDecisionsExpireByAgeAndByCount) {
  auto options = Options(BanditPolicy::kEpsilonGreedy);
  options.config.feedback_ttl = std::chrono::milliseconds(50);
  Bandit aged(options);
  const auto old = aged.Decide(1);
  std::this_thread::sleep_for(std::chrono::milliseconds(80));
  EXPECT_EQ(aged.Apply({.decision_id = old.id, .reward = 1.0, .rewards = {}}).outcome,
            FeedbackResult::Outcome::kExpired);

  options.config.feedback_ttl = std::chrono::hours(1);
  options.config.max_decisions = 3;
  Bandit counted(options);
  const auto first = counted.Decide(1);
  for (int i = 0; i < 3; ++i) (void)counted.Decide(1);
  EXPECT_EQ(counted.Apply({.decision_id = first.id, .reward = 1.0, .rewards = {}}).outcome,
            FeedbackResult::Outcome::kExpired);
}

TEST(Bandit, RedirectCreditsTheFallbackArm) {
  Bandit bandit(Options(BanditPolicy::kThompson));
  const auto decision = bandit.Decide(2);
  const std::size_t other = (decision.arm + 1) % 3;
  bandit.Redirect(decision.id, other);
  EXPECT_EQ(bandit.State()[other].pulls, 2u);
  EXPECT_EQ(bandit.State()[decision.arm].pulls, 0u);
  EXPECT_EQ(bandit.Apply({.decision_id = decision.id, .reward = 1.0, .rewards = {}}).route, bandit.arms()[other].name);
}

class StateFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("ferry-bandit-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "state.json").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Write(const std::string& text) { std::ofstream(path_) << text; }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(StateFile, RoundTripAcrossARestart) {
  {
    Bandit bandit(Options(BanditPolicy::kThompson, path_));
    (void)Simulate(bandit);
  }  // saved when destroyed
  Bandit restarted(Options(BanditPolicy::kThompson, path_));
  const auto state = restarted.State();
  std::uint64_t pulls = 0;
  for (const auto& s : state) pulls += s.pulls;
  EXPECT_EQ(pulls, 5000u);
  EXPECT_GT(state[2].pulls, state[0].pulls);
  std::string why;
  EXPECT_TRUE(Bandit::ReadState(path_, Arms(), why)) << why;
  EXPECT_FALSE(std::filesystem::exists(path_ + ".tmp-" + std::to_string(::getpid())));
}

TEST_F(StateFile, SavedWhenChangedOnly) {
  Bandit bandit(Options(BanditPolicy::kThompson, path_));
  ASSERT_TRUE(bandit.SaveIfChanged());
  EXPECT_FALSE(std::filesystem::exists(path_));
  (void)bandit.Decide(1);
  ASSERT_TRUE(bandit.SaveIfChanged());
  EXPECT_TRUE(std::filesystem::exists(path_));
}

TEST_F(StateFile, ACorruptFileIsIgnored) {
  for (const std::string text : {"{not json", "{\"arms\": 3}", "{\"arms\": [{\"name\": \"a\"}]}",
                                 "{\"arms\": [{\"name\":\"a\",\"target\":\"m:1\",\"pulls\":1,\"rewarded\":1,\"reward_sum\":5}]}",
                                 ""}) {
    Write(text);
    std::string why;
    EXPECT_FALSE(Bandit::ReadState(path_, Arms(), why)) << text;
    EXPECT_FALSE(why.empty()) << text;
    Bandit bandit(Options(BanditPolicy::kThompson, path_));  // starts from the prior, does not crash
    for (const auto& s : bandit.State()) EXPECT_EQ(s.pulls, 0u);
  }
}

TEST_F(StateFile, AFileForOtherRoutesIsIgnored) {
  {
    Bandit bandit(Options(BanditPolicy::kThompson, path_));
    (void)bandit.Decide(1);
  }
  std::vector<Bandit::Arm> renamed = Arms();
  renamed[1].target = "m:9";
  std::string why;
  EXPECT_FALSE(Bandit::ReadState(path_, renamed, why));
  EXPECT_NE(why.find("routes differ"), std::string::npos) << why;
}

}  // namespace
}  // namespace ferry::routing
