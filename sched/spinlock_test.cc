#include "sched/spinlock.h"

#include <gtest/gtest.h>

#include <mutex>
#include <thread>
#include <vector>

#include "sched/mutex.h"
#include "sched/random_strategy.h"

namespace nv::sched {
namespace {

TEST(SpinLock, MutualExclusionUnderRandomSchedules) {
  for (uint64_t seed = 0; seed < 200; ++seed) {
    SpinLock lock;
    int counter = 0;
    Scheduler s;
    for (int t = 0; t < 3; ++t) {
      s.spawn("inc", [&] {
        for (int i = 0; i < 3; ++i) {
          std::lock_guard g(lock);
          const int v = counter;
          yield();
          counter = v + 1;
        }
      });
    }
    RandomStrategy random(seed);
    ASSERT_EQ(s.run(random, 10000), RunStatus::kOk) << s.describe();
    ASSERT_EQ(counter, 9) << "seed " << seed;
  }
}

TEST(SpinLock, SleepingWhileHoldingOneFails) {
  SpinLock lock;
  Mutex mu;
  Scheduler s;
  s.spawn("holder", [&] {
    mu.lock();
    for (;;) yield();
  });
  s.spawn("atomic", [&] {
    std::lock_guard g(lock);
    std::lock_guard m(mu);  // must sleep: mu is held
  });
  ASSERT_TRUE(s.step_k(0));  // holder: to mutex_lock's point
  ASSERT_TRUE(s.step_k(0));  // holder: holds mu, yields
  for (int i = 0; i < 10 && !s.failure(); ++i) s.step_k(1);
  ASSERT_TRUE(s.failure());
  EXPECT_EQ(s.failure()->thread_name, "atomic");
  EXPECT_EQ(s.failure()->message, "sleeping in mutex while holding a spinlock");
}

TEST(SpinLock, NestedSpinlocksMayWaitForEachOther) {
  SpinLock a, b;
  Scheduler s;
  for (int t = 0; t < 2; ++t) {
    s.spawn("nest", [&] {
      std::lock_guard ga(a);
      std::lock_guard gb(b);
      yield();
    });
  }
  RandomStrategy random(9);
  EXPECT_EQ(s.run(random, 1000), RunStatus::kOk) << s.describe();
}

TEST(SpinLock, ProductionStressOnRealThreads) {
  SpinLock lock;
  int counter = 0;  // guarded by lock
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        std::lock_guard g(lock);
        ++counter;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(counter, 80000);
}

}  // namespace
}  // namespace nv::sched
