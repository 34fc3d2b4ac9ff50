// Routers over fake servables: configuration errors, load checks, the split, sticky keys,
// overrides, fallbacks, weights set at run time, shadows, ensembles and bandits with feedback.
// (The integration tests run routers in the real server over real models.)
#include "routing/router.h"

#include <gtest/gtest.h>

#include <future>
#include <map>
#include <set>

#include "pipeline/pipeline.h"
#include "routing/ensemble.h"
#include "routing/pipeline_servable.h"
#include "routing/route_info.h"
#include "routing/router_builder.h"
#include "routing/router_config.h"
#include "unit/test_util/fake_servables.h"

namespace ferry::routing {
namespace {

using test::Constant;
using test::FakeModel;
using test::Request;
using test::Signature;

class Headers final : public CallContext {
 public:
  explicit Headers(std::map<std::string, std::string> headers, std::string key = {})
      : headers_(std::move(headers)), key_(std::move(key)) {}
  std::optional<std::string_view> Header(std::string_view name) const override {
    auto it = headers_.find(std::string(name));
    if (it == headers_.end()) return std::nullopt;
    return it->second;
  }
  std::optional<std::string_view> Key() const override {
    if (key_.empty()) return std::nullopt;
    return key_;
  }

 private:
  std::map<std::string, std::string> headers_;
  std::string key_;
};

core::Result<core::InferenceResponse> Call(const Servable& servable, core::InferenceRequest request,
                                           const CallContext& context = CallContext::None()) {
  std::promise<core::Result<core::InferenceResponse>> promise;
  auto future = promise.get_future();
  servable.Infer(std::move(request), context,
                 [&](core::Result<core::InferenceResponse> answer) { promise.set_value(std::move(answer)); });
  return future.get();
}

// One field of the answer's route, as transports send it.
std::string Param(const core::InferenceResponse& response, std::string_view key) {
  std::string found;
  RouteOf(response).ForEachField([&](std::string_view k, std::string_view v) {
    if (k == key) found = std::string(v);
  });
  return found;
}

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    a_ = std::make_shared<FakeModel>("a", Signature(), Constant("y", 1));
    b_ = std::make_shared<FakeModel>("b", Signature(), Constant("y", 2));
    resolver_.Add(a_);
    resolver_.Add(b_);
  }

  core::Result<ServableHandle> Build(const std::string& name, const std::string& yaml,
                                     std::vector<std::string>* missing = nullptr) {
    const std::string source = fmt::format("{}/model.yaml", name);
    return BuildRouter({.name = name, .version = 1, .yaml = yaml, .source = source, .previous = nullptr},
                       {.resolver = &resolver_, .timer = &timer_}, missing);
  }
  ServableHandle MustBuild(const std::string& name, const std::string& yaml) {
    auto router = Build(name, yaml);
    EXPECT_TRUE(router) << router.error().message;
    return router ? *router : nullptr;
  }

  Timer timer_;
  test::FakeResolver resolver_;
  std::shared_ptr<FakeModel> a_, b_;
};

