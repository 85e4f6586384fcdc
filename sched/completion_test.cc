#include "sched/completion.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "sched/random_strategy.h"

namespace nv::sched {
namespace {

TEST(Completion, CompleteLetsOneWaiterThroughCompleteAllEveryone) {
  Completion one, all;
  int passed = 0;
  Scheduler s;
  for (int t = 0; t < 3; ++t) {
    s.spawn("waiter", [&] {
      one.wait_for_completion();
      ++passed;
      all.wait_for_completion();
      ++passed;
    });
  }
  s.spawn("completer", [&] {
    one.complete();
    one.complete();
    yield();
    one.complete();
  });
  RandomStrategy random(4);
  ASSERT_EQ(s.run(random, 1000), RunStatus::kDeadlock);  // all not completed yet
  EXPECT_EQ(passed, 3);
  s.spawn("all", [&] { all.complete_all(); });
  ASSERT_EQ(s.run(random, 1000), RunStatus::kOk) << s.describe();
  EXPECT_EQ(passed, 6);
}

TEST(Completion, ProductionOnRealThreads) {
  Completion done;
  int result = 0;  // written before complete(), read after the wait
  std::thread t([&] {
    result = 7;
    done.complete();
  });
  done.wait_for_completion();
  EXPECT_EQ(result, 7);
  t.join();
}

}  // namespace
}  // namespace nv::sched
