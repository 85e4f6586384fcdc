#include "sched/mutex.h"

#include <gtest/gtest.h>

#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "sched/pct_strategy.h"
#include "sched/random_strategy.h"

namespace nv::sched {
namespace {

constexpr int kThreads = 3;
constexpr int kIncrements = 3;

// Every thread increments `counter` kIncrements times, the read and the write
// split by a yield; with the mutex held around them when `locked`.
int final_count(Strategy& strategy, bool locked) {
  Mutex mu;
  int counter = 0;
  Scheduler s;
  for (int t = 0; t < kThreads; ++t) {
    s.spawn("inc" + std::to_string(t), [&] {
      for (int i = 0; i < kIncrements; ++i) {
        if (locked) mu.lock();
        const int v = counter;
        yield();
        counter = v + 1;
        if (locked) mu.unlock();
      }
    });
  }
  EXPECT_EQ(s.run(strategy, 10000), RunStatus::kOk) << s.describe();
  return counter;
}

TEST(Mutex, MutualExclusionUnderRandomSchedules) {
  for (uint64_t seed = 0; seed < 300; ++seed) {
    RandomStrategy random(seed);
    ASSERT_EQ(final_count(random, true), kThreads * kIncrements) << "seed " << seed;
  }
}

TEST(Mutex, MutualExclusionUnderPctSchedules) {
  for (uint64_t seed = 0; seed < 300; ++seed) {
    PctStrategy pct(seed, 3, 60);
    ASSERT_EQ(final_count(pct, true), kThreads * kIncrements) << "seed " << seed;
  }
}

// The same test without the mutex must fail: the lost update is found.
TEST(Mutex, WithoutItRandomFindsTheLostUpdate) {
  int runs = 0;
  for (uint64_t seed = 0; seed < 50; ++seed) {
    ++runs;
    RandomStrategy random(seed);
    if (final_count(random, false) != kThreads * kIncrements) break;
  }
  EXPECT_LT(runs, 50) << "no lost update in 50 random schedules";
}

TEST(Mutex, WithoutItPctFindsTheLostUpdate) {
  int runs = 0;
  for (uint64_t seed = 0; seed < 50; ++seed) {
    ++runs;
    PctStrategy pct(seed, 2, 30);
    if (final_count(pct, false) != kThreads * kIncrements) break;
  }
  EXPECT_LT(runs, 50) << "no lost update in 50 PCT schedules";
}

TEST(Mutex, AbbaDeadlockIsDetectedAndDescribed) {
  bool found = false;
  for (uint64_t seed = 0; seed < 100 && !found; ++seed) {
    Mutex a, b;
    Scheduler s;
    s.spawn("ab", [&] {
      std::lock_guard la(a);
      std::lock_guard lb(b);
    });
    s.spawn("ba", [&] {
      std::lock_guard lb(b);
      std::lock_guard la(a);
    });
    RandomStrategy random(seed);
    const RunStatus status = s.run(random, 1000);
    ASSERT_TRUE(status == RunStatus::kOk || status == RunStatus::kDeadlock);
    if (status == RunStatus::kDeadlock) {
      found = true;
      const std::string d = s.describe();
      EXPECT_NE(d.find("'ab': blocked on mutex"), std::string::npos) << d;
      EXPECT_NE(d.find("'ba': blocked on mutex"), std::string::npos) << d;
    }
  }
  EXPECT_TRUE(found);
}

TEST(Mutex, UnlockByANonOwnerFails) {
  Mutex mu;
  Scheduler s;
  s.spawn("locker", [&] {
    mu.lock();
    for (;;) yield();
  });
  s.spawn("thief", [&] { mu.unlock(); });
  ASSERT_TRUE(s.step_k(0));  // locker: to mutex_lock's point
  ASSERT_TRUE(s.step_k(0));  // locker: holds mu, yields
  for (int i = 0; i < 10 && !s.failure(); ++i) s.step_k(1);
  ASSERT_TRUE(s.failure());
  EXPECT_EQ(s.failure()->thread_name, "thief");
}

TEST(Mutex, ProductionStressOnRealThreads) {
  Mutex mu;
  int counter = 0;  // guarded by mu; TSan checks it
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        std::lock_guard lock(mu);
        ++counter;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(counter, 80000);
}

}  // namespace
}  // namespace nv::sched