TEST(RouterConfig, BadConfigurationsAreRefusedWithTheLine) {
  const std::pair<std::string, std::string> cases[] = {
      {"router: {routes: [{target: a, weight: 0}, {target: b, weight: 0}]}", "add up to 0"},
      {"router: {routes: [{target: a}], fallback: {to: nowhere}}", "no route has that name"},
      {"router: {routes: [{target: a}], sticky: {key: kafka_key}, bandit: {}}", "'sticky' cannot be used"},
      {"router: {routes: [{target: a}], colour: blue}", "unknown key 'colour'"},
      {"router: {routes: [{target: a}, {target: a}]}", "two entries of 'routes' are named 'a'"},
      {"router: {routes: [{target: \"a:x\"}]}", "must be a positive integer"},
      {"router: {routes: [{target: a, weight: -1}]}", "'weight' must be a number from 0"},
      {"router: {routes: [{target: a}], sticky: {key: \"cookie:x\"}}", "must be header:NAME"},
      {"router: {routes: [{target: a}], bandit: {policy: greedy}}", "bandit policy 'greedy' is unknown"},
      {"router: {ensemble: {members: [{target: a}], aggregate: {output: y, method: vote}}}", "method 'vote' is unknown"},
      {"router: {ensemble: {members: [{target: a}, {target: b}], aggregate: {output: y, method: mean}, quorum: 3}}",
       "'quorum' must be an integer from 1 to 2"},
      {"router: {routes: [{target: a}], ensemble: {members: [{target: a}], aggregate: {output: y, method: mean}}}",
       "'routes' belongs to a router with routes"},
      {"router: []", "'router' must be a map"},
  };
  // Required keys that are missing (found by fuzzing: reading them threw).
  const std::pair<std::string, std::string> missing[] = {
      {"router: {ensemble: {members: [{target: a}], aggregate: {output: y}}}", "'method' is required"},
      {"router: {ensemble: {members: [{target: a}], aggregate: {method: mean}}}", "'output' is required"},
      {"router: {routes: [{target: a}], fallback: {on: [timeout]}}", "'to' is required"},
      {"router: {routes: [{target: a}], sticky: {}}", "'key' is required"},
      {"router: {routes: [{target: a}], override: {}}", "'header' is required"},
      {"router: {routes: [{target: a}], shadow: [{target: b, compare: {abs_tol: 1}}]}", "'output' is required"},
  };
  for (const auto& [yaml, fragment] : missing) {
    auto config = ParseRouterConfig(yaml, "r/model.yaml");
    ASSERT_FALSE(config) << yaml;
    EXPECT_NE(config.error().message.find(fragment), std::string::npos) << config.error().message;
  }
  for (const auto& [yaml, fragment] : cases) {
    auto config = ParseRouterConfig(yaml, "r/model.yaml");
    ASSERT_FALSE(config) << yaml;
    EXPECT_NE(config.error().message.find(fragment), std::string::npos) << config.error().message;
    EXPECT_NE(config.error().message.find("r/model.yaml:1"), std::string::npos) << config.error().message;
  }
}

TEST(RouterConfig, DefaultsAndTargets) {
  auto config = ParseRouterConfig(
      "router:\n  routes: [{target: \"pima:2\"}, {name: stable, target: pima, weight: 3}]\n  override: true\n"
      "  fallback: {to: stable}\n  sticky: {key: \"header:X-User\"}\n",
      "r");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->routes[0].name, "pima:2");
  EXPECT_EQ(config->routes[0].target.version, 2);
  EXPECT_EQ(config->routes[1].target.version, 0);
  EXPECT_EQ(config->override_header, "ferry-route");
  EXPECT_EQ(config->fallback->on.size(), 3u);  // every class by default
  EXPECT_EQ(config->sticky->name, "x-user");   // header names compare in lower case
}

TEST_F(RouterTest, LoadRefusesUnknownTargetsIncompatibleSignaturesAndCycles) {
  std::vector<std::string> missing;
  auto unknown = Build("r", "router: {routes: [{target: a}, {target: ghost}]}", &missing);
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("route 'ghost': unknown model 'ghost'"), std::string::npos)
      << unknown.error().message;
  EXPECT_EQ(missing, std::vector<std::string>{"ghost"});

  resolver_.Add(std::make_shared<FakeModel>("wide", Signature("y", 3), Constant("y", 1)));
  auto incompatible = Build("r", "router: {routes: [{target: a}, {target: wide}]}");
  ASSERT_FALSE(incompatible);
  EXPECT_NE(incompatible.error().message.find("input 'x': route 'a' takes FP32 [-1, 2], route 'wide' takes FP32 [-1, 3]"),
            std::string::npos)
      << incompatible.error().message;
}

TEST_F(RouterTest, CyclesThroughOtherRoutersAreRefused) {
  auto inner = MustBuild("inner", "router: {routes: [{target: a}]}");
  resolver_.Add(inner);
  resolver_.Add(MustBuild("outer", "router: {routes: [{target: inner}]}"));
  // "inner" reloaded to route to "outer" would call itself.
  auto cycle = Build("inner", "router: {routes: [{target: outer}]}");
  ASSERT_FALSE(cycle);
  EXPECT_NE(cycle.error().message.find("inner -> outer -> inner"), std::string::npos) << cycle.error().message;
  auto self = Build("r", "router: {routes: [{target: r}]}");
  ASSERT_FALSE(self);
  EXPECT_NE(self.error().message.find("routes to itself"), std::string::npos);
}

