// observe::Tracer: W3C traceparent parsing, the parent-based ratio sampler, and export of queued
// spans as OTLP JSON lines at destruction.
#include "observe/tracer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace ferry::observe {
namespace {

TEST(Traceparent, ParsesAndFormatsVersion00) {
  auto c = ParseTraceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  ASSERT_TRUE(c.has_value());
  EXPECT_TRUE(c->sampled);
  EXPECT_EQ(Hex(c->trace_id), "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(Hex(c->span_id), "b7ad6b7169203331");
  EXPECT_EQ(FormatTraceparent(c->trace_id, c->span_id, false),
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00");
  EXPECT_FALSE(ParseTraceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00")->sampled);
  // A later version may append fields.
  EXPECT_TRUE(ParseTraceparent("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra").has_value());
}

TEST(Traceparent, RefusesMalformedHeaders) {
  for (const char* bad : {"", "garbage", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
                          "00-00000000000000000000000000000000-b7ad6b7169203331-01",
                          "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
                          "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
                          "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                          "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01x"}) {
    EXPECT_FALSE(ParseTraceparent(bad).has_value()) << bad;
  }
}

TEST(Tracer, SamplesParentBasedAndByRatio) {
  auto tracer = Tracer::Create({.rate = 0.25});
  ASSERT_TRUE(tracer.has_value());
  TraceContext parent{.trace_id = Tracer::NewTraceId(), .span_id = Tracer::NewSpanId(), .sampled = false};
  EXPECT_FALSE((*tracer)->Sample(parent, parent.trace_id));
  parent.sampled = true;
  EXPECT_TRUE((*tracer)->Sample(parent, parent.trace_id));
  int sampled = 0;
  for (int i = 0; i < 40000; ++i) sampled += (*tracer)->Sample(std::nullopt, Tracer::NewTraceId());
  EXPECT_NEAR(sampled, 10000, 500);
  EXPECT_FALSE(Tracer::Create({.rate = 2}).has_value());
}

TEST(Tracer, ExportsQueuedSpansAsOtlpJsonLines) {
  const auto path = std::filesystem::temp_directory_path() / ("ferry_tracer_" + std::to_string(::getpid()) + ".jsonl");
  std::filesystem::remove(path);
  {
    auto tracer = Tracer::Create({.rate = 1, .file = path, .delay = std::chrono::milliseconds(60000)});
    ASSERT_TRUE(tracer.has_value());
    Span span;
    span.trace_id = Tracer::NewTraceId();
    span.span_id = Tracer::NewSpanId();
    span.name = "infer pima";
    span.kind = Span::Kind::kServer;
    span.start_unix_ns = 1;
    span.end_unix_ns = 2;
    span.attributes.emplace_back("ferry.model", std::string("pima"));
    span.attributes.emplace_back("ferry.version", std::int64_t{1});
    (*tracer)->End(span);
    (*tracer)->End(span);
  }  // destruction exports what lingers
  std::ifstream in(path);
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_NE(line.find(R"("resourceSpans":[{"resource":{"attributes":[{"key":"service.name")"), std::string::npos);
  EXPECT_NE(line.find(R"("name":"infer pima","kind":2,"startTimeUnixNano":"1","endTimeUnixNano":"2")"),
            std::string::npos);
  EXPECT_NE(line.find(R"({"key":"ferry.version","value":{"intValue":"1"}})"), std::string::npos);
  EXPECT_EQ(line.find("parentSpanId"), std::string::npos);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace ferry::observe
