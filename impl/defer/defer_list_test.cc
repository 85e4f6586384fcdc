// DeferList on its own: the thresholds as the trace's model has them, the
// kick sent once until a flush, a flush that takes the whole list newest
// first; and in production mode (real threads, a real spinlock) every skb
// pushed by several CPUs freed exactly once by the owner's flushes, the
// list never longer than skb_defer_max.
#include "impl/defer/defer_list.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace nv::defer {
namespace {

TEST(DeferList, KicksOnceAtHalfRefusesWhenFullFlushesNewestFirst) {
  DeferList list;
  std::atomic<uint32_t> max{4};
  std::vector<DeferSkb> skbs(5);
  uint64_t count = 0;
  EXPECT_EQ(list.push(&skbs[0], max, &count), DeferList::Push::kDeferred);
  EXPECT_EQ(list.push(&skbs[1], max, &count), DeferList::Push::kDeferred);
  EXPECT_EQ(list.push(&skbs[2], max, &count), DeferList::Push::kDeferredKick);  // found 2 of 4
  EXPECT_EQ(list.push(&skbs[3], max, &count), DeferList::Push::kDeferred);
  EXPECT_EQ(count, 4u);
  EXPECT_EQ(list.push(&skbs[4], max, &count), DeferList::Push::kFull);
  EXPECT_TRUE(list.ipi_scheduled());
  EXPECT_TRUE(list.check());
  std::vector<DeferSkb*> freed;
  EXPECT_EQ(list.flush([&](DeferSkb* s) { freed.push_back(s); }), 4u);
  EXPECT_EQ(freed, (std::vector<DeferSkb*>{&skbs[3], &skbs[2], &skbs[1], &skbs[0]}));
  EXPECT_FALSE(list.ipi_scheduled());
  EXPECT_EQ(list.count(), 0u);
  EXPECT_EQ(list.flush([&](DeferSkb*) { ADD_FAILURE() << "empty list flushed"; }), 0u);
}

TEST(DeferList, MutantsChangeWhatTheyName) {
  std::atomic<uint32_t> max{2};
  std::vector<DeferSkb> skbs(3);
  uint64_t count = 0;
  DeferList kicky;
  const MutantSet kick{DeferMutant::kKickEveryDefer};
  EXPECT_EQ(kicky.push(&skbs[0], max, &count, kick), DeferList::Push::kDeferredKick);
  DeferList unbounded;
  const MutantSet nocheck{DeferMutant::kNoLengthCheck};
  for (DeferSkb& s : skbs)
    EXPECT_NE(unbounded.push(&s, max, &count, nocheck), DeferList::Push::kFull);
  EXPECT_EQ(count, 3u);
}

// Production mode: three CPUs push, the owner flushes while they do.
TEST(DeferList, ConcurrentPushesAndFlushesFreeEachSkbOnce) {
  constexpr int kPerCpu = 20000;
  DeferList list;
  std::atomic<uint32_t> max{64};
  std::vector<DeferSkb> skbs(3 * kPerCpu);
  std::vector<std::atomic<int>> frees(skbs.size());
  std::atomic<int> pushers{3};
  std::atomic<uint64_t> longest{0};
  auto free_skb = [&](DeferSkb* s) { frees[size_t(s - skbs.data())].fetch_add(1); };
  std::vector<std::thread> cpus;
  for (int c = 0; c < 3; ++c) {
    cpus.emplace_back([&, c] {
      for (int k = 0; k < kPerCpu; ++k) {
        DeferSkb* s = &skbs[size_t(c * kPerCpu + k)];
        uint64_t count = 0;
        if (list.push(s, max, &count) == DeferList::Push::kFull) {
          free_skb(s);  // freed at once by the freeing CPU
        } else {
          uint64_t seen = longest.load();
          while (count > seen && !longest.compare_exchange_weak(seen, count)) {
          }
        }
      }
      pushers.fetch_sub(1);
    });
  }
  while (pushers.load() > 0) list.flush(free_skb);
  for (std::thread& t : cpus) t.join();
  list.flush(free_skb);
  for (const auto& n : frees) ASSERT_EQ(n.load(), 1);
  EXPECT_LE(longest.load(), 64u);
}

}  // namespace
}  // namespace nv::defer
