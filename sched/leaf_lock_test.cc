#include "sched/leaf_lock.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "sched/scheduler.h"

namespace nv::sched {
namespace {

TEST(LeafLock, IsNoSchedulingPoint) {
  LeafLock lock;
  int stage = 0;
  Scheduler s;
  s.spawn("t", [&] {
    {
      std::lock_guard g(lock);
      stage = 1;
    }
    yield();
    stage = 2;
  });
  // The first decision runs the thread to its first scheduling point: past
  // the whole critical section, up to the yield.
  ASSERT_TRUE(s.step_k(0));
  EXPECT_EQ(stage, 1);
  EXPECT_FALSE(lock.is_locked());
}

TEST(LeafLock, FoundHeldUnderASchedulerFails) {
  LeafLock lock;
  Scheduler s;
  s.spawn("holder", [&] {
    lock.lock();
    for (;;) yield();  // a scheduling point inside the section: a bug
  });
  s.spawn("taker", [&] { std::lock_guard g(lock); });
  ASSERT_TRUE(s.step_k(0));  // holder: takes it, to its yield
  ASSERT_TRUE(s.step_k(0));  // holder: yields
  for (int i = 0; i < 10 && !s.failure(); ++i) s.step_k(1);
  ASSERT_TRUE(s.failure());
  EXPECT_EQ(s.failure()->thread_name, "taker");
  EXPECT_EQ(s.failure()->message,
            "leaf lock found held: its holder reached a scheduling point inside it");
}

TEST(LeafLock, ProductionStressOnRealThreads) {
  LeafLock lock;
  // Guarded by lock; volatile, so that each increment is a separate load and
  // store, which threads without the lock interleave and lose.
  volatile int counter = 0;
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      ready.fetch_add(1);
      while (ready.load() < 4) std::this_thread::yield();  // all start together
      for (int i = 0; i < 1000000; ++i) {
        std::lock_guard g(lock);
        const int v = counter;
        counter = v + 1;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(counter, 4000000);
}

}  // namespace
}  // namespace nv::sched
