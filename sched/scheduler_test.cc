#include "sched/scheduler.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <optional>
#include <string>
#include <vector>

#include "sched/mutex.h"
#include "sched/random_strategy.h"
#include "sched/replay_strategy.h"

namespace nv::sched {
namespace {

// Three threads with a little of everything: yields, a mutex, spawning.
void spawn_mix(Scheduler& s, Mutex& mu, std::vector<int>& log) {
  for (int t = 0; t < 3; ++t) {
    s.spawn("worker" + std::to_string(t), [&, t] {
      for (int i = 0; i < 4; ++i) {
        yield();
        std::lock_guard lock(mu);
        log.push_back(t * 10 + i);
      }
      if (t == 0) current_scheduler()->spawn("child", [&] { log.push_back(99); });
    });
  }
}

TEST(Scheduler, StepKRunsTheKthRunnableThreadModuloTheirNumber) {
  Scheduler s;
  std::vector<std::string> log;
  s.spawn("a", [&] {
    log.push_back("a1");
    yield();
    log.push_back("a2");
  });
  s.spawn("b", [&] {
    log.push_back("b1");
    yield();
    log.push_back("b2");
  });
  EXPECT_TRUE(s.step_k(1));  // b to its yield
  EXPECT_TRUE(s.step_k(2));  // 2 mod 2 = 0: a to its yield
  EXPECT_TRUE(s.step_k(1));  // b to the end
  EXPECT_TRUE(s.step_k(7));  // only a left
  EXPECT_FALSE(s.step_k(0));
  EXPECT_EQ(log, (std::vector<std::string>{"b1", "a1", "b2", "a2"}));
  EXPECT_EQ(s.decisions(), (std::vector<uint32_t>{1, 0, 1, 0}));
}

TEST(Scheduler, ReplayOnAFreshSchedulerReproducesTheEvents) {
  std::vector<uint32_t> decisions;
  std::vector<Event> events;
  std::vector<int> log1;
  {
    Mutex mu;
    Scheduler s;
    spawn_mix(s, mu, log1);
    RandomStrategy random(7);
    ASSERT_EQ(s.run(random, 10000), RunStatus::kOk) << s.describe();
    decisions = s.decisions();
    events = s.events();
  }
  ASSERT_GT(events.size(), 20u);
  std::vector<int> log2;
  Mutex mu;
  Scheduler s;
  spawn_mix(s, mu, log2);
  ReplayStrategy replay(decisions);
  ASSERT_EQ(s.run(replay, 10000), RunStatus::kOk) << s.describe();
  EXPECT_EQ(s.decisions(), decisions);
  EXPECT_EQ(s.events(), events);
  EXPECT_EQ(log2, log1);
}

TEST(Scheduler, DifferentSeedsGiveDifferentSchedules) {
  // Guards the replay test against a scheduler that ignores its strategy.
  std::vector<std::vector<Event>> runs;
  for (uint64_t seed : {1, 2}) {
    std::vector<int> log;
    Mutex mu;
    Scheduler s;
    spawn_mix(s, mu, log);
    RandomStrategy random(seed);
    ASSERT_EQ(s.run(random, 10000), RunStatus::kOk);
    runs.push_back(s.events());
  }
  EXPECT_NE(runs[0], runs[1]);
}

TEST(Scheduler, StepBoundReportsALivelock) {
  Scheduler s;
  s.spawn("spinner", [] {
    for (;;) yield();
  });
  RandomStrategy random(1);
  EXPECT_EQ(s.run(random, 500), RunStatus::kStepBound);
  EXPECT_EQ(s.steps(), 500u);
}

TEST(Scheduler, ExceptionInAThreadIsAFailureNotACrash) {
  Scheduler s;
  s.spawn("ok", [] { yield(); });
  s.spawn("bad", [] {
    yield();
    throw std::runtime_error("broken invariant");
  });
  RandomStrategy random(3);
  EXPECT_EQ(s.run(random, 100), RunStatus::kFailure);
  ASSERT_TRUE(s.failure());
  EXPECT_EQ(s.failure()->thread_name, "bad");
  EXPECT_EQ(s.failure()->message, "exception: broken invariant");
  EXPECT_NE(s.describe().find("failure in thread 1 'bad'"), std::string::npos);
}

TEST(Scheduler, FailStopsTheRun) {
  Scheduler s;
  s.spawn("checker", [] { fail("queue length 3 > limit 2"); });
  RandomStrategy random(1);
  EXPECT_EQ(s.run(random, 100), RunStatus::kFailure);
  EXPECT_EQ(s.failure()->message, "queue length 3 > limit 2");
}

TEST(Scheduler, TeardownUnwindsSuspendedAndBlockedThreads) {
  int destroyed = 0;
  struct Raii {
    int* n;
    ~Raii() { ++*n; }
  };
  {
    Mutex mu;
    Scheduler s;
    s.spawn("holder", [&] {
      Raii r{&destroyed};
      std::lock_guard lock(mu);
      for (;;) yield();
    });
    s.spawn("waiter", [&] {
      Raii r{&destroyed};
      yield();
      std::lock_guard lock(mu);  // blocks: holder never unlocks
    });
    s.spawn("never started", [&] { Raii r{&destroyed}; });
    EXPECT_TRUE(s.step_k(0));  // holder: to mutex_lock's point
    EXPECT_TRUE(s.step_k(0));  // holder: takes the mutex, yields
    EXPECT_TRUE(s.step_k(1));  // waiter: to its yield
    EXPECT_TRUE(s.step_k(1));  // waiter: to mutex_lock's point
    EXPECT_TRUE(s.step_k(1));  // waiter: blocks on the mutex
    EXPECT_NE(s.describe().find("'waiter': blocked on mutex"), std::string::npos) << s.describe();
  }
  // holder's and waiter's Raii ran; the unstarted thread's body never ran
  // (its captures are destroyed, which does not construct a Raii).
  EXPECT_EQ(destroyed, 2);
}

TEST(Scheduler, BlockingInTheSchedulersOwnContextThrows) {
  Mutex mu;
  Scheduler s;
  s.spawn("holder", [&] {
    mu.lock();
    yield();
    mu.unlock();
  });
  ASSERT_TRUE(s.step_k(0));  // to mutex_lock's point
  ASSERT_TRUE(s.step_k(0));  // holds mu, yields
  EXPECT_THROW(mu.lock(), std::logic_error);
  ASSERT_TRUE(s.step_k(0));  // unlocks, stops at mutex_unlock's point
  const uint64_t steps = s.steps();
  mu.lock();  // free now: runs atomically, no decision
  mu.unlock();
  EXPECT_EQ(s.steps(), steps);
}

TEST(Scheduler, TimersFireInDeadlineThenCreationOrderAsThreads) {
  Scheduler s;
  std::vector<std::string> fired;
  s.add_timer(20, "late", [&] { fired.push_back("late@" + std::to_string(now_ms())); });
  s.add_timer(10, "first", [&] { fired.push_back("first@" + std::to_string(now_ms())); });
  s.add_timer(10, "second", [&] { fired.push_back("second@" + std::to_string(now_ms())); });
  const auto cancelled = s.add_timer(15, "cancelled", [&] { fired.push_back("cancelled"); });
  EXPECT_TRUE(s.cancel_timer(cancelled));
  EXPECT_FALSE(s.cancel_timer(cancelled));
  s.advance(9);
  EXPECT_EQ(s.now_ms(), 9u);
  EXPECT_TRUE(s.live().empty());  // nothing fired yet
  s.advance(1);                   // both 10 ms timers become threads, in creation order
  EXPECT_EQ(s.pending_timers(), 1u);
  EXPECT_EQ(s.live().size(), 2u);
  ReplayStrategy lowest({});
  ASSERT_EQ(s.run(lowest, 100), RunStatus::kOk);  // run() fires "late" when idle
  EXPECT_EQ(fired, (std::vector<std::string>{"first@10", "second@10", "late@20"}));
  EXPECT_EQ(s.now_ms(), 20u);
}

// The runner's scheduler: only advance() moves the clock, so a timer that
// re-arms itself waits for the trace's ticks.
TEST(Scheduler, WithoutIdleTimersRunLeavesTheClockAlone) {
  Scheduler s(Scheduler::Options{.idle_fires_timers = false});
  int fired = 0;
  s.add_timer(30, "t", [&] { ++fired; });
  EXPECT_EQ(s.next_deadline(), std::optional<uint64_t>(30));
  ReplayStrategy lowest({});
  ASSERT_EQ(s.run(lowest, 100), RunStatus::kOk);
  EXPECT_EQ(fired, 0);
  EXPECT_EQ(s.now_ms(), 0u);
  s.advance(30);
  EXPECT_EQ(s.next_deadline(), std::nullopt);
  ASSERT_EQ(s.run(lowest, 100), RunStatus::kOk);
  EXPECT_EQ(fired, 1);
}

TEST(Scheduler, CheckHoldsThroughARun) {
  std::vector<int> log;
  Mutex mu;
  Scheduler s;
  spawn_mix(s, mu, log);
  RandomStrategy random(11);
  while (s.step(random)) ASSERT_EQ(s.check(), std::nullopt);
}

}  // namespace
}  // namespace nv::sched
