#include "properties/defer/defer_shapes.h"

#include <gtest/gtest.h>

#include "runner/subsystem.h"
#include "trace/parser.h"
#include "trace/printer.h"

namespace nv::gen {
namespace {

TEST(DeferShapes, SteerRunsAnOpOnAnotherCpuAndSteersBack) {
  trace::ParseResult r =
      trace::parse("netverify-trace 1\nfrag init v4 id=5 off=0 len=8 mf=1\nskb alloc a cpu=0\n",
                   runner::registry());
  ASSERT_FALSE(r.error);
  trace::Trace t = r.trace;
  ASSERT_TRUE(defer_steer(t, 0 | (uint64_t(1) << 32)));
  EXPECT_EQ(trace::print(t),
            "netverify-trace 1\ncpu steer 2\nfrag init v4 id=5 off=0 len=8 mf=1\ncpu steer 0\n"
            "skb alloc a cpu=0\n");
  EXPECT_EQ(trace::check_ops(t.ops), std::nullopt);
  trace::Trace empty;
  EXPECT_FALSE(defer_steer(empty, 0));
}

}  // namespace
}  // namespace nv::gen
