#include "sched/pct_strategy.h"

#include <gtest/gtest.h>

#include "sched/scheduler.h"

namespace nv::sched {
namespace {

// A depth-2 bug (an atomicity violation, the paper's Figure 1 shape): the
// user checks p, then uses it; the closer clears p after some other work.
// It shows only when the check precedes the clear AND the clear precedes the
// use: two ordering constraints.
bool finds_the_bug(uint64_t seed, uint32_t depth) {
  int object = 1;
  int* p = &object;
  Scheduler s;
  s.spawn("user", [&] {
    const bool ok = p != nullptr;
    yield();
    if (ok && p == nullptr) fail("use of a pointer cleared after the check");
  });
  s.spawn("closer", [&] {
    for (int i = 0; i < 4; ++i) yield();
    p = nullptr;
  });
  PctStrategy pct(seed, depth, 8);
  return s.run(pct, 100) == RunStatus::kFailure;
}

TEST(PctStrategy, FindsADepthTwoBugWithinBoundedRuns) {
  // n = 2 threads, k = 8 steps: at least 1/(n k) = 1/16 per run, so 200 runs
  // miss it with probability below 2.6e-6.
  int runs = 0;
  while (runs < 200 && !finds_the_bug(uint64_t(runs), 2)) ++runs;
  EXPECT_LT(runs, 200);
}

TEST(PctStrategy, DepthOneCannotFindADepthTwoBug) {
  // Without change points the highest-priority thread runs to completion.
  for (uint64_t seed = 0; seed < 100; ++seed) ASSERT_FALSE(finds_the_bug(seed, 1)) << seed;
}

TEST(PctStrategy, ChangePointsAreDepthMinusOneStepsWithinK) {
  for (uint64_t seed = 0; seed < 50; ++seed) {
    PctStrategy pct(seed, 4, 10);
    ASSERT_EQ(pct.change_points().size(), 3u);
    for (uint64_t c : pct.change_points()) {
      EXPECT_GE(c, 1u);
      EXPECT_LE(c, 10u);
    }
  }
}

TEST(PctStrategy, SameSeedSameScheduleOnFreshSchedulers) {
  std::vector<std::vector<Event>> runs;
  for (int r = 0; r < 2; ++r) {
    Scheduler s;
    for (int t = 0; t < 3; ++t)
      s.spawn("t", [] {
        for (int i = 0; i < 5; ++i) yield();
      });
    PctStrategy pct(99, 3, 20);
    ASSERT_EQ(s.run(pct, 100), RunStatus::kOk);
    runs.push_back(s.events());
  }
  EXPECT_EQ(runs[0], runs[1]);
}

}  // namespace
}  // namespace nv::sched
