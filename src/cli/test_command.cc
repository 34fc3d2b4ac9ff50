#include "cli/test_command.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/in_process.h"
#include "core/file.h"
#include "core/json_writer.h"

namespace ferry::cli {
namespace {

namespace fs = std::filesystem;
using simdjson::dom::element;
using simdjson::dom::element_type;

struct TestOptions {
  std::string repository;
  std::vector<std::string> cases;
  bool update = false;
  std::string junit;
  double ready_timeout_s = 300;
};

// One case file, as read.
struct Case {
  fs::path file;
  std::string name;
  std::string route;
  http::Method method = http::Method::kPost;
  std::string method_name = "POST";
  std::string body;             // the request body as sent
  std::string body_json;        // the body as the file has it (JSON), for --update
  std::optional<std::string> expect;  // the expected answer, JSON
  int status = 200;
  std::optional<std::string> error;   // a fragment the error message must hold
  double tolerance = 0;
};

struct Outcome {
  bool passed = false;
  std::string why;  // a failure's reason
  double seconds = 0;
};

// Every .json file of `paths` (directories searched below), in name order.
core::Result<std::vector<fs::path>> CaseFiles(const std::vector<std::string>& paths) {
  std::vector<fs::path> files;
  for (const auto& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<fs::path> found;
      for (const auto& entry : fs::recursive_directory_iterator(p, ec)) {
        if (entry.is_regular_file() && entry.path().extension() == ".json") found.push_back(entry.path());
      }
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::is_regular_file(p, ec)) {
      files.emplace_back(p);
    } else {
      return core::InvalidArgument(fmt::format("no case file or folder '{}'", p));
    }
  }
  if (files.empty()) return core::InvalidArgument("no case files (.json) found");
  return files;
}

std::string Minified(element e) { return simdjson::minify(e); }

core::Result<Case> ReadCase(const fs::path& file) {
  FERRY_ASSIGN_OR_RETURN(const std::string text, core::ReadWholeFile(file, "case file"));
  simdjson::dom::parser parser;
  element root;
  if (auto error = parser.parse(text).get(root); error || !root.is_object()) {
    return core::InvalidArgument(fmt::format("{}: not a JSON object{}", file.string(),
                                             error ? std::string(": ") + simdjson::error_message(error) : ""));
  }
  Case c{.file = file, .name = file.string()};
  for (auto [key, value] : root.get_object()) {
    if (key == "name" && value.is_string()) {
      c.name = std::string(value.get_string().value());
    } else if (key == "route" && value.is_string()) {
      c.route = std::string(value.get_string().value());
    } else if (key == "method" && value.is_string()) {
      c.method_name = std::string(value.get_string().value());
    } else if (key == "body") {
      c.body_json = Minified(value);
      c.body = value.is_string() ? std::string(value.get_string().value()) : c.body_json;
    } else if (key == "expect") {
      c.expect = Minified(value);
    } else if (key == "status" && value.is_int64()) {
      c.status = static_cast<int>(value.get_int64().value());
    } else if (key == "error" && value.is_string()) {
      c.error = std::string(value.get_string().value());
    } else if (key == "tolerance" && value.is_number()) {
      c.tolerance = value.get_double().value();
    } else {
      return core::InvalidArgument(fmt::format("{}: unknown or mistyped key '{}' (route, method, body, expect, "
                                               "status, error, tolerance, name)", file.string(), key));
    }
  }
  if (!c.route.starts_with('/')) return core::InvalidArgument(fmt::format("{}: 'route' must be a path", file.string()));
  if (root["method"].error()) c.method_name = c.body_json.empty() ? "GET" : "POST";
  c.method = http::MethodNamed(c.method_name);
  if (c.method == http::Method::kOther) {
    return core::InvalidArgument(fmt::format("{}: method must be GET, POST or PUT", file.string()));
  }
  return c;
}

std::string Path(const std::string& at, std::string_view key) { return at + "." + std::string(key); }

// Where `got` differs from `want` (numbers within `tolerance`), or nullopt.
std::optional<std::string> Difference(element want, element got, double tolerance, const std::string& at) {
  if (want.is_number() && got.is_number()) {
    const double w = want.get_double().value(), g = got.get_double().value();
    if (w == g || std::abs(w - g) <= tolerance) return std::nullopt;
    return fmt::format("{}: expected {}, got {}", at, Minified(want), Minified(got));
  }
  if (want.type() != got.type()) return fmt::format("{}: expected {}, got {}", at, Minified(want), Minified(got));
  switch (want.type()) {
    case element_type::ARRAY: {
      auto w = want.get_array().value();
      auto g = got.get_array().value();
      if (w.size() != g.size()) return fmt::format("{}: expected {} elements, got {}", at, w.size(), g.size());
      std::size_t i = 0;
      for (auto wi = w.begin(), gi = g.begin(); wi != w.end(); ++wi, ++gi, ++i) {
        if (auto d = Difference(*wi, *gi, tolerance, fmt::format("{}[{}]", at, i))) return d;
      }
      return std::nullopt;
    }
    case element_type::OBJECT: {
      auto w = want.get_object().value();
      auto g = got.get_object().value();
      for (auto [key, value] : w) {
        element other;
        if (g.at_key(key).get(other)) return fmt::format("{}: missing", Path(at, key));
        if (auto d = Difference(value, other, tolerance, Path(at, key))) return d;
      }
      for (auto [key, value] : g) {
        if (w.at_key(key).error()) return fmt::format("{}: not expected, got {}", Path(at, key), Minified(value));
      }
      return std::nullopt;
    }
    default:
      if (Minified(want) == Minified(got)) return std::nullopt;
      return fmt::format("{}: expected {}, got {}", at, Minified(want), Minified(got));
  }
}

std::string ErrorOf(const http::HttpReply& reply) {
  simdjson::dom::parser parser;
  std::string_view message;
  if (!parser.parse(reply.body)["error"].get(message)) return std::string(message);
  return reply.body;
}

Outcome Check(const Case& c, const http::HttpReply& reply) {
  if (reply.status != c.status) {
    return {false, fmt::format("status {} (expected {}): {}", reply.status, c.status,
                               reply.status == 200 ? reply.body.substr(0, 300) : ErrorOf(reply)), 0};
  }
  if (c.error && ErrorOf(reply).find(*c.error) == std::string::npos) {
    return {false, fmt::format("the error '{}' does not say '{}'", ErrorOf(reply), *c.error), 0};
  }
  if (c.expect) {
    simdjson::dom::parser want_parser, got_parser;
    element want, got;
    if (got_parser.parse(reply.body).get(got)) return {false, "the answer is not JSON: " + reply.body.substr(0, 300), 0};
    if (want_parser.parse(*c.expect).get(want)) return {false, "'expect' is not JSON", 0};
    if (auto d = Difference(want, got, c.tolerance, "$")) return {false, *d, 0};
  }
  if (!c.expect && !c.error && c.status == 200) return {false, "the case expects nothing (add 'expect', or run --update)", 0};
  return {true, {}, 0};
}

// `json` indented by two spaces a level, for case files people read and diff.
void Pretty(element e, int depth, std::string& out) {
  const std::string pad(static_cast<std::size_t>(depth + 1) * 2, ' ');
  const std::string close(static_cast<std::size_t>(depth) * 2, ' ');
  if (e.is_object() && e.get_object().value().size() > 0) {
    out += "{\n";
    bool first = true;
    for (auto [key, value] : e.get_object()) {
      if (!first) out += ",\n";
      first = false;
      std::string k;
      core::JsonWriter(k).String(key);
      out += pad + k + ": ";
      Pretty(value, depth + 1, out);
    }
    out += "\n" + close + "}";
  } else if (e.is_array() && e.get_array().value().size() > 0) {
    // Arrays of scalars (tensor data) on one line; of objects, one element a line.
    bool scalars = true;
    for (element item : e.get_array()) scalars = scalars && !item.is_object() && !item.is_array();
    if (scalars) {
      out += Minified(e);
      return;
    }
    out += "[\n";
    bool first = true;
    for (element item : e.get_array()) {
      if (!first) out += ",\n";
      first = false;
      out += pad;
      Pretty(item, depth + 1, out);
    }
    out += "\n" + close + "]";
  } else {
    out += Minified(e);
  }
}

// The case with this answer as its expectation.
core::Result<void> Update(const Case& c, const http::HttpReply& reply) {
  std::string text = "{\n";
  const auto field = [&](std::string_view key, const std::string& json) {
    if (text.size() > 2) text += ",\n";
    std::string k;
    core::JsonWriter(k).String(key);
    simdjson::dom::parser parser;
    element e;
    text += "  " + k + ": ";
    if (parser.parse(json).get(e)) {
      text += json;
    } else {
      Pretty(e, 1, text);
    }
  };
  const auto quoted = [](std::string_view s) {
    std::string out;
    core::JsonWriter(out).String(s);
    return out;
  };
  if (c.name != c.file.string()) field("name", quoted(c.name));
  field("route", quoted(c.route));
  field("method", quoted(c.method_name));
  if (!c.body_json.empty()) field("body", c.body_json);
  if (c.tolerance > 0) field("tolerance", fmt::format("{}", c.tolerance));
  if (reply.status == 200) {
    field("expect", reply.body);
  } else {
    field("status", std::to_string(reply.status));
    field("error", quoted(ErrorOf(reply)));
  }
  text += "\n}\n";
  std::ofstream out(c.file, std::ios::trunc);
  if (!(out << text)) return core::InvalidArgument(fmt::format("cannot write {}", c.file.string()));
  return {};
}

std::string XmlEscaped(std::string_view s) {
  std::string out;
  for (const char ch : s) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += (static_cast<unsigned char>(ch) < 0x20 && ch != '\n' && ch != '\t') ? ' ' : ch;
    }
  }
  return out;
}

