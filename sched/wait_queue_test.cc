#include "sched/wait_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "sched/random_strategy.h"

namespace nv::sched {
namespace {

TEST(WaitQueue, WaiterSeesTheConditionAfterWakeUp) {
  for (uint64_t seed = 0; seed < 100; ++seed) {
    WaitQueue wq;
    bool ready = false;
    int seen = -1;
    int data = 0;
    Scheduler s;
    s.spawn("waiter", [&] {
      wq.wait_event([&] { return ready; });
      seen = data;
    });
    s.spawn("waker", [&] {
      data = 42;
      yield();
      ready = true;
      wq.wake_up();
    });
    RandomStrategy random(seed);
    ASSERT_EQ(s.run(random, 1000), RunStatus::kOk) << s.describe();
    ASSERT_EQ(seen, 42);
  }
}

TEST(WaitQueue, AMissingWakeUpIsADeadlock) {
  bool deadlocked = false;
  for (uint64_t seed = 0; seed < 50 && !deadlocked; ++seed) {
    WaitQueue wq;
    bool ready = false;
    Scheduler s;
    s.spawn("waiter", [&] { wq.wait_event([&] { return ready; }); });
    s.spawn("forgetful", [&] { ready = true; });  // no wake_up()
    RandomStrategy random(seed);
    const RunStatus status = s.run(random, 1000);
    if (status == RunStatus::kDeadlock) {
      deadlocked = true;
      EXPECT_NE(s.describe().find("'waiter': blocked on wait queue"), std::string::npos);
    } else {
      ASSERT_EQ(status, RunStatus::kOk);  // the waiter checked after the write
    }
  }
  EXPECT_TRUE(deadlocked);
}

TEST(WaitQueue, ProductionOnRealThreads) {
  WaitQueue wq;
  std::atomic<int> stage{0};
  std::thread waiter([&] {
    wq.wait_event([&] { return stage.load() == 1; });
    stage.store(2);
    wq.wake_up();
  });
  stage.store(1);
  wq.wake_up();
  wq.wait_event([&] { return stage.load() == 2; });
  waiter.join();
  EXPECT_EQ(stage.load(), 2);
}

}  // namespace
}  // namespace nv::sched
