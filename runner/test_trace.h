// For tests: a trace text the test knows to be valid, parsed with every
// subsystem's ops (a parse error fails the test and yields no ops).
#pragma once

#include <gtest/gtest.h>

#include <string_view>

#include "runner/subsystem.h"
#include "trace/parser.h"

namespace nv::runner {

inline trace::Trace parse_valid(std::string_view text) {
  trace::ParseResult r = trace::parse(text, registry());
  EXPECT_FALSE(r.error) << r.error->message;
  return std::move(r.trace);
}

}  // namespace nv::runner
