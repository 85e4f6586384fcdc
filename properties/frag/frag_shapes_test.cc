#include "properties/frag/frag_shapes.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "runner/subsystem.h"
#include "runner/test_trace.h"
#include "trace/frag/frag_ops.h"
#include "trace/parser.h"
#include "trace/printer.h"

namespace nv::gen {
namespace {

constexpr std::string_view kFirst =
    "netverify-trace 1\n"
    "frag init v4 id=7 off=0 len=13 mf=1 src=127.0.0.2\n";

TEST(FragShapes, CompleteEndsTheDatagramWhereTheRunEnds) {
  trace::Trace t = runner::parse_valid(kFirst);
  ASSERT_TRUE(frag_complete(t, uint64_t(5) << 16));
  EXPECT_EQ(trace::print(t),
            std::string(kFirst) + "frag init v4 id=7 off=8 len=6 mf=0 src=127.0.0.2\n");
  trace::Trace none = runner::parse_valid("netverify-trace 1\ntick 1s\n");
  EXPECT_FALSE(frag_complete(none, 0));
}

TEST(FragShapes, PastLimitEndsTheDatagramAroundTheSizeLimits) {
  for (uint64_t k = 0; k < 24; ++k) {
    trace::Trace t = runner::parse_valid(kFirst);
    ASSERT_TRUE(frag_past_limit(t, k << 16));
    ASSERT_EQ(t.ops.size(), 2u);
    EXPECT_EQ(t.ops[1].u(frag::fields::kOff), 8u);
    // Capped at a v4 fragment's largest payload, 65515: still past the
    // datagram's limit.
    EXPECT_EQ(t.ops[1].u(frag::fields::kLen), std::min<uint64_t>(65500 + k, 65515));
    EXPECT_EQ(trace::check_ops(t.ops), std::nullopt) << trace::print(t);
  }
}

TEST(FragShapes, CollideGivesOneFragmentTheOthersKey) {
  trace::Trace t =
      runner::parse_valid(std::string(kFirst) + "netns add a\nfrag a v6 id=9 off=8 len=8 mf=0\n");
  ASSERT_TRUE(frag_collide(t, uint64_t(1) << 16));
  EXPECT_EQ(trace::print(t), std::string(kFirst) +
                                 "netns add a\nfrag init v4 id=7 off=8 len=8 mf=0 src=127.0.0.2\n");
  trace::Trace one = runner::parse_valid(kFirst);
  EXPECT_FALSE(frag_collide(one, 0));
}

TEST(FragShapes, EcnGivesAFragmentAnotherCodepoint) {
  // From Not-ECT, random bits 0, 1, 2 step to ect1, ect0, ce; from ce, 1
  // steps back to Not-ECT, written as no field.
  const char* const want[] = {" ecn=ect1", " ecn=ect0", " ecn=ce"};
  for (uint64_t k = 0; k < 3; ++k) {
    trace::Trace t = runner::parse_valid(kFirst);
    ASSERT_TRUE(frag_ecn(t, k << 16));
    EXPECT_EQ(trace::print(t),
              "netverify-trace 1\nfrag init v4 id=7 off=0 len=13 mf=1 src=127.0.0.2" +
                  std::string(want[k]) + "\n");
  }
  trace::Trace ce =
      runner::parse_valid(std::string(kFirst.substr(0, kFirst.size() - 1)) + " ecn=ce\n");
  ASSERT_TRUE(frag_ecn(ce, uint64_t(0) << 16));
  EXPECT_EQ(trace::print(ce), kFirst);
  trace::Trace none = runner::parse_valid("netverify-trace 1\ntick 1s\n");
  EXPECT_FALSE(frag_ecn(none, 0));
}

}  // namespace
}  // namespace nv::gen
