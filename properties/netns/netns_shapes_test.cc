#include "properties/netns/netns_shapes.h"

#include <gtest/gtest.h>

#include <set>

#include "runner/runner.h"
#include "runner/subsystem.h"
#include "runner/test_trace.h"
#include "sched/random_strategy.h"
#include "trace/parser.h"
#include "trace/printer.h"

namespace nv::gen {
namespace {

// Every race the shape builds, each a valid trace: around the trace's del,
// or around a fresh namespace the fragment is moved into; raced by a copy
// of the fragment started beside the del, or by a tick past the
// reassembly timeouts or a maybe_get of the namespace's identity after it.
TEST(NetnsShapes, RaceDelStartsTheDelBesideAUserATickOrAMaybeGet) {
  const trace::Trace base = runner::parse_valid(
      "netverify-trace 1\n"
      "netns add b\n"
      "frag b v4 id=1 off=0 len=16 mf=1\n"
      "netns del b\n");
  std::set<std::string> seen;
  for (uint64_t r = 0; r < 64; ++r) {
    trace::Trace t = base;
    ASSERT_TRUE(netns_race_del(t, r * 0x9e3779b97f4a7c15ull));
    EXPECT_EQ(trace::check_ops(t.ops), std::nullopt) << trace::print(t);
    seen.insert(trace::print(t));
  }
  const std::string head = "netverify-trace 1\nnetns add b\nfrag b v4 id=1 off=0 len=16 mf=1\n";
  const std::string fresh =
      "netverify-trace 1\nnetns add b\nnetns add a\nfrag a v4 id=1 off=0 "
      "len=16 mf=1\n";
  EXPECT_EQ(seen, (std::set<std::string>{
                      head + "go frag b v4 id=1 off=0 len=16 mf=1\ngo netns del b\n",
                      head + "go netns del b\ngo tick 30s\n",
                      head + "go netns del b\ngo tick 1m\n",
                      head + "go netns del b\ngo netns maybe_get 1 a\n",
                      fresh + "go frag a v4 id=1 off=0 len=16 mf=1\ngo netns del a\nnetns del b\n",
                      fresh + "go netns del a\ngo tick 30s\nnetns del b\n",
                      fresh + "go netns del a\ngo tick 1m\nnetns del b\n",
                      fresh + "go netns del a\ngo netns maybe_get 2 c\nnetns del b\n",
                  }));
  trace::Trace none = runner::parse_valid("netverify-trace 1\nnetns add b\ntick 1s\n");
  EXPECT_FALSE(netns_race_del(none, 1));
}

// The shape reaches the bug it is for: a maybe_get that succeeds on a
// namespace whose last reference is gone fails under some random walk, and
// under none without the mutant.
TEST(NetnsShapes, RaceDelCatchesAMaybeGetOfTheDyingNamespace) {
  const trace::Trace base = runner::parse_valid("netverify-trace 1\nnetns add a\nnetns del a\n");
  trace::Trace t = base;
  ASSERT_TRUE(netns_race_del(t, /*existing del, maybe_get racer*/ 2 << 9));
  ASSERT_EQ(trace::print(t),
            "netverify-trace 1\nnetns add a\ngo netns del a\ngo netns maybe_get 1 b\n");
  int caught = 0;
  for (uint64_t seed = 0; seed < 16; ++seed) {
    sched::RandomStrategy walk(seed), clean_walk(seed);
    caught += !runner::run(t, {.mutants = {"netns-maybe-get-dying"}, .strategy = &walk}).ok();
    EXPECT_TRUE(runner::run(t, {.strategy = &clean_walk}).ok()) << seed;
  }
  EXPECT_GT(caught, 0);
}

}  // namespace
}  // namespace nv::gen
