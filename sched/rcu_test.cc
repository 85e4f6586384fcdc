#include "sched/rcu.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "sched/random_strategy.h"
#include "sched/replay_strategy.h"

namespace nv::sched {
namespace {

// A reader inside its section when synchronize_rcu starts holds the grace
// period until it leaves; one that enters afterwards does not.
TEST(Rcu, SynchronizeWaitsForAPreexistingReaderOnly) {
  Scheduler s;
  std::vector<std::string> log;
  s.spawn("old reader", [&] {
    RcuReadGuard g;
    log.push_back("old in");
    yield();
    yield();
    log.push_back("old out");
  });
  s.spawn("updater", [&] {
    synchronize_rcu();
    log.push_back("gp done");
  });
  s.spawn("new reader", [&] {
    rcu_read_lock();
    log.push_back("new in");
    for (;;) yield();  // never leaves
  });
  ASSERT_TRUE(s.step_k(0));  // old reader enters, yields at rcu_read_lock's point
  ASSERT_TRUE(s.step_k(0));  // ... to its first yield: inside
  ASSERT_TRUE(s.step_k(1));  // updater: at synchronize_rcu's point
  ASSERT_TRUE(s.step_k(1));  // updater starts the grace period, blocks
  EXPECT_NE(s.describe().find("'updater': blocked on RCU grace period"), std::string::npos)
      << s.describe();
  ASSERT_TRUE(s.step_k(1));  // new reader (index 1 of {old, new}) to rcu_read_lock
  ASSERT_TRUE(s.step_k(1));  // new reader inside, yielding
  ASSERT_TRUE(s.step_k(0));  // old reader to its second yield
  ASSERT_TRUE(s.step_k(0));  // old reader leaves: the updater is woken
  EXPECT_EQ(log, (std::vector<std::string>{"old in", "new in", "old out"}));
  // Only the updater and the new reader remain; the updater completes even
  // though the new reader never leaves.
  for (int i = 0; i < 10; ++i) s.step_k(0);
  EXPECT_EQ(log.back(), "gp done");
  EXPECT_EQ(s.rcu_stats().grace_periods, 1u);
}

// The grace period guarantee as a property: an object unpublished and then
// freed after synchronize_rcu is never seen freed by a reader, under any
// random schedule.
TEST(Rcu, NoReaderSeesAFreedObject) {
  for (uint64_t seed = 0; seed < 200; ++seed) {
    struct Obj {
      bool freed = false;
    };
    Obj a, b;
    std::atomic<Obj*> slot{&a};
    Scheduler s;
    for (int r = 0; r < 2; ++r) {
      s.spawn("reader", [&] {
        for (int i = 0; i < 2; ++i) {
          RcuReadGuard g;
          Obj* o = rcu_dereference(slot);
          yield();
          if (o->freed) fail("reader sees a freed object");
        }
      });
    }
    s.spawn("updater", [&] {
      rcu_assign_pointer(slot, &b);
      synchronize_rcu();
      a.freed = true;
    });
    RandomStrategy random(seed);
    ASSERT_EQ(s.run(random, 1000), RunStatus::kOk) << "seed " << seed << "\n" << s.describe();
  }
}

TEST(Rcu, BarrierWaitsForEveryCallback) {
  for (uint64_t seed = 0; seed < 50; ++seed) {
    Scheduler s;
    int ran = 0;
    bool reader_done = false;
    bool at_barrier = false;
    bool reader_inside = false;
    s.spawn("reader", [&] {
      RcuReadGuard g;
      reader_inside = true;
      while (!at_barrier) yield();  // holds the callbacks' grace period
      reader_done = true;
    });
    s.spawn("updater", [&] {
      while (!reader_inside) yield();
      call_rcu([&] {
        if (!reader_done) fail("callback before the reader left");
        ++ran;
      });
      call_rcu([&] { ++ran; });
      at_barrier = true;
      rcu_barrier();
      if (ran != 2) fail("rcu_barrier returned before the callbacks ran");
    });
    RandomStrategy random(seed);
    ASSERT_EQ(s.run(random, 1000), RunStatus::kOk) << "seed " << seed << "\n" << s.describe();
    EXPECT_EQ(ran, 2);
    EXPECT_EQ(s.rcu_stats().callbacks, 2u);
    EXPECT_EQ(s.rcu_stats().barriers, 1u);
    EXPECT_EQ(s.rcu_stats().grace_periods, 2u);
  }
}

TEST(Rcu, SynchronizeInsideAReadSectionFails) {
  Scheduler s;
  s.spawn("self-deadlock", [] {
    RcuReadGuard g;
    synchronize_rcu();
  });
  ReplayStrategy lowest({});
  EXPECT_EQ(s.run(lowest, 100), RunStatus::kFailure);
  EXPECT_EQ(s.failure()->message, "synchronize_rcu inside an RCU read-side critical section");
}

// Production: liburcu memb on real threads. Readers dereference while the
// updater swaps and frees via synchronize_rcu and call_rcu; under TSan (and
// ASan) a reader touching freed memory is reported.
TEST(Rcu, ProductionReadersAndUpdaterOnRealThreads) {
  struct Obj {
    int value;
  };
  std::atomic<Obj*> slot{new Obj{0}};
  std::atomic<bool> stop{false};
  const RcuStats before = rcu_stats();
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      RcuThread registration;
      while (!stop.load(std::memory_order_relaxed)) {
        RcuReadGuard g;
        const Obj* o = rcu_dereference(slot);
        EXPECT_GE(o->value, 0);
      }
    });
  }
  {
    RcuThread registration;
    for (int i = 1; i <= 200; ++i) {
      Obj* old = slot.load(std::memory_order_relaxed);
      rcu_assign_pointer(slot, new Obj{i});
      if (i % 2) {
        synchronize_rcu();
        delete old;
      } else {
        call_rcu([old] { delete old; });
      }
    }
    stop.store(true);
    for (auto& t : readers) t.join();
    rcu_barrier();
    delete slot.load();
  }
  const RcuStats after = rcu_stats();
  EXPECT_EQ(after.grace_periods - before.grace_periods, 100u);
  EXPECT_EQ(after.callbacks - before.callbacks, 100u);
  EXPECT_EQ(after.barriers - before.barriers, 1u);
}

}  // namespace
}  // namespace nv::sched
