#include "server/http/http_routes.h"

#include <gtest/gtest.h>

#include <unistd.h>

namespace ferry::http {
namespace {

namespace fs = std::filesystem;

TEST(DecodePathSegment, DecodesPercentEscapes) {
  EXPECT_EQ(DecodePathSegment("pima"), "pima");
  EXPECT_EQ(DecodePathSegment("a%20b"), "a b");
  EXPECT_EQ(DecodePathSegment("%2e%2E"), "..");
  EXPECT_FALSE(DecodePathSegment("a%2").has_value());
  EXPECT_FALSE(DecodePathSegment("a%zz").has_value());
  EXPECT_FALSE(DecodePathSegment("a%00b").has_value());
}

TEST(RequiredScope, RoutingIsReadToSeeAdminToChangeAndFeedbackIsInference) {
  EXPECT_EQ(RequiredScope("/v2/models/r/routing", Method::kGet), auth::Scope::kRead);
  EXPECT_EQ(RequiredScope("/v2/models/r/routing", Method::kPut), auth::Scope::kAdmin);
  EXPECT_EQ(RequiredScope("/v2/models/r/feedback", Method::kPost), auth::Scope::kInfer);
  EXPECT_EQ(RequiredScope("/v2/models/r/infer", Method::kPost), auth::Scope::kInfer);
  EXPECT_EQ(RequiredScope("/v2/health/ready", Method::kGet), auth::Scope::kNone);
  EXPECT_EQ(RequiredScope("/v2/streams", Method::kGet), auth::Scope::kRead);
  EXPECT_EQ(RequiredScope("/v2/figures", Method::kGet), auth::Scope::kRead);
  EXPECT_EQ(RequiredScope("/ui/", Method::kGet), auth::Scope::kNone) << "the page holds no data";
}

// Routes against a server over an empty repository: everything but inference.
class RoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("ferry_routes_test_" + std::to_string(::getpid()));
    fs::create_directories(root_ / "broken" / "1");  // a version folder with no model file
    server_ = std::move(*runtime::Server::Create({.model_repository = root_}));
    ASSERT_TRUE(server_->WaitUntilReady(std::chrono::seconds(30)));
  }
  void TearDown() override { fs::remove_all(root_); }

  HttpReply Call(Method method, std::string_view target, std::string_view body = "") {
    HttpReply out{.status = 0, .body = "", .allow = "", .inference_header_length = {}};
    HandleRequest(*server_, {.method = method, .target = target, .body = body, .inference_header_length = {}},
                  [&](HttpReply reply) { out = std::move(reply); });
    EXPECT_NE(out.status, 0) << "no reply for " << target;
    return out;
  }

  fs::path root_;
  std::unique_ptr<runtime::Server> server_;
};

TEST_F(RoutesTest, TheDashboardPageAndItsFigures) {
  for (const std::string_view path : {"/", "/ui", "/ui/"}) {
    HttpReply page = Call(Method::kGet, path);
    EXPECT_EQ(page.status, 200) << path;
    EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
    EXPECT_NE(page.body.find("<title>ferry</title>"), std::string::npos);
    EXPECT_EQ(page.body.find("/*DASHBOARD_JS*/"), std::string::npos) << "the script is inlined";
    EXPECT_NE(page.body.find("v2/figures"), std::string::npos);
  }
  EXPECT_EQ(Call(Method::kPost, "/ui/").status, 405);
  HttpReply off{};
  HandleRequest(*server_, {.method = Method::kGet, .target = "/ui/"}, [&](HttpReply r) { off = std::move(r); },
                RouteSet::kApi);
  EXPECT_EQ(off.status, 404) << "--no-ui";
  HttpReply figures = Call(Method::kGet, "/v2/figures");
  EXPECT_EQ(figures.status, 200);
  EXPECT_NE(figures.body.find("\"control\":true"), std::string::npos) << figures.body;
  EXPECT_NE(figures.body.find("\"models\":["), std::string::npos) << figures.body;
  EXPECT_EQ(Call(Method::kPost, "/v2/figures").status, 405);
}