TEST_F(RouterTest, SplitsByWeightAndSaysWhoAnswered) {
  auto router = MustBuild("canary", "router: {routes: [{name: stable, target: a, weight: 80}, {name: next, target: b, weight: 20}]}");
  std::map<std::string, int> routes;
  for (int i = 0; i < 2000; ++i) {
    auto answer = Call(*router, Request("canary"));
    ASSERT_TRUE(answer) << answer.error().message;
    EXPECT_EQ(answer->model_name, "canary");
    EXPECT_EQ(Param(*answer, kReasonKey), "weighted");
    const std::string route = Param(*answer, kRouteKey);
    EXPECT_EQ(Param(*answer, kModelKey), route == "stable" ? "a" : "b");
    EXPECT_EQ(answer->outputs[0].values<float>()[0], route == "stable" ? 1.0f : 2.0f);
    ++routes[route];
  }
  EXPECT_NEAR(routes["stable"] / 2000.0, 0.8, 0.04);
  auto state = router->Routing().value();
  EXPECT_EQ(state.kind, "split");
  EXPECT_EQ(state.routes[0].requests + state.routes[1].requests, 2000u);
  EXPECT_DOUBLE_EQ(state.routes[1].weight, 0.2);
}

TEST_F(RouterTest, StickyKeysGoTheSameWayOnEveryInstance) {
  const std::string yaml = "router: {routes: [{target: a}, {target: b}], sticky: {key: \"header:x-user-id\"}}";
  auto first = MustBuild("r", yaml), second = MustBuild("r", yaml);
  int to_a = 0;
  for (int user = 0; user < 200; ++user) {
    const Headers headers(std::map<std::string, std::string>{{"x-user-id", fmt::format("user-{}", user)}});
    auto one = Call(*first, Request("r"), headers), two = Call(*second, Request("r"), headers);
    ASSERT_TRUE(one && two);
    EXPECT_EQ(Param(*one, kReasonKey), "sticky");
    EXPECT_EQ(Param(*one, kModelKey), Param(*two, kModelKey)) << user;
    for (int again = 0; again < 3; ++again) EXPECT_EQ(Param(*Call(*first, Request("r"), headers), kModelKey), Param(*one, kModelKey));
    to_a += Param(*one, kModelKey) == "a";
  }
  EXPECT_GT(to_a, 60);  // and the keys spread over both routes
  EXPECT_LT(to_a, 140);
  auto keyless = Call(*first, Request("r"));
  EXPECT_EQ(Param(*keyless, kReasonKey), "weighted");  // no key: a random draw
}

TEST_F(RouterTest, StickyOnAParameterOrAStreamKey) {
  auto by_parameter = MustBuild("r", "router: {routes: [{target: a}, {target: b}], sticky: {key: \"parameter:user\"}}");
  auto request = Request("r");
  request.parameters.emplace("user", std::string("u1"));
  EXPECT_EQ(Param(*Call(*by_parameter, std::move(request)), kReasonKey), "sticky");
  auto by_key = MustBuild("r", "router: {routes: [{target: a}, {target: b}], sticky: {key: kafka_key}}");
  EXPECT_EQ(Param(*Call(*by_key, Request("r"), Headers({}, "key-7")), kReasonKey), "sticky");
}

TEST_F(RouterTest, AnOverrideHeaderForcesARouteWhenAllowed) {
  auto router = MustBuild("r", "router: {routes: [{name: one, target: a, weight: 1}, {name: two, target: b, weight: 0}], override: true}");
  auto forced = Call(*router, Request("r"), Headers(std::map<std::string, std::string>{{"ferry-route", "two"}}));
  ASSERT_TRUE(forced) << forced.error().message;
  EXPECT_EQ(Param(*forced, kModelKey), "b");
  EXPECT_EQ(Param(*forced, kReasonKey), "override");
  auto unknown = Call(*router, Request("r"), Headers(std::map<std::string, std::string>{{"ferry-route", "three"}}));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_NE(unknown.error().message.find("routes: one, two"), std::string::npos);
  auto closed = MustBuild("r", "router: {routes: [{target: a, weight: 1}, {target: b, weight: 0}]}");
  EXPECT_EQ(Param(*Call(*closed, Request("r"), Headers(std::map<std::string, std::string>{{"ferry-route", "b"}})), kModelKey), "a");  // not allowed: ignored
}

