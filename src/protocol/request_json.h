// Parsing a request body as JSON under the request limits, for the codecs of this folder: one
// simdjson parser a thread, sized for the body, with --max-json-depth as its depth limit. The
// element returned lives until the next call on the same thread.
#pragma once

#include <simdjson.h>

#include <string_view>

#include "core/error.h"
#include "core/inference.h"
#include "core/limits.h"

namespace ferry::protocol {

core::Result<simdjson::dom::element> ParseRequestJson(std::string_view json, const core::RequestLimits& limits);

// A V2 `parameters` object (strings, numbers, booleans); `where` prefixes errors ("input 'x': ").
core::Result<core::Parameters> DecodeParameters(simdjson::dom::element e, std::string_view where);

}  // namespace ferry::protocol
