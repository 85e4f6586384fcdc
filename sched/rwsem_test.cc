#include "sched/rwsem.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "sched/random_strategy.h"

namespace nv::sched {
namespace {

TEST(RwSem, WritersExcludeEveryoneReadersShare) {
  bool readers_overlapped = false;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    RwSem sem;
    int readers = 0, writers = 0;
    Scheduler s;
    for (int t = 0; t < 2; ++t) {
      s.spawn("reader", [&] {
        for (int i = 0; i < 2; ++i) {
          sem.down_read();
          ++readers;
          if (writers != 0) fail("reader inside with a writer");
          yield();
          readers_overlapped |= readers > 1;
          --readers;
          sem.up_read();
        }
      });
    }
    s.spawn("writer", [&] {
      for (int i = 0; i < 2; ++i) {
        sem.down_write();
        ++writers;
        if (readers != 0 || writers != 1) fail("writer not alone");
        yield();
        --writers;
        sem.up_write();
      }
    });
    RandomStrategy random(seed);
    ASSERT_EQ(s.run(random, 10000), RunStatus::kOk) << s.describe();
  }
  EXPECT_TRUE(readers_overlapped);
}

TEST(RwSem, ProductionStressOnRealThreads) {
  RwSem sem;
  int value = 0;  // written under down_write, read under down_read
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5000; ++i) {
        sem.down_write();
        ++value;
        sem.up_write();
      }
    });
    threads.emplace_back([&] {
      int last = 0;
      for (int i = 0; i < 5000; ++i) {
        sem.down_read();
        EXPECT_GE(value, last);
        last = value;
        sem.up_read();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(value, 10000);
}

}  // namespace
}  // namespace nv::sched