TEST_F(RouterTest, FallbackCatchesUnavailableAndFullQueuesOnly) {
  auto full = std::make_shared<FakeModel>("full", Signature(), [](core::InferenceRequest&) -> core::Result<core::InferenceResponse> {
    return core::Unavailable("model 'full' version 1: queue is full (4 requests waiting); retry later");
  });
  auto picky = std::make_shared<FakeModel>("picky", Signature(), [](core::InferenceRequest&) -> core::Result<core::InferenceResponse> {
    return core::InvalidArgument("input 'x' is out of range");
  });
  resolver_.Add(full);
  resolver_.Add(picky);
  auto router = MustBuild("r", "router: {routes: [{name: main, target: full}, {name: safe, target: a, weight: 0}], "
                               "fallback: {on: [queue_full], to: safe}}");
  auto answer = Call(*router, Request("r"));
  ASSERT_TRUE(answer) << answer.error().message;
  EXPECT_EQ(Param(*answer, kRouteKey), "safe");
  EXPECT_EQ(Param(*answer, kReasonKey), "fallback");
  EXPECT_EQ(router->Routing()->routes[0].errors, 1u);

  auto bad_input = MustBuild("r", "router: {routes: [{target: picky}, {name: safe, target: a, weight: 0}], fallback: {to: safe}}");
  auto refused = Call(*bad_input, Request("r"));
  ASSERT_FALSE(refused);  // another route would refuse it the same way
  EXPECT_EQ(refused.error().code, core::ErrorCode::kInvalidArgument);

  auto gone = MustBuild("r", "router: {routes: [{name: main, target: b}, {name: safe, target: a, weight: 0}], fallback: {to: safe}}");
  resolver_.Remove("b");  // unloaded after the router was built
  auto rescued = Call(*gone, Request("r"));
  ASSERT_TRUE(rescued) << rescued.error().message;
  EXPECT_EQ(Param(*rescued, kModelKey), "a");
  auto no_fallback = MustBuild("r2", "router: {routes: [{target: a}]}");
  resolver_.Remove("a");
  auto lost = Call(*no_fallback, Request("r2"));
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().code, core::ErrorCode::kUnavailable);
  EXPECT_NE(lost.error().message.find("router 'r2' route 'a': unknown model 'a'"), std::string::npos);
}

TEST_F(RouterTest, WeightsChangeAtRunTimeAtomically) {
  auto router = MustBuild("r", "router: {routes: [{name: one, target: a, weight: 100}, {name: two, target: b, weight: 0}]}");
  ASSERT_TRUE(router->SetWeights({{"one", 0}, {"two", 5}}));
  for (int i = 0; i < 50; ++i) EXPECT_EQ(Param(*Call(*router, Request("r")), kRouteKey), "two");
  EXPECT_DOUBLE_EQ(router->Routing()->routes[1].weight, 1.0);
  auto unknown = router->SetWeights({{"three", 1}});
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("no route 'three'"), std::string::npos);
  EXPECT_FALSE(router->SetWeights({{"two", 0}}));  // would leave nothing to route to
  EXPECT_DOUBLE_EQ(router->Routing()->routes[1].weight, 1.0);  // unchanged by the refused ones
}

