#include "model/frag/frag_rule.h"

#include <gtest/gtest.h>

namespace nv::frag::rule {
namespace {

Decision<Concrete> decide(Family family, uint32_t off, uint32_t len, bool mf,
                          const QueueState<Concrete>& q, uint64_t high = 4194304,
                          uint64_t mem = 0) {
  Decision<Concrete> d;
  const Input<Concrete> in{family, off, len, mf};
  admit(d, in, false, high, mem);
  queue(d, in, q);
  return d;
}

TEST(FragRule, AdmissionIsSysctlsOverLimit) {
  const uint64_t values[] = {
      0, 1, 1031, 1032, 1033, 4194304, (uint64_t{1} << 63) - 1, uint64_t{1} << 63, ~uint64_t{0}};
  for (uint64_t high : values) {
    for (uint64_t mem : values) {
      Sysctls s;
      s.high_thresh[0] = high;
      const Decision<Concrete> d = decide(Family::kV4, 8, 8, true, {}, high, mem);
      EXPECT_EQ(d.fired(Outcome::kMemLimit), s.over_limit(Family::kV4, mem))
          << "high=" << high << " mem=" << mem;
    }
  }
}

TEST(FragRule, V4TrimsAndV6Refuses) {
  EXPECT_EQ(decide(Family::kV4, 0, 13, true, {}).outcome(), Outcome::kQueued);
  EXPECT_EQ(decide(Family::kV4, 0, 13, true, {}).end, 8u);
  EXPECT_EQ(decide(Family::kV4, 8, 7, true, {}).outcome(), Outcome::kZeroLen);
  EXPECT_EQ(decide(Family::kV6, 0, 13, true, {}).outcome(), Outcome::kV6BadLen);
  EXPECT_EQ(decide(Family::kV6, 65528, 8, true, {}).outcome(), Outcome::kV6TooBig);
  EXPECT_EQ(decide(Family::kV6, 65528, 7, false, {}).outcome(), Outcome::kQueued);
}

TEST(FragRule, DuplicateAndOverlapAreDecidedAgainstRuns) {
  // [16,32) then [0,16): two runs. [0,32) covers both: an overlap.
  QueueState<Concrete> two{{{0, 16}, {16, 32}}, true, false, 32, 32};
  EXPECT_EQ(decide(Family::kV4, 0, 32, true, two).outcome(), Outcome::kOverlap);
  // [0,16) then [16,32) in order: one run, and [8,24) lies within it.
  QueueState<Concrete> one{{{0, 32}}, true, false, 32, 32};
  EXPECT_EQ(decide(Family::kV4, 8, 16, true, one).outcome(), Outcome::kDup);
  EXPECT_EQ(decide(Family::kV4, 32, 8, true, one).placement(), Placement::kAppend);
  EXPECT_EQ(decide(Family::kV4, 40, 8, true, one).placement(), Placement::kAfter);
  QueueState<Concrete> high{{{16, 32}}, false, false, 32, 16};
  EXPECT_EQ(decide(Family::kV4, 0, 8, true, high).placement(), Placement::kBefore);
}

TEST(FragRule, ALastFragmentFixesTheEndEvenAsADuplicate) {
  QueueState<Concrete> one{{{0, 32}}, true, false, 32, 32};
  const Decision<Concrete> d = decide(Family::kV4, 16, 16, false, one);
  EXPECT_EQ(d.outcome(), Outcome::kDup);
  EXPECT_TRUE(d.last_in);
  EXPECT_EQ(d.len, 32u);
  EXPECT_EQ(decide(Family::kV4, 16, 8, false, one).outcome(), Outcome::kBadLast);
}

TEST(FragRule, V4OversizeAtReassembly) {
  QueueState<Concrete> tail{{{8, 65516}}, false, true, 65516, 65508};
  EXPECT_EQ(decide(Family::kV4, 0, 8, true, tail).outcome(), Outcome::kOversize);
  QueueState<Concrete> fits{{{8, 65515}}, false, true, 65515, 65507};
  EXPECT_EQ(decide(Family::kV4, 0, 8, true, fits).outcome(), Outcome::kReassembled);
  // The first fragment's options count (Linux 6.18: 24 + 65512 fails).
  QueueState<Concrete> tail24{{{8, 65512}}, false, true, 65512, 65504};
  EXPECT_EQ(decide(Family::kV4, 0, 8, true, tail24).outcome(), Outcome::kReassembled);
  Decision<Concrete> d;
  queue(d, Input<Concrete>{Family::kV4, 0, 8, true, 4}, tail24);
  EXPECT_EQ(d.outcome(), Outcome::kOversize);
}

// Measured on Linux 6.18: the first fragment's extension headers count with
// the datagram (8 + 65528 fails, 24 + 65511 passes, 24 + 65512 fails), and
// only the first fragment's.
TEST(FragRule, V6OversizeCountsTheFirstFragmentsExtensionHeaders) {
  auto last = [](uint32_t ext, uint32_t end, uint32_t unfrag) {
    QueueState<Concrete> head{{{0, 8}}, true, false, 8, 8};
    head.unfrag = unfrag;
    Decision<Concrete> d;
    queue(d, Input<Concrete>{Family::kV6, 8, end - 8, false, ext}, head);
    return d.outcome();
  };
  auto first = [](uint32_t ext, uint32_t end) {
    QueueState<Concrete> tail{{{8, end}}, false, true, end, end - 8};
    Decision<Concrete> d;
    queue(d, Input<Concrete>{Family::kV6, 0, 8, true, ext}, tail);
    return d.outcome();
  };
  EXPECT_EQ(first(8, 65528), Outcome::kOversize);
  EXPECT_EQ(first(8, 65527), Outcome::kReassembled);
  EXPECT_EQ(first(24, 65511), Outcome::kReassembled);
  EXPECT_EQ(first(24, 65512), Outcome::kOversize);
  EXPECT_EQ(last(0, 65528, 8), Outcome::kOversize);      // the queued first fragment's
  EXPECT_EQ(last(24, 65528, 0), Outcome::kReassembled);  // not the last one's
}

}  // namespace
}  // namespace nv::frag::rule