TEST_F(RoutesTest, HealthAndServerMetadata) {
  EXPECT_EQ(Call(Method::kGet, "/v2/health/live").status, 200);
  EXPECT_EQ(Call(Method::kGet, "/v2/health/ready").status, 200);
  auto meta = Call(Method::kGet, "/v2");
  EXPECT_EQ(meta.status, 200);
  EXPECT_NE(meta.body.find("\"name\":\"ferry\""), std::string::npos);
  server_->BeginShutdown();
  EXPECT_EQ(Call(Method::kGet, "/v2/health/ready").status, 503);
}

TEST_F(RoutesTest, StreamsListTheirStatusAndAStoppedRequiredOneFailsReadiness) {
  EXPECT_EQ(Call(Method::kGet, "/v2/streams").body, R"({"streams":[]})");
  std::string why;
  server_->AddStreamSource({.status = [](std::vector<std::string>& out) { out.push_back(R"({"name":"a"})"); },
                            .not_ready = [&why] { return why; }});
  EXPECT_EQ(Call(Method::kGet, "/v2/streams").body, R"({"streams":[{"name":"a"}]})");
  EXPECT_EQ(Call(Method::kPost, "/v2/streams").status, 405);
  EXPECT_EQ(Call(Method::kGet, "/v2/health/ready").status, 200);
  why = "stream 'a' stopped: the broker refused";
  auto ready = Call(Method::kGet, "/v2/health/ready");
  EXPECT_EQ(ready.status, 503);
  EXPECT_NE(ready.body.find("stream 'a' stopped: the broker refused"), std::string::npos) << ready.body;
}

// Triton's extensions ferry does not offer: 501 naming the extension, not 404 "no route".
TEST_F(RoutesTest, UnsupportedTritonExtensionsAre501NamingThem) {
  for (const auto& [target, extension] :
       std::vector<std::pair<std::string, std::string>>{{"/v2/systemsharedmemory/status", "system shared memory"},
                                                        {"/v2/systemsharedmemory/region/r/register", "system shared memory"},
                                                        {"/v2/cudasharedmemory/status", "CUDA shared memory"},
                                                        {"/v2/logging", "logging"},
                                                        {"/v2/trace/setting", "trace"},
                                                        {"/v2/models/m/trace/setting", "trace"}}) {
    auto reply = Call(Method::kGet, target);
    EXPECT_EQ(reply.status, 501) << target;
    EXPECT_NE(reply.body.find(extension), std::string::npos) << target << ": " << reply.body;
  }
}

TEST_F(RoutesTest, UnknownRoutesAndMethods) {
  EXPECT_EQ(Call(Method::kGet, "/v3").status, 404);
  EXPECT_EQ(Call(Method::kGet, "/v2/nothing").status, 404);
  EXPECT_EQ(Call(Method::kGet, "/v2/models/x/versions/1/infer/more").status, 404);
  auto wrong = Call(Method::kPost, "/v2/health/live");
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.allow, "GET");
  auto get_infer = Call(Method::kGet, "/v2/models/x/infer");
  EXPECT_EQ(get_infer.status, 405);
  EXPECT_EQ(get_infer.allow, "POST");
}

TEST_F(RoutesTest, ModelErrors) {
  auto unknown = Call(Method::kGet, "/v2/models/nope");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.body, R"({"error":"unknown model 'nope'"})");
  EXPECT_EQ(Call(Method::kGet, "/v2/models/nope/ready").status, 404);
  EXPECT_EQ(Call(Method::kGet, "/v2/models/x/versions/abc").status, 400);
  EXPECT_EQ(Call(Method::kGet, "/v2/models/x/versions/0/ready").status, 400);
  auto broken = Call(Method::kGet, "/v2/models/broken/ready");
  EXPECT_EQ(broken.status, 503);
  auto infer = Call(Method::kPost, "/v2/models/broken/infer",
                    R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}]})");
  EXPECT_EQ(infer.status, 503);
  EXPECT_NE(infer.body.find("no model file"), std::string::npos) << infer.body;
  auto bad_json = Call(Method::kPost, "/v2/models/broken/infer", "{");
  EXPECT_EQ(bad_json.status, 400);
}

}  // namespace
}  // namespace ferry::http
