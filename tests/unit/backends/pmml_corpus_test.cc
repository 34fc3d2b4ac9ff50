// The PMML conformance corpus (tests/pmml/corpus, written by tests/pmml/make_corpus.py): each
// document's rows, answered by ferry's evaluator, against the answers scikit-learn, XGBoost or R
// (tests/pmml/make_r_corpus.R) gave for them; `out:<name>` columns are output fields, and a row
// with an `error` is one its maker refuses too (a factor level it never saw). Probabilities and predictions agree within 1e-9 relative (the documents compute in
// double) -- 1e-5 for XGBoost's, which computes in float32 -- and labels exactly.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "backends/pmml/pmml_model.h"
#include "core/file.h"

namespace ferry::backends::pmml {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> SplitCsv(const std::string& line) {
  std::vector<std::string> cells;
  std::stringstream in(line);
  std::string cell;
  while (std::getline(in, cell, ',')) cells.push_back(cell);
  if (!line.empty() && line.back() == ',') cells.emplace_back();
  return cells;
}

bool Close(double got, double want, double tolerance) {
  return std::abs(got - want) <= tolerance * std::max(std::abs(want), 1e-3);
}

TEST(PmmlCorpus, EveryDocumentAnswersAsItsMakerDid) {
  const fs::path corpus = fs::path(FERRY_SOURCE_DIR) / "tests" / "pmml" / "corpus";
  std::size_t documents = 0, rows_checked = 0, invalid_rows = 0;
  for (const auto& entry : fs::directory_iterator(corpus)) {
    if (entry.path().extension() != ".pmml") continue;
    const std::string name = entry.path().stem().string();
    SCOPED_TRACE(name);
    ++documents;
    auto xml = core::ReadWholeFile(entry.path());
    ASSERT_TRUE(xml.has_value());
    auto compiled = CompiledPmml::Compile(*xml, name + ".pmml");
    ASSERT_TRUE(compiled.has_value()) << compiled.error().message;
    const CompiledPmml& model = **compiled;
    const double tolerance = name.starts_with("xgb-") ? 1e-5 : 1e-9;
    std::ifstream csv(fs::path(corpus) / (name + ".csv"));
    ASSERT_TRUE(csv.good()) << "no " << name << ".csv";
    std::string line;
    std::getline(csv, line);
    const auto header = SplitCsv(line);
    const std::size_t k = model.classification() ? model.categories().size() : 1;
    std::vector<double> in(model.inputs().size()), out(model.width());
    for (std::size_t row = 0; std::getline(csv, line); ++row) {
      SCOPED_TRACE(row);
      const auto cells = SplitCsv(line);
      ASSERT_EQ(cells.size(), header.size());
      for (std::size_t c = 0; c < header.size(); ++c) {
        if (!header[c].starts_with("in:")) continue;
        const std::string field = header[c].substr(3);
        std::size_t i = 0;
        while (i < model.inputs().size() && model.inputs()[i].name != field) ++i;
        ASSERT_LT(i, model.inputs().size()) << "no input " << field;
        in[i] = cells[c].empty()             ? std::nan("")
                : model.inputs()[i].is_string ? model.Encode(cells[c])
                                              : std::stod(cells[c]);
      }
      // An `error` column: the row is invalid, and the call fails naming why.
      const auto error = std::find(header.begin(), header.end(), "error");
      if (error != header.end() && !cells[static_cast<std::size_t>(error - header.begin())].empty()) {
        const std::string& why = cells[static_cast<std::size_t>(error - header.begin())];
        const auto refused = model.Evaluate(in.data(), 1, out.data());
        ASSERT_FALSE(refused.has_value()) << "expected: " << why;
        EXPECT_NE(refused.error().message.find(why), std::string::npos) << refused.error().message;
        ++invalid_rows;
        continue;
      }
      ASSERT_TRUE(model.Evaluate(in.data(), 1, out.data()).has_value());
      bool expects_answer = false;
      for (std::size_t c = 0; c < header.size(); ++c) {
        if (!header[c].starts_with("in:") && header[c] != "error" && !cells[c].empty()) expects_answer = true;
      }
      if (!expects_answer) {
        EXPECT_TRUE(std::isnan(out[model.classification() ? k : 0])) << "expected no prediction";
        continue;
      }
      for (std::size_t c = 0; c < header.size(); ++c) {
        const std::string& column = header[c];
        if (column.starts_with("in:") || column == "error" || cells[c].empty()) continue;
        if (column == "label") {
          ASSERT_FALSE(std::isnan(out[k])) << "no prediction";
          EXPECT_EQ(model.categories()[static_cast<std::size_t>(out[k])], cells[c]);
        } else if (column == "prediction") {
          EXPECT_PRED3(Close, out[0], std::stod(cells[c]), tolerance);
        } else if (column.starts_with("p:")) {
          const std::string category = column.substr(2);
          const auto& categories = model.categories();
          const auto at = std::find(categories.begin(), categories.end(), category);
          ASSERT_NE(at, categories.end()) << "no category " << category;
          EXPECT_PRED3(Close, out[static_cast<std::size_t>(at - categories.begin())], std::stod(cells[c]), tolerance)
              << column;
        } else if (column.starts_with("out:")) {  // an output field: a number, or a string
          const auto& outputs = model.outputs();
          const auto at = std::find_if(outputs.begin(), outputs.end(),
                                       [&](const auto& o) { return o.name == column.substr(4); });
          ASSERT_NE(at, outputs.end()) << "no output " << column;
          const double got = out[(model.classification() ? k + 1 : 1) + static_cast<std::size_t>(at - outputs.begin())];
          if (at->is_string) {
            EXPECT_EQ(model.Decode(got), cells[c]) << column;
          } else {
            EXPECT_PRED3(Close, got, std::stod(cells[c]), tolerance) << column;
          }
        }
      }
      ++rows_checked;
    }
  }
  EXPECT_GE(documents, 60u);
  EXPECT_GT(rows_checked, documents * 20);
  EXPECT_GE(invalid_rows, 4u);
}

}  // namespace
}  // namespace ferry::backends::pmml
