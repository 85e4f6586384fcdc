#include "sched/refcount.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "sched/random_strategy.h"

namespace nv::sched {
namespace {

TEST(Refcount, ExactlyOneDropperFreesUnderRandomSchedules) {
  for (uint64_t seed = 0; seed < 200; ++seed) {
    Refcount ref(3);
    int freed = 0;
    Scheduler s;
    for (int t = 0; t < 3; ++t) {
      s.spawn("put", [&] {
        yield();
        if (ref.dec_and_test()) ++freed;
      });
    }
    RandomStrategy random(seed);
    ASSERT_EQ(s.run(random, 1000), RunStatus::kOk);
    ASSERT_EQ(freed, 1);
  }
}

// A lookup racing with the last put: inc_not_zero refuses a dying object,
// and a plain inc() on it is the kernel's use-after-free WARN, a failure.
TEST(Refcount, IncOnZeroIsAFailureIncNotZeroRefuses) {
  bool refused = false, failed = false;
  for (uint64_t seed = 0; seed < 100; ++seed) {
    for (bool careful : {true, false}) {
      Refcount ref(1);
      Scheduler s;
      s.spawn("put", [&] { ref.dec_and_test(); });
      s.spawn("lookup", [&] {
        if (careful) {
          if (!ref.inc_not_zero()) refused = true;
        } else {
          ref.inc();
        }
      });
      RandomStrategy random(seed);
      const RunStatus status = s.run(random, 100);
      if (status == RunStatus::kFailure) {
        EXPECT_FALSE(careful);
        EXPECT_EQ(s.failure()->message, "refcount_t: addition on 0; use-after-free");
        failed = true;
      }
    }
  }
  EXPECT_TRUE(refused);
  EXPECT_TRUE(failed);
}

TEST(Refcount, ProductionStressOnRealThreads) {
  struct Obj {
    Refcount ref{1};
    int payload = 0;
  };
  auto* obj = new Obj;
  obj->payload = 5;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) obj->ref.inc();
  std::atomic<int> freed{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, obj] {
      EXPECT_EQ(obj->payload, 5);
      if (obj->ref.dec_and_test()) {
        delete obj;
        freed.fetch_add(1);
      }
    });
  }
  if (obj->ref.dec_and_test()) {
    delete obj;
    freed.fetch_add(1);
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(freed.load(), 1);
}

}  // namespace
}  // namespace nv::sched
