#include "impl/frag/frag_mutants.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "impl/frag/frag_impl.h"
#include "trace/parser.h"
#include "trace/registry.h"

namespace nv::frag {
namespace {

const trace::Registry& registry() {
  return frag_registry();
}

struct Outcome {
  std::vector<std::string> events;
  trace::Snapshot snapshot;
};

Outcome run(MutantSet mutants, std::string_view text) {
  trace::ParseResult parsed = trace::parse(text, registry());
  EXPECT_FALSE(parsed.error.has_value()) << parsed.error->message;
  FragImpl impl(mutants);
  Outcome out;
  for (const trace::Op& op : parsed.trace.ops) {
    std::vector<trace::Event> events;
    impl.apply(op, events);
    for (const trace::Event& e : events) out.events.push_back(trace::to_text(e));
  }
  impl.snapshot(out.snapshot);
  return out;
}

bool any_starts_with(const std::vector<std::string>& events, std::string_view prefix) {
  for (const std::string& e : events)
    if (e.starts_with(prefix)) return true;
  return false;
}

TEST(FragMutants, TableHasExactlyTheTwelveNamesAndTheyRoundTrip) {
  std::set<std::string_view> names;
  for (const FragMutantInfo& info : kFragMutants) {
    names.insert(info.name);
    EXPECT_EQ(frag_mutant_by_name(info.name), info.mutant);
    EXPECT_FALSE(info.description.empty());
  }
  EXPECT_EQ(names, (std::set<std::string_view>{
                       "frag-overlap-accept", "frag-coalesce-head-truesize", "frag-timer-refresh",
                       "frag-v6-key-nexthdr", "frag-no-trim", "frag-oversize-accept",
                       "frag-expire-dead", "frag-defer-keeps-netns-ref", "frag-pre-exit-open",
                       "frag-ecn-blind", "frag-df-cleared", "frag-v6-truncated-queued"}));
  EXPECT_EQ(frag_mutant_by_name("frag-nothing"), std::nullopt);
  EXPECT_EQ(frag_mutant_by_name(""), std::nullopt);
}

TEST(FragMutants, MutantSetIsEmptyByDefault) {
  MutantSet none;
  EXPECT_TRUE(none.empty());
  MutantSet some{FragMutant::kNoTrim};
  EXPECT_TRUE(some.has(FragMutant::kNoTrim));
  EXPECT_FALSE(some.has(FragMutant::kTimerRefresh));
  EXPECT_TRUE(FragImpl().mutants().empty());
}

TEST(FragMutants, OverlapAcceptKeepsReassembling) {
  const char* text =
      "frag init v4 id=1 off=0 len=16 mf=1\n"
      "frag init v4 id=1 off=8 len=16 mf=1\n"
      "frag init v4 id=1 off=16 len=8 mf=0\n";
  Outcome clean = run({}, text), mutant = run({FragMutant::kOverlapAccept}, text);
  EXPECT_TRUE(any_starts_with(clean.events, "kill ns=init family=v4 id=1 reason=overlap"));
  EXPECT_EQ(clean.snapshot.get("init", "IpExtReasmOverlaps"), 1u);
  EXPECT_FALSE(any_starts_with(clean.events, "deliver"));
  EXPECT_TRUE(any_starts_with(mutant.events, "drop ns=init family=v4 id=1 off=8"));
  EXPECT_TRUE(any_starts_with(mutant.events, "deliver"));
  EXPECT_EQ(mutant.snapshot.get("init", "IpExtReasmOverlaps"), 0u);
}

TEST(FragMutants, CoalesceHeadTruesizeLeaksAccountedMemory) {
  const char* text =
      "frag init v4 id=1 off=0 len=8 mf=1\n"
      "frag init v4 id=1 off=8 len=8 mf=1\n"
      "frag init v4 id=1 off=16 len=8 mf=0\n";
  Outcome clean = run({}, text), mutant = run({FragMutant::kCoalesceHeadTruesize}, text);
  EXPECT_EQ(clean.events, mutant.events);
  EXPECT_EQ(clean.snapshot.get("init", "mem.v4"), 0u);
  EXPECT_EQ(mutant.snapshot.get("init", "mem.v4"), 2 * frag_truesize(Family::kV4, 8));
}

TEST(FragMutants, TimerRefreshKeepsATrickleAlive) {
  const char* text =
      "frag init v4 id=1 off=0 len=8 mf=1\n"
      "tick 20s\n"
      "frag init v4 id=1 off=8 len=8 mf=1\n"
      "tick 15s\n";
  Outcome clean = run({}, text), mutant = run({FragMutant::kTimerRefresh}, text);
  EXPECT_EQ(
      clean.events,
      (std::vector<std::string>{
          "kill ns=init family=v4 id=1 reason=timeout",
          "icmp ns=init family=v4 src=127.0.0.1 dst=127.0.0.1 proto=253 id=1 type=11 code=1"}));
  EXPECT_EQ(mutant.events, std::vector<std::string>{});
  EXPECT_EQ(mutant.snapshot.get("init", "queues.v4"), 1u);
}

TEST(FragMutants, V6KeyNexthdrSplitsADatagram) {
  const char* text =
      "frag init v6 id=9 off=0 len=8 mf=1 proto=17\n"
      "frag init v6 id=9 off=8 len=8 mf=0 proto=6\n";
  Outcome clean = run({}, text), mutant = run({FragMutant::kV6KeyNexthdr}, text);
  ASSERT_EQ(clean.events.size(), 1u);
  EXPECT_TRUE(clean.events[0].starts_with("deliver ns=init family=v6"));
  EXPECT_NE(clean.events[0].find("proto=17"), std::string::npos);  // the first fragment's
  EXPECT_EQ(mutant.events, std::vector<std::string>{});
  EXPECT_EQ(mutant.snapshot.get("init", "queues.v6"), 2u);
}

TEST(FragMutants, NoTrimQueuesTheUntrimmedLength) {
  const char* text =
      "frag init v4 id=1 off=0 len=12 mf=1\n"
      "frag init v4 id=1 off=8 len=8 mf=0\n";
  Outcome clean = run({}, text), mutant = run({FragMutant::kNoTrim}, text);
  ASSERT_EQ(clean.events.size(), 1u);
  EXPECT_TRUE(clean.events[0].starts_with("deliver") &&
              clean.events[0].find(" len=16 ") != std::string::npos);
  EXPECT_EQ(mutant.events, std::vector<std::string>{"kill ns=init family=v4 id=1 reason=overlap"});
}

TEST(FragMutants, OversizeAcceptDeliversAPingOfDeath) {
  const char* text =
      "frag init v4 id=1 off=0 len=65512 mf=1 data=fill:00\n"
      "frag init v4 id=1 off=65512 len=8 mf=0 data=fill:00\n";
  Outcome clean = run({}, text), mutant = run({FragMutant::kOversizeAccept}, text);
  EXPECT_EQ(clean.events, std::vector<std::string>{"kill ns=init family=v4 id=1 reason=oversize"});
  ASSERT_EQ(mutant.events.size(), 1u);
  EXPECT_NE(mutant.events[0].find(" len=65520 "), std::string::npos);
  EXPECT_EQ(mutant.snapshot.get("init", "IpReasmOKs"), 1u);
}

TEST(FragMutants, V6TruncatedQueuedLetsAHeaderlessFirstFragmentThrough) {
  const char* text =
      "frag init v6 id=1 off=0 len=16 mf=1 proto=6\n"  // TCP's header is 20 bytes
      "frag init v6 id=1 off=16 len=8 mf=0 proto=6\n";
  Outcome clean = run({}, text), mutant = run({FragMutant::kV6TruncatedQueued}, text);
  EXPECT_EQ(clean.events,
            (std::vector<std::string>{
                "drop ns=init family=v6 id=1 off=0 len=16 reason=v6-truncated",
                "icmp ns=init family=v6 src=::1 dst=::1 proto=6 id=1 type=4 code=3 pointer=0"}));
  ASSERT_EQ(mutant.events.size(), 1u);
  EXPECT_TRUE(mutant.events[0].starts_with("deliver ns=init family=v6"));
  EXPECT_NE(mutant.events[0].find(" len=24 "), std::string::npos);
}

}  // namespace
}  // namespace nv::frag