core::Result<void> WriteJunit(const std::string& path, const std::vector<std::pair<std::string, Outcome>>& results,
                              double seconds) {
  const auto failures = std::count_if(results.begin(), results.end(), [](const auto& r) { return !r.second.passed; });
  std::string xml = fmt::format("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"ferry test\" tests=\"{}\" "
                                "failures=\"{}\" errors=\"0\" time=\"{:.3f}\">\n",
                                results.size(), failures, seconds);
  for (const auto& [name, o] : results) {
    xml += fmt::format("  <testcase classname=\"ferry\" name=\"{}\" time=\"{:.3f}\"", XmlEscaped(name), o.seconds);
    xml += o.passed ? "/>\n" : fmt::format(">\n    <failure message=\"{}\"/>\n  </testcase>\n", XmlEscaped(o.why));
  }
  xml += "</testsuite>\n";
  std::ofstream out(path, std::ios::trunc);
  if (!(out << xml)) return core::InvalidArgument(fmt::format("cannot write {}", path));
  return {};
}

int RunTests(const TestOptions& options) {
  auto files = CaseFiles(options.cases);
  if (!files) {
    fmt::print(stderr, "ferry test: {}\n", files.error().message);
    return 2;
  }
  std::vector<Case> cases;
  for (const auto& file : *files) {
    auto c = ReadCase(file);
    if (!c) {
      fmt::print(stderr, "ferry test: {}\n", c.error().message);
      return 2;
    }
    cases.push_back(std::move(*c));
  }
  const auto started = std::chrono::steady_clock::now();
  auto server = OpenRepository(options.repository, std::chrono::milliseconds(
                                                       static_cast<std::int64_t>(options.ready_timeout_s * 1000)));
  if (!server) {
    fmt::print(stderr, "ferry test: {}\n", server.error().message);
    return 2;
  }
  if (!(*server)->IsReady()) fmt::print("note: not every model is ready: {}\n", (*server)->NotReadyReason());
  std::vector<std::pair<std::string, Outcome>> results;
  std::size_t passed = 0, updated = 0;
  for (const Case& c : cases) {
    const auto t0 = std::chrono::steady_clock::now();
    const http::HttpReply reply = http::HandleRequestAndWait(**server, c.method, c.route, c.body);
    Outcome o = Check(c, reply);
    o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (options.update && !o.passed) {
      if (auto written = Update(c, reply); !written) {
        fmt::print(stderr, "ferry test: {}\n", written.error().message);
        return 2;
      }
      ++updated;
      fmt::print("UPDATED {} ({})\n", c.name, o.why);
      o = {true, {}, o.seconds};
    } else if (o.passed) {
      fmt::print("PASS {} ({:.1f} ms)\n", c.name, o.seconds * 1000);
    } else {
      fmt::print("FAIL {}: {}\n", c.name, o.why);
    }
    passed += o.passed ? 1 : 0;
    results.emplace_back(c.name, std::move(o));
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  fmt::print("{} passed, {} failed{}\n", passed, cases.size() - passed,
             updated ? fmt::format(" ({} updated)", updated) : "");
  if (!options.junit.empty()) {
    if (auto written = WriteJunit(options.junit, results, seconds); !written) {
      fmt::print(stderr, "ferry test: {}\n", written.error().message);
      return 2;
    }
  }
  return passed == cases.size() ? 0 : 1;
}

}  // namespace

void AddTestCommand(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<TestOptions>();
  CLI::App* test = app.add_subcommand("test", "Test a model repository without a server: run request cases in "
                                              "this process and compare the answers (docs/testing.md)");
  test->add_option("--model-repository", options->repository, "The model repository")->required();
  test->add_option("cases", options->cases, "Case files (.json) or folders of them")->required();
  test->add_flag("--update", options->update, "Write each differing answer into its case as the expectation");
  test->add_option("--junit", options->junit, "Also write a JUnit XML report to this file");
  test->add_option("--ready-timeout-s", options->ready_timeout_s, "How long to wait for the models to load")
      ->capture_default_str();
  test->callback([options, &exit_code] { exit_code = RunTests(*options); });
}

}  // namespace ferry::cli
