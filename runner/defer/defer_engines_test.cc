// Both defer engines keep their invariants (find_invariant_violation) after
// every operation of generated traces applied in order, whatever the build
// type (debug builds also check inside apply()).
#include <gtest/gtest.h>

#include "impl/defer/defer_impl.h"
#include "model/defer/defer_model.h"
#include "properties/differential.h"
#include "runner/subsystem.h"
#include "trace/parser.h"

namespace nv::defer {
namespace {

TEST(DeferEngines, InvariantsHoldAfterEveryOperation) {
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    const std::string text = props::generate_trace("defer", seed, 60);
    trace::ParseResult r = trace::parse(text, runner::registry());
    ASSERT_FALSE(r.error) << text;
    DeferModel model;
    DeferImpl impl;
    std::vector<trace::Event> events;
    for (const trace::Op& op : r.trace.ops) {
      if (op.spec->expect || op.spec->runner_only) continue;
      model.apply(op, events);
      impl.apply(op, events);
      ASSERT_EQ(model.find_invariant_violation(), std::nullopt)
          << "seed " << seed << ":" << op.line;
      ASSERT_EQ(impl.find_invariant_violation(), std::nullopt) << "seed " << seed << ":" << op.line;
    }
    EXPECT_EQ(model.describe(), impl.describe()) << "seed " << seed;
  }
}

}  // namespace
}  // namespace nv::defer
