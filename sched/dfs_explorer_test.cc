#include "sched/dfs_explorer.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "sched/mutex.h"
#include "sched/replay_strategy.h"

namespace nv::sched {
namespace {

// Two threads of two steps each (start..yield, yield..exit): the 6
// interleavings are AABB and BBAA with 0 preemptions, ABBA and BAAB with 1,
// ABAB and BABA with 2.
uint64_t count_schedules(uint32_t bound, std::set<std::vector<Event>>* distinct) {
  const ExploreResult r = explore(
      bound,
      [](Scheduler& s) {
        s.spawn("A", [] { yield(); });
        s.spawn("B", [] { yield(); });
      },
      [&](Scheduler& s, RunStatus status) -> std::optional<std::string> {
        if (status != RunStatus::kOk) return "not ok";
        distinct->insert(s.events());
        return std::nullopt;
      });
  EXPECT_FALSE(r.failing_schedule) << r.message;
  return r.schedules;
}

TEST(DfsExplorer, EnumeratesSchedulesUpToThePreemptionBound) {
  std::set<std::vector<Event>> d0, d1, d2;
  EXPECT_EQ(count_schedules(0, &d0), 2u);
  EXPECT_EQ(count_schedules(1, &d1), 4u);
  EXPECT_EQ(count_schedules(2, &d2), 6u);
  EXPECT_EQ(d1.size(), 4u);  // every schedule is a different interleaving
  EXPECT_EQ(d2.size(), 6u);
}

void increments(Scheduler& s, int* counter, Mutex* mu) {
  for (int t = 0; t < 2; ++t) {
    s.spawn("inc", [=] {
      if (mu) mu->lock();
      const int v = *counter;
      yield();
      *counter = v + 1;
      if (mu) mu->unlock();
    });
  }
}

TEST(DfsExplorer, FindsTheLostUpdateAndItsScheduleReplays) {
  int counter = 0;
  const ExploreResult r = explore(
      1, [&](Scheduler& s) { counter = 0, increments(s, &counter, nullptr); },
      [&](Scheduler&, RunStatus) -> std::optional<std::string> {
        if (counter != 2) return "lost update: counter " + std::to_string(counter);
        return std::nullopt;
      });
  ASSERT_TRUE(r.failing_schedule);
  EXPECT_EQ(r.message, "lost update: counter 1");
  counter = 0;
  Scheduler s;
  increments(s, &counter, nullptr);
  ReplayStrategy replay(*r.failing_schedule);
  ASSERT_EQ(s.run(replay, 100), RunStatus::kOk);
  EXPECT_EQ(counter, 1);
}

TEST(DfsExplorer, ProvesTheLockedVersionForEveryScheduleWithinTheBound) {
  int counter = 0;
  Mutex mu;
  const ExploreResult r = explore(
      3, [&](Scheduler& s) { counter = 0, increments(s, &counter, &mu); },
      [&](Scheduler&, RunStatus status) -> std::optional<std::string> {
        if (status != RunStatus::kOk || counter != 2) return "broken";
        return std::nullopt;
      });
  EXPECT_FALSE(r.failing_schedule) << r.message;
  EXPECT_GT(r.schedules, 6u);
}

}  // namespace
}  // namespace nv::sched
