#include "properties/dst/dst_shapes.h"

#include <gtest/gtest.h>

#include "runner/runner.h"
#include "runner/subsystem.h"
#include "runner/test_trace.h"
#include "trace/parser.h"
#include "trace/printer.h"

namespace nv::gen {
namespace {

TEST(DstShapes, PutLateHoldsAFreedEntryAcrossTheFirstRunAndPassesTheDeadline) {
  trace::Trace t = runner::parse_valid(
      "netverify-trace 1\ndev add init d0\ndst alloc e0 d0\ndst hold e0 late0\ndst free e0\n");
  ASSERT_TRUE(dst_put_late(t, 0));
  EXPECT_EQ(trace::print(t),
            "netverify-trace 1\ndev add init d0\ndst alloc e0 d0\ndst hold e0 late0\n"
            "dst hold e0 late1\ndst free e0\ntick 100ms\ndst put late1\ntick 121s\n");
  EXPECT_EQ(trace::check_ops(t.ops), std::nullopt);
  trace::Trace none = runner::parse_valid("netverify-trace 1\ndev add init d0\n");
  EXPECT_FALSE(dst_put_late(none, 0));
}

// The shape reaches the bug it is for: the worker that reschedules itself
// only after destroying something leaves the entry overdue.
TEST(DstShapes, PutLateCatchesTheWorkerThatStops) {
  trace::Trace t = runner::parse_valid(
      "netverify-trace 1\ndev add init d0\ndst alloc e0 d0\ndst free e0\n");
  ASSERT_TRUE(dst_put_late(t, 0));
  EXPECT_TRUE(runner::run(t, {}).ok());
  EXPECT_FALSE(runner::run(t, {.mutants = {"dst-gc-stops"}}).ok());
}

}  // namespace
}  // namespace nv::gen