TEST_F(RouterTest, ShadowsGetCopiesAndAreCompared) {
  auto near = std::make_shared<FakeModel>("near", Signature(), Constant("y", 1.005f));
  resolver_.Add(near);
  auto router = MustBuild("r", "router: {routes: [{target: a}], shadow: [{target: near, compare: {output: y, abs_tol: 0.01}}, "
                               "{target: b, compare: {output: y, abs_tol: 0.01}}]}");
  for (int i = 0; i < 10; ++i) {
    auto answer = Call(*router, Request("r", 2));
    ASSERT_TRUE(answer);
    EXPECT_EQ(Param(*answer, kModelKey), "a");  // the shadows never answer
  }
  EXPECT_EQ(near->calls(), 10);
  EXPECT_EQ(b_->calls(), 10);
  observe::MetricSet set;
  router->CollectMetrics(set);
  std::string text;
  observe::PrometheusWriter w(text);
  set.Render(w);
  EXPECT_NE(text.find("ferry_shadow_comparisons_total{router=\"r\",shadow=\"near\",result=\"agreed\"} 10"),
            std::string::npos) << text;
  EXPECT_NE(text.find("ferry_shadow_comparisons_total{router=\"r\",shadow=\"b\",result=\"disagreed\"} 10"),
            std::string::npos);
  EXPECT_NE(text.find("ferry_shadow_difference_count{router=\"r\",shadow=\"b\"} 20"), std::string::npos);
}

TEST_F(RouterTest, ASlowShadowIsDroppedPastMaxInflight) {
  auto slow = std::make_shared<FakeModel>("slow", Signature(), Constant("y", 1));
  slow->set_delay(std::chrono::milliseconds(300));
  resolver_.Add(slow);
  auto router = MustBuild("r", "router: {routes: [{target: a}], shadow: [{target: slow, max_inflight: 2}]}");
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(Call(*router, Request("r")));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(250));  // never waited for the shadow
  observe::MetricSet set;
  router->CollectMetrics(set);
  std::string text;
  observe::PrometheusWriter w(text);
  set.Render(w);
  EXPECT_NE(text.find("outcome=\"sent\"} 2"), std::string::npos) << text;
  EXPECT_NE(text.find("outcome=\"dropped\"} 8"), std::string::npos) << text;
}

TEST_F(RouterTest, AnEnsembleLeavesOutAFailingMemberAndSaysWhoTookPart) {
  resolver_.Add(std::make_shared<FakeModel>("c", Signature(), Constant("y", 6)));
  resolver_.Add(std::make_shared<FakeModel>("broken", Signature(), [](core::InferenceRequest&) -> core::Result<core::InferenceResponse> {
    return core::Internal("the model crashed");
  }));
  auto ensemble = MustBuild("e", "router: {ensemble: {members: [{target: a}, {target: broken}, {target: c}], "
                                 "aggregate: {output: y, method: mean}, quorum: 2}}");
  auto answer = Call(*ensemble, Request("e", 2));
  ASSERT_TRUE(answer) << answer.error().message;
  EXPECT_EQ(answer->model_name, "e");
  EXPECT_EQ(Param(*answer, kEnsembleKey), "a,c");
  EXPECT_EQ(Param(*answer, kReasonKey), "ensemble");
  ASSERT_EQ(answer->outputs.size(), 1u);
  EXPECT_FLOAT_EQ(answer->outputs[0].values<float>()[1], 3.5f);

  auto strict = MustBuild("e", "router: {ensemble: {members: [{target: a}, {target: broken}, {target: c}], "
                               "aggregate: {output: y, method: mean}, quorum: 3}}");
  auto below = Call(*strict, Request("e"));
  ASSERT_FALSE(below);
  EXPECT_EQ(below.error().code, core::ErrorCode::kUnavailable);
  EXPECT_NE(below.error().message.find("2 of 3 members answered, fewer than its quorum of 3: 'broken' failed: the model crashed"),
            std::string::npos)
      << below.error().message;
}

