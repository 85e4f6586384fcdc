#include "sched/work_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

#include "sched/random_strategy.h"
#include "sched/replay_strategy.h"

namespace nv::sched {
namespace {

TEST(WorkQueue, QueueWorkIsANoOpWhilePendingAndFlushWaits) {
  for (uint64_t seed = 0; seed < 100; ++seed) {
    WorkQueue wq("events");
    int ran = 0;
    Work w([&] { ++ran; });
    bool second = true;
    Scheduler s;
    s.spawn("queuer", [&] {
      EXPECT_TRUE(wq.queue_work(w));
      second = wq.queue_work(w);  // pending unless the worker already took it
      wq.flush();
      if (ran != (second ? 2 : 1)) fail("flush returned before the queued work ran");
    });
    RandomStrategy random(seed);
    ASSERT_EQ(s.run(random, 1000), RunStatus::kOk) << s.describe();
    EXPECT_EQ(ran, second ? 2 : 1);
    EXPECT_EQ(wq.executed(), uint64_t(ran));
  }
}

TEST(WorkQueue, DelayedWorkRunsAtItsVirtualTime) {
  WorkQueue wq("gc");
  std::vector<uint64_t> ran_at;
  DelayedWork gc([&] { ran_at.push_back(now_ms()); });
  Scheduler s;
  s.spawn("arm", [&] {
    EXPECT_TRUE(wq.queue_delayed_work(gc, 250));
    EXPECT_FALSE(wq.queue_delayed_work(gc, 10));  // already pending
  });
  ReplayStrategy lowest({});
  ASSERT_EQ(s.run(lowest, 1000), RunStatus::kOk) << s.describe();
  EXPECT_EQ(ran_at, std::vector<uint64_t>{250});
  EXPECT_EQ(s.now_ms(), 250u);
  EXPECT_FALSE(gc.pending());
}

TEST(WorkQueue, DelayedWorkFiresOnlyWhenTheClockReachesIt) {
  WorkQueue wq("gc");
  int ran = 0;
  DelayedWork gc([&] { ++ran; });
  Scheduler s;
  ReplayStrategy lowest({});
  s.spawn("arm", [&] { wq.queue_delayed_work(gc, 100); });
  ASSERT_TRUE(s.step_k(0));
  ASSERT_TRUE(s.step_k(0));
  s.advance(99);
  while (s.step_k(0)) {
  }
  EXPECT_EQ(ran, 0);
  s.advance(1);
  while (s.step_k(0)) {
  }
  EXPECT_EQ(ran, 1);
}

TEST(WorkQueue, SelfRequeueingWorkIsPeriodic) {
  WorkQueue wq("gc");
  std::vector<uint64_t> ran_at;
  DelayedWork* self = nullptr;
  DelayedWork gc([&] {
    ran_at.push_back(now_ms());
    if (ran_at.size() < 3) wq.queue_delayed_work(*self, 100);
  });
  self = &gc;
  Scheduler s;
  s.spawn("arm", [&] { wq.queue_delayed_work(gc, 100); });
  ReplayStrategy lowest({});
  ASSERT_EQ(s.run(lowest, 1000), RunStatus::kOk);
  EXPECT_EQ(ran_at, (std::vector<uint64_t>{100, 200, 300}));
}

TEST(WorkQueue, CancelDelayedWorkStopsAPendingTimerOrQueuedItem) {
  WorkQueue wq("gc");
  int ran = 0;
  DelayedWork gc([&] { ++ran; });
  std::vector<bool> results;
  Scheduler s;
  s.spawn("arm and cancel", [&] {
    wq.queue_delayed_work(gc, 100);
    results.push_back(wq.cancel_delayed_work(gc));  // timer armed: cancelled
    results.push_back(wq.cancel_delayed_work(gc));  // idle: nothing to cancel
    wq.queue_delayed_work(gc, 0);                   // queued now
    results.push_back(wq.cancel_delayed_work(gc));  // still queued: cancelled
    wq.flush();                                     // must not wait for it
  });
  ReplayStrategy lowest({});
  ASSERT_EQ(s.run(lowest, 1000), RunStatus::kOk) << s.describe();
  EXPECT_EQ(results, (std::vector<bool>{true, false, true}));
  EXPECT_EQ(ran, 0);
  EXPECT_EQ(s.pending_timers(), 0u);
  EXPECT_EQ(s.now_ms(), 0u);
}

TEST(WorkQueue, ProductionOnARealWorkerThread) {
  std::atomic<int> ran{0};
  std::atomic<int> delayed_ran{0};
  WorkQueue wq("prod");
  Work w([&] { ran.fetch_add(1); });
  DelayedWork dw([&] { delayed_ran.fetch_add(1); });
  const uint64_t start = now_ms();
  EXPECT_TRUE(wq.queue_delayed_work(dw, 20));
  for (int i = 0; i < 1000; ++i) {
    wq.queue_work(w);
    if (i % 100 == 0) wq.flush();
  }
  wq.flush();
  EXPECT_GE(ran.load(), 1);
  while (dw.pending()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  wq.flush();
  EXPECT_EQ(delayed_ran.load(), 1);
  EXPECT_GE(now_ms() - start, 20u);
  EXPECT_EQ(wq.executed(), uint64_t(ran.load() + delayed_ran.load()));
  DelayedWork never([&] { delayed_ran.fetch_add(100); });
  EXPECT_TRUE(wq.queue_delayed_work(never, 60000));
  EXPECT_TRUE(wq.cancel_delayed_work(never));
  EXPECT_FALSE(never.pending());
}

}  // namespace
}  // namespace nv::sched
