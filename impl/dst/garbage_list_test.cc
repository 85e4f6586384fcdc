// The list designs' adaptive delay (GarbageList::Timer): the seed's
// constants, backing off in DST_GC_INC steps, never past DST_GC_MAX, and
// back to DST_GC_MIN after a productive run.
#include "impl/dst/garbage_list.h"

#include <gtest/gtest.h>

#include <random>

namespace nv::dst {
namespace {

TEST(GarbageListTimer, BacksOffByIncrementsUpToTheMaximum) {
  GarbageList::Timer t;
  EXPECT_EQ(t.next(false), kGcMinMs);  // a free arms it at DST_GC_MIN
  // expires += inc, inc += DST_GC_INC: 100 + 500, + 1000, + 1500, ...
  EXPECT_EQ(t.next(true), 600u);
  EXPECT_EQ(t.next(true), 1600u);
  EXPECT_EQ(t.next(true), 3100u);
  for (int i = 0; i < 100; ++i) t.next(true);
  EXPECT_EQ(t.next(true), kGcMaxMs);
  EXPECT_EQ(t.next(false), kGcMinMs);  // a productive run starts over
}

// Whatever the runs, every delay is within [DST_GC_MIN, DST_GC_MAX] and a
// backing-off one is never shorter than the one before it.
TEST(GarbageListTimer, EveryDelayWithinItsBounds) {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    GarbageList::Timer t;
    uint64_t last = t.next(false);
    for (int run = 0; run < 300; ++run) {
      const bool back_off = rng() % 4 != 0;
      const uint64_t delay = t.next(back_off);
      EXPECT_GE(delay, kGcMinMs);
      EXPECT_LE(delay, kGcMaxMs);
      if (back_off) {
        EXPECT_GE(delay, last);
      }
      last = delay;
    }
  }
}

}  // namespace
}  // namespace nv::dst
