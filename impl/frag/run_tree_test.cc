#include "impl/frag/run_tree.h"

#include <gtest/gtest.h>

#include <deque>
#include <utility>
#include <vector>

namespace nv::frag {
namespace {

using Insert = RunTree::Insert;
using Runs = std::vector<std::pair<uint32_t, uint32_t>>;

class RunTreeTest : public ::testing::Test {
 protected:
  ~RunTreeTest() override {
    tree_.release([](Skb*) {});
  }

  Insert add(uint32_t off, uint32_t len) {
    Skb& s = skbs_.emplace_back();
    s.off = off;
    s.len = len;
    Insert r = tree_.insert(&s);
    EXPECT_EQ(tree_.check(), std::nullopt);
    return r;
  }
  Runs runs() const {
    Runs out;
    tree_.for_each_run([&](uint32_t off, uint32_t end) { out.emplace_back(off, end); });
    return out;
  }

  std::deque<Skb> skbs_;  // stable addresses
  RunTree tree_;
};

TEST_F(RunTreeTest, InOrderFragmentsExtendOneRun) {
  EXPECT_EQ(add(0, 8), Insert::kOk);
  EXPECT_EQ(add(8, 16), Insert::kOk);
  EXPECT_EQ(add(24, 5), Insert::kOk);
  EXPECT_EQ(runs(), (Runs{{0, 29}}));
  EXPECT_EQ(tree_.end(), 29u);
  std::vector<uint32_t> offs;
  tree_.for_each_skb([&](const Skb& s) { offs.push_back(s.off); });
  EXPECT_EQ(offs, (std::vector<uint32_t>{0, 8, 24}));
}

TEST_F(RunTreeTest, PastTheTailWithAGapStartsANewRun) {
  EXPECT_EQ(add(0, 8), Insert::kOk);
  EXPECT_EQ(add(16, 8), Insert::kOk);
  EXPECT_EQ(runs(), (Runs{{0, 8}, {16, 24}}));
}

TEST_F(RunTreeTest, PastTheTailButStartingInsideItIsAnOverlap) {
  EXPECT_EQ(add(0, 16), Insert::kOk);
  EXPECT_EQ(add(8, 16), Insert::kOverlap);
  EXPECT_EQ(runs(), (Runs{{0, 16}}));
}

TEST_F(RunTreeTest, ContainedInARunIsADupEvenAcrossItsFragments) {
  add(0, 8);
  add(8, 8);
  add(16, 8);
  EXPECT_EQ(add(0, 8), Insert::kDup);
  EXPECT_EQ(add(4, 16), Insert::kDup);  // spans three skbs of one run
  EXPECT_EQ(add(0, 24), Insert::kDup);
  EXPECT_EQ(runs(), (Runs{{0, 24}}));
}

TEST_F(RunTreeTest, ReverseOrderMakesOneRunPerFragment) {
  EXPECT_EQ(add(32, 8), Insert::kOk);
  EXPECT_EQ(add(24, 8), Insert::kOk);
  EXPECT_EQ(add(16, 8), Insert::kOk);
  EXPECT_EQ(add(8, 8), Insert::kOk);
  EXPECT_EQ(add(0, 8), Insert::kOk);
  EXPECT_EQ(runs(), (Runs{{0, 8}, {8, 16}, {16, 24}, {24, 32}, {32, 40}}));
}

TEST_F(RunTreeTest, FillingAGapExactlyStartsARunOfItsOwn) {
  add(0, 8);
  add(16, 8);
  EXPECT_EQ(add(8, 8), Insert::kOk);
  EXPECT_EQ(runs(), (Runs{{0, 8}, {8, 16}, {16, 24}}));
}

TEST_F(RunTreeTest, CoveringTwoAdjacentRunsIsAnOverlap) {
  add(0, 8);
  add(16, 8);
  add(8, 8);  // three adjacent runs, never merged
  EXPECT_EQ(add(0, 16), Insert::kOverlap);
  EXPECT_EQ(add(8, 16), Insert::kOverlap);
  EXPECT_EQ(add(8, 8), Insert::kDup);
}

TEST_F(RunTreeTest, PartialOverlapsBelowTheTail) {
  add(16, 16);                               // [16,32)
  add(48, 8);                                // [48,56)
  EXPECT_EQ(add(8, 16), Insert::kOverlap);   // straddles the start of [16,32)
  EXPECT_EQ(add(24, 16), Insert::kOverlap);  // straddles its end
  EXPECT_EQ(add(8, 40), Insert::kOverlap);   // covers it whole
  EXPECT_EQ(add(32, 16), Insert::kOk);       // exactly the gap
  EXPECT_EQ(add(0, 8), Insert::kOk);
  EXPECT_EQ(runs(), (Runs{{0, 8}, {16, 32}, {32, 48}, {48, 56}}));
}

TEST_F(RunTreeTest, InOrderAfterAGapAppendsToTheLastRunOnly) {
  add(0, 8);
  add(24, 8);
  EXPECT_EQ(add(32, 8), Insert::kOk);  // appended to [24,32)
  EXPECT_EQ(add(8, 8), Insert::kOk);   // a run of its own, not appended to [0,8)
  EXPECT_EQ(runs(), (Runs{{0, 8}, {8, 16}, {24, 40}}));
}

TEST_F(RunTreeTest, TenThousandTinyFragmentsInAnyOrder) {
  // Every other 8-byte slot, backwards, then the gaps, each followed by a
  // duplicate and an overlap: O(log n) lookups in a tree of up to 10000 runs.
  for (uint32_t i = 10000; i-- > 0;) {
    if (i % 2 == 0) {
      ASSERT_EQ(tree_.insert(&skbs_.emplace_back(Skb{.off = i * 8, .len = 8})), Insert::kOk);
    }
  }
  for (uint32_t i = 1; i < 10000; i += 2) {
    ASSERT_EQ(tree_.insert(&skbs_.emplace_back(Skb{.off = i * 8, .len = 8})), Insert::kOk);
    ASSERT_EQ(tree_.insert(&skbs_.emplace_back(Skb{.off = i * 8, .len = 8})), Insert::kDup);
    ASSERT_EQ(tree_.insert(&skbs_.emplace_back(Skb{.off = i * 8 - 4, .len = 16})),
              Insert::kOverlap);
  }
  EXPECT_EQ(runs().size(), 9999u);  // the last one arrived in order: appended
  EXPECT_EQ(tree_.check(), std::nullopt);
}

TEST_F(RunTreeTest, ReleaseHandsBackEverySkb) {
  add(0, 8);
  add(8, 8);
  add(32, 8);
  add(16, 8);
  size_t released = 0;
  tree_.release([&](Skb* s) {
    EXPECT_FALSE(s->run_hook.is_linked());
    EXPECT_EQ(s->next_frag, nullptr);
    ++released;
  });
  EXPECT_EQ(released, 4u);
  EXPECT_TRUE(tree_.empty());
  EXPECT_EQ(tree_.check(), std::nullopt);
  EXPECT_EQ(add(0, 8), Insert::kOk);  // usable again
}

}  // namespace
}  // namespace nv::frag
