#include "sched/fiber.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace nv::sched::internal {
namespace {

TEST(Fiber, ResumeRunsUntilSuspendThenToTheEnd) {
  std::vector<std::string> log;
  std::unique_ptr<Fiber> f;
  f = std::make_unique<Fiber>(
      [&] {
        log.push_back("a");
        f->suspend();
        log.push_back("b");
      },
      64 << 10);
  EXPECT_FALSE(f->started());
  EXPECT_FALSE(f->resume());
  EXPECT_EQ(log, std::vector<std::string>{"a"});
  EXPECT_TRUE(f->resume());
  EXPECT_EQ(log, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(f->finished());
}

TEST(Fiber, ManyInterleavedFibersKeepTheirOwnStacks) {
  constexpr int kFibers = 50;
  std::vector<std::unique_ptr<Fiber>> fibers(kFibers);
  std::vector<int> sums(kFibers);
  for (int i = 0; i < kFibers; ++i) {
    fibers[i] = std::make_unique<Fiber>(
        [&, i] {
          int local[64];  // lives across switches
          for (int k = 0; k < 64; ++k) local[k] = i * k;
          fibers[i]->suspend();
          for (int k = 0; k < 64; ++k) sums[i] += local[k];
        },
        64 << 10);
  }
  for (auto& f : fibers) EXPECT_FALSE(f->resume());
  for (auto& f : fibers) EXPECT_TRUE(f->resume());
  for (int i = 0; i < kFibers; ++i) EXPECT_EQ(sums[i], i * (63 * 64 / 2));
}

TEST(StackPool, ReusesReleasedStacks) {
  const Stack a = StackPool::acquire(100 << 10);
  StackPool::release(a);
  const Stack b = StackPool::acquire(100 << 10);
  EXPECT_EQ(a.base, b.base);
  StackPool::release(b);
}

}  // namespace
}  // namespace nv::sched::internal
