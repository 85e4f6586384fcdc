#include "properties/netns/netns_shapes.h"

#include <gtest/gtest.h>

#include <set>

#include "runner/subsystem.h"
#include "runner/test_trace.h"
#include "trace/parser.h"
#include "trace/printer.h"

namespace nv::gen {
namespace {

// Every race the shape builds, each a valid trace: around the trace's del,
// or around a fresh namespace the fragment is moved into; raced by a copy
// of the fragment started beside the del, or by a tick past the
// reassembly timeouts after it.
TEST(NetnsShapes, RaceDelStartsTheDelBesideAUserOrATick) {
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
                      fresh + "go frag a v4 id=1 off=0 len=16 mf=1\ngo netns del a\nnetns del b\n",
                      fresh + "go netns del a\ngo tick 30s\nnetns del b\n",
                      fresh + "go netns del a\ngo tick 1m\nnetns del b\n",
                  }));
  trace::Trace none = runner::parse_valid("netverify-trace 1\nnetns add b\ntick 1s\n");
  EXPECT_FALSE(netns_race_del(none, 1));
}

}  // namespace
}  // namespace nv::gen