TEST_F(RouterTest, AnEnsembleDoesNotWaitPastTheMemberTimeout) {
  auto slow = std::make_shared<FakeModel>("slow", Signature(), Constant("y", 9));
  slow->set_delay(std::chrono::milliseconds(400));
  resolver_.Add(slow);
  auto ensemble = MustBuild("e", "router: {ensemble: {members: [{target: a}, {target: b}, {target: slow}], "
                                 "aggregate: {output: y, method: median}, member_timeout_ms: 50}}");
  const auto start = std::chrono::steady_clock::now();
  auto answer = Call(*ensemble, Request("e"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(300));
  ASSERT_TRUE(answer) << answer.error().message;
  EXPECT_EQ(Param(*answer, kEnsembleKey), "a,b");
  EXPECT_FLOAT_EQ(answer->outputs[0].values<float>()[0], 1.5f);
  auto state = ensemble->Routing().value();
  EXPECT_EQ(state.kind, "ensemble");
  EXPECT_EQ(state.routes[2].errors, 1u);  // timed out
}

TEST_F(RouterTest, ABanditLearnsFromFeedback) {
  auto router = MustBuild("bandit", "router: {routes: [{target: a}, {target: b}], bandit: {policy: thompson, seed: 1}}");
  // Route b pays, a does not.
  for (int i = 0; i < 300; ++i) {
    auto answer = Call(*router, Request("bandit"));
    ASSERT_TRUE(answer);
    const std::string id = Param(*answer, kDecisionKey);
    ASSERT_FALSE(id.empty());
    const double reward = Param(*answer, kModelKey) == "b" ? 1 : 0;
    auto results = router->ApplyFeedback({{.decision_id = id, .reward = reward, .rewards = {}}});
    ASSERT_TRUE(results);
    EXPECT_EQ(results->front().outcome, FeedbackResult::Outcome::kApplied);
  }
  auto state = router->Routing().value();
  EXPECT_EQ(state.kind, "bandit");
  EXPECT_EQ(state.policy, "thompson");
  EXPECT_GT(state.routes[1].pulls, state.routes[0].pulls * 3);
  EXPECT_GT(state.routes[1].probability_best, 0.9);
  EXPECT_FALSE(router->SetWeights({{"a", 1}}));  // a bandit sets its own
}

TEST_F(RouterTest, RecordsAreRoutedOneByOneWhenEachHasItsOwnContext) {
  // A records servable: a pipeline over fake model "a" (or "b") answering y.
  const std::string steps =
      "pipeline:\n  - {name: fields, kind: record, fields: {v: number, user: string}}\n"
      "  - {name: x, kind: tensor, output: x, fields: [v, v]}\n  - {name: score, kind: model, model: MODEL}\n"
      "  - {name: answer, kind: respond, fields: [y, user]}\n";
  for (const std::string model : {"a", "b"}) {
    std::string yaml = steps;
    yaml.replace(yaml.find("MODEL"), 5, model);
    auto pipeline = pipeline::Pipeline::Parse(yaml, "p/model.yaml", fmt::format("p{}", model)).value();
    resolver_.Add(std::make_shared<PipelineServable>(fmt::format("p{}", model), 1, pipeline, resolver_));
  }
  auto router = MustBuild("r", "router: {routes: [{target: pa}, {target: pb}], sticky: {key: \"field:user\"}}");
  ASSERT_TRUE(router->TakesRecords());
  std::vector<core::Record> records;
  std::vector<Headers> contexts;
  for (int i = 0; i < 40; ++i) {
    records.push_back({{{"v", core::Value::Number(i)}, {"user", core::Value::String(fmt::format("u{}", i))}}});
    contexts.emplace_back(std::map<std::string, std::string>{});
  }
  std::vector<const CallContext*> each;
  for (const auto& c : contexts) each.push_back(&c);
  std::promise<core::Result<Predictions>> promise;
  router->Predict(records, each, [&](core::Result<Predictions> p) { promise.set_value(std::move(p)); });
  auto predictions = promise.get_future().get();
  ASSERT_TRUE(predictions) << predictions.error().message;
  ASSERT_EQ(predictions->size(), 40u);
  std::set<std::string> models;
  for (std::size_t i = 0; i < 40; ++i) {
    ASSERT_EQ(predictions->state(i), Predictions::State::kAnswered);
    auto user = predictions->Field(i, "user");
    ASSERT_TRUE(user);
    EXPECT_EQ(user->text, fmt::format("u{}", i));  // in the order sent
    const auto& route = predictions->route(i);
    EXPECT_EQ(route.reason, "sticky");
    EXPECT_EQ(predictions->Field(i, "y")->number, route.model == "pa" ? 1 : 2);
    models.insert(route.model);
  }
  EXPECT_EQ(models.size(), 2u);  // the users were spread over both routes
}

}  // namespace
}  // namespace ferry::routing
