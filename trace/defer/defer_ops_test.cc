// The deferral thresholds and the sysctl's validation, as v5.19-6.17 has
// them (trace/defer/defer_ops.h).
#include "trace/defer/defer_ops.h"

#include <gtest/gtest.h>

namespace nv::defer {
namespace {

TEST(DeferOps, ThresholdsOfTheSeedsDesign) {
  // defer_max 0 defers nothing; 1 holds one and kicks at the first; 64
  // holds 64 and kicks at the 33rd.
  EXPECT_FALSE(may_defer(0, 0));
  EXPECT_TRUE(may_defer(0, 1));
  EXPECT_FALSE(may_defer(1, 1));
  EXPECT_TRUE(kicks(0, 1));
  EXPECT_TRUE(kicks(1, 2));
  EXPECT_TRUE(may_defer(63, 64));
  EXPECT_FALSE(may_defer(64, 64));
  EXPECT_TRUE(kicks(32, 64));
  EXPECT_FALSE(kicks(31, 64));
  EXPECT_FALSE(kicks(33, 64));
}

TEST(DeferOps, SysctlValidatedAsTheKernelDoes) {
  uint32_t v = 7;
  EXPECT_TRUE(write_defer_max("init", 0, &v));
  EXPECT_EQ(v, 0u);
  EXPECT_TRUE(write_defer_max("init", 2147483647, &v));
  EXPECT_EQ(v, 2147483647u);
  EXPECT_FALSE(write_defer_max("init", 2147483648ull, &v));  // above INT_MAX
  EXPECT_FALSE(write_defer_max("a", 8, &v));                 // init_net's table only
  EXPECT_EQ(v, 2147483647u);
}

}  // namespace
}  // namespace nv::defer
