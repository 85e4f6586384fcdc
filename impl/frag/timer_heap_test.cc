#include "impl/frag/timer_heap.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <tuple>
#include <vector>

namespace nv::frag {
namespace {

struct Q {
  int name = 0;
  TimerHook timer;
};
using Heap = TimerHeap<Q, &Q::timer>;

std::vector<int> drain(Heap& heap, uint64_t now) {
  std::vector<int> out;
  while (Q* q = heap.pop_expired(now)) {
    EXPECT_FALSE(q->timer.armed());
    out.push_back(q->name);
  }
  return out;
}

TEST(TimerHeap, ExpiresByDeadlineThenSeq) {
  Heap heap;
  Q a{1}, b{2}, c{3}, d{4};
  heap.arm(&a, 500, 0);
  heap.arm(&b, 100, 3);
  heap.arm(&c, 100, 1);
  heap.arm(&d, 900, 2);
  EXPECT_EQ(heap.check(), std::nullopt);
  EXPECT_EQ(drain(heap, 99), std::vector<int>{});
  EXPECT_EQ(drain(heap, 500), (std::vector<int>{3, 2, 1}));
  EXPECT_EQ(heap.size(), 1u);
  EXPECT_TRUE(d.timer.armed());
  EXPECT_EQ(drain(heap, 10000), std::vector<int>{4});
}

TEST(TimerHeap, ForEachDueVisitsExactlyTheDueTimersAndDisarmsNone) {
  Heap heap;
  std::vector<std::unique_ptr<Q>> qs;
  std::mt19937 rng(7);
  for (int i = 0; i < 200; ++i) {
    qs.push_back(std::make_unique<Q>(Q{i}));
    heap.arm(qs.back().get(), rng() % 1000, uint64_t(i));
  }
  for (uint64_t now : {0u, 1u, 250u, 999u, 5000u}) {
    std::vector<int> seen;
    heap.for_each_due(now, [&](const Q* q) { seen.push_back(q->name); });
    std::sort(seen.begin(), seen.end());
    std::vector<int> want;
    for (const auto& q : qs)
      if (q->timer.deadline_ms <= now) want.push_back(q->name);
    EXPECT_EQ(seen, want) << "now=" << now;
  }
  EXPECT_EQ(heap.size(), 200u);
  EXPECT_EQ(heap.check(), std::nullopt);
}

TEST(TimerHeap, CancelRemovesFromAnyPosition) {
  Heap heap;
  std::vector<std::unique_ptr<Q>> qs;
  for (int i = 0; i < 50; ++i) {
    qs.push_back(std::make_unique<Q>(Q{i}));
    heap.arm(qs.back().get(), uint64_t((i * 37) % 50), uint64_t(i));
  }
  for (int i = 0; i < 50; i += 3) {
    heap.cancel(qs[i].get());
    EXPECT_FALSE(qs[i]->timer.armed());
    ASSERT_EQ(heap.check(), std::nullopt);
  }
  std::vector<int> got = drain(heap, 1000);
  std::vector<int> want;
  for (int i = 0; i < 50; ++i)
    if (i % 3 != 0) want.push_back(i);
  std::sort(want.begin(), want.end(), [](int x, int y) {
    return std::make_tuple((x * 37) % 50, x) < std::make_tuple((y * 37) % 50, y);
  });
  EXPECT_EQ(got, want);
}

TEST(TimerHeap, RearmMovesBothWaysAndKeepsSeq) {
  Heap heap;
  Q a{1}, b{2}, c{3};
  heap.arm(&a, 100, 0);
  heap.arm(&b, 200, 1);
  heap.arm(&c, 300, 2);
  heap.rearm(&a, 400);  // later: sinks below c
  heap.rearm(&c, 200);  // earlier: ties with b, which was created first
  EXPECT_EQ(heap.check(), std::nullopt);
  EXPECT_EQ(c.timer.seq, 2u);
  EXPECT_EQ(drain(heap, 1000), (std::vector<int>{2, 3, 1}));
}

TEST(TimerHeap, MatchesASortedReferenceUnderRandomOperations) {
  std::mt19937_64 rng(7);
  Heap heap;
  std::vector<std::unique_ptr<Q>> qs;
  for (int i = 0; i < 2000; ++i) qs.push_back(std::make_unique<Q>(Q{i}));
  uint64_t seq = 0, now = 0;
  for (int step = 0; step < 20000; ++step) {
    Q* q = qs[rng() % qs.size()].get();
    switch (rng() % 4) {
      case 0:
        if (!q->timer.armed()) heap.arm(q, now + rng() % 1000, seq++);
        break;
      case 1:
        if (q->timer.armed()) heap.cancel(q);
        break;
      case 2:
        if (q->timer.armed()) heap.rearm(q, now + rng() % 1000);
        break;
      case 3: {
        now += rng() % 50;
        std::vector<std::tuple<uint64_t, uint64_t, int>> want;
        for (auto& p : qs)
          if (p->timer.armed() && p->timer.deadline_ms <= now)
            want.emplace_back(p->timer.deadline_ms, p->timer.seq, p->name);
        std::sort(want.begin(), want.end());
        std::vector<int> want_names;
        for (auto& w : want) want_names.push_back(std::get<2>(w));
        ASSERT_EQ(drain(heap, now), want_names);
        break;
      }
    }
    ASSERT_EQ(heap.check(), std::nullopt);
  }
}

}  // namespace
}  // namespace nv::frag
