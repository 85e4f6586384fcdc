#include "fuzz/mutator.h"

#include <gtest/gtest.h>

#include <set>

#include "fuzz/harness.h"
#include "runner/subsystem.h"
#include "trace/parser.h"
#include "trace/printer.h"

namespace nv::fuzz {
namespace {

constexpr std::string_view kTrace =
    "netverify-trace 1\n"
    "netns add a\n"
    "frag a v4 id=3 off=0 len=16 mf=1\n"
    "go netns del a\n"
    "tick 1s\n";

struct Fixture {
  ByteTraceOptions options = *target_options("netns");
  Codec codec{runner::registry(), options};
  std::vector<uint8_t> bytes;
  Fixture() {
    std::string error;
    bytes = *codec.encode(trace::parse(kTrace, runner::registry()).trace, &error);
  }
  // The trace of one mutation by `seed` with `shapes`, "" when none was taken.
  std::string mutated(const Mutator& m, uint64_t seed, size_t max_size = 4096) const {
    std::vector<uint8_t> b = bytes;
    b.resize(std::max(max_size, b.size()));
    const size_t n = m.mutate(b.data(), bytes.size(), max_size, seed);
    if (!n) return "";
    EXPECT_LE(n, max_size);
    b.resize(n);
    return trace::print(codec.decode(b));
  }
};

// Every generic step shows up among a few hundred seeds, each result a
// valid trace, and a seed always gives the same result.
TEST(Mutator, TakesEveryStepDeterministically) {
  const Fixture fx;
  const Mutator m(runner::registry(), fx.codec, {});
  bool duplicate = false, edge = false, go = false, sched = false, phases = false, dropped = false;
  for (uint64_t seed = 0; seed < 600; ++seed) {
    const std::string t = fx.mutated(m, seed);
    EXPECT_EQ(t, fx.mutated(m, seed));
    if (t.empty()) continue;
    trace::ParseResult again = trace::parse(t, runner::registry());
    ASSERT_FALSE(again.error) << t;
    duplicate |= t.find("frag a v4 id=3 off=0 len=16 mf=1\nfrag a") != std::string::npos;
    edge |= t.find(" len=0 ") != std::string::npos;  // v4 refuses the others
    go |= t.find("go frag") != std::string::npos || t.find("go tick") != std::string::npos;
    sched |= t.find("sched ") != std::string::npos;
    phases |= t.find("sched 0\nsched 0\n") != std::string::npos ||
              t.find("sched 1\nsched 1\n") != std::string::npos ||
              t.find("sched 2\nsched 2\n") != std::string::npos;
    dropped |= std::count(t.begin(), t.end(), '\n') < 5;
  }
  EXPECT_TRUE(duplicate && edge && go && sched && phases && dropped)
      << duplicate << edge << go << sched << phases << dropped;
}

// Steps that drop every op of a one-op trace leave nothing for the next:
// no step is taken on an empty trace (a step on one divided by zero).
TEST(Mutator, NeverStepsOnAnEmptyTrace) {
  Fixture fx;
  std::string error;
  fx.bytes = *fx.codec.encode(
      trace::parse("netverify-trace 1\ntick 1s\n", runner::registry()).trace, &error);
  const Mutator m(runner::registry(), fx.codec, {});
  for (uint64_t seed = 0; seed < 2000; ++seed) fx.mutated(m, seed);
}

// A registered shape is taken for about half the steps; a result that does
// not fit max_size is not.
TEST(Mutator, TakesShapesAndKeepsToMaxSize) {
  const Fixture fx;
  const Mutator m(runner::registry(), fx.codec, {+[](trace::Trace& t, uint64_t) {
                    t.ops.insert(t.ops.begin(), t.ops.front());
                    t.ops.front().args[0] = std::string("b");
                    return true;
                  }});
  int shaped = 0;
  for (uint64_t seed = 0; seed < 200; ++seed)
    shaped += fx.mutated(m, seed).starts_with("netverify-trace 1\nnetns add b\n");
  EXPECT_GT(shaped, 60);
  EXPECT_LT(shaped, 140);
  for (uint64_t seed = 0; seed < 200; ++seed)
    EXPECT_EQ(fx.mutated(m, seed, fx.bytes.size() - 1).find("netns add b"), std::string::npos);
}

// Sequential mutation (kernel-fuzz's) never starts an op on a thread or
// schedules one, yet still duplicates, drops and edits; the same seed gives
// the same trace.
TEST(MutateTrace, SequentialStepsOnly) {
  const trace::Trace in =
      trace::parse("netverify-trace 1\nnetns add a\nfrag a v4 id=3 off=0 len=16 mf=1\ntick 1s\n",
                   runner::registry())
          .trace;
  bool changed = false, duplicate = false;
  for (uint64_t seed = 0; seed < 300; ++seed) {
    trace::Trace t = in, again = in;
    const bool took = mutate_trace(t, runner::registry(), {}, seed, true);
    EXPECT_EQ(took, mutate_trace(again, runner::registry(), {}, seed, true));
    if (!took) continue;
    const std::string text = trace::print(t);
    EXPECT_EQ(text, trace::print(again));
    EXPECT_EQ(text.find("go "), std::string::npos) << text;
    EXPECT_EQ(text.find("sched"), std::string::npos) << text;
    EXPECT_FALSE(trace::parse(text, runner::registry()).error) << text;
    changed |= text != trace::print(in);
    duplicate |= t.ops.size() > in.ops.size();
  }
  EXPECT_TRUE(changed && duplicate);
}

}  // namespace
}  // namespace nv::fuzz
