// The signature a router serves: what its routes have in common. Every route must take the same
// inputs (names and datatypes, shapes of the same rank whose fixed dims agree; a dim one route
// leaves open becomes open); the outputs are those every route gives with one datatype. A pure
// function; the error names the routes and the input that do not fit.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/inference.h"

namespace ferry::routing {

core::Result<core::ModelSignature> CommonSignature(
    const std::vector<std::pair<std::string, core::ModelSignature>>& routes);

}  // namespace ferry::routing
