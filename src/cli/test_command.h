// `ferry test`: a model repository tested without a server -- what a data scientist runs in
// their own CI before publishing a model (docs/testing.md). Each case is a JSON file:
//
//   {"route": "/v2/models/pima/infer",            // any route of the HTTP API (docs/api.md)
//    "method": "POST",                           // default: POST with a body, GET without
//    "body": {"inputs": [...]},                  // a JSON value, or a string sent as is
//    "expect": {"outputs": [...]},               // the answer, compared as JSON ...
//    "tolerance": 1e-6}                          // ... numbers within this (default: exactly)
//
// or, for a request that must fail, `"status": 400, "error": "a fragment of the message"`.
// The repository is loaded in this process and each case goes through the same routes as
// `ferry serve` (no sockets). Prints a line a case and `N passed, N failed`; the exit status is 1
// when a case failed. `--update` writes each answer into its case as the new expectation;
// `--junit FILE` writes a JUnit XML report for CI systems.
#pragma once

#include <CLI/CLI.hpp>

namespace ferry::cli {

void AddTestCommand(CLI::App& app, int& exit_code);

}  // namespace ferry::cli
