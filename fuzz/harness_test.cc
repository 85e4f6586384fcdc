#include "fuzz/harness.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "runner/subsystem.h"
#include "runner/test_trace.h"
#include "trace/printer.h"

namespace nv::fuzz {
namespace {

bool has_sched_line(const trace::Trace& t) {
  return std::any_of(t.ops.begin(), t.ops.end(),
                     [](const trace::Op& op) { return op.spec->name == "sched"; });
}

// defer-flush-race's race without its schedule: a remote free racing its
// owner's drain. Run as written (the first runnable thread first) it
// passes; only an interleaving inside the drain shows the bug.
constexpr std::string_view kRace =
    "netverify-trace 1\n"
    "skb alloc a cpu=0\n"
    "skb alloc b cpu=0\n"
    "skb free a cpu=1\n"
    "go cpu rx 0\n"
    "go skb free b cpu=1\n";

std::vector<uint8_t> encoded(std::string_view text, std::string_view target) {
  std::string error;
  auto bytes =
      encode(runner::parse_valid(text), runner::registry(), *target_options(target), &error);
  EXPECT_TRUE(bytes) << error;
  return bytes.value_or(std::vector<uint8_t>{});
}

// The harness explores schedules past the input's own: some variant of the
// race (a trailing byte changes the input's hash, hence the schedules)
// fails, and what find() returns is the trace with the failing schedule
// written in, which fails as plain replay runs it, while the decoded trace
// alone passes.
TEST(Harness, ExploresSchedulesOfARaceAndReportsTheOneThatFails) {
  const std::vector<std::string> mutants = {"defer-flush-race"};
  const Harness harness({.target = "defer", .mutants = mutants});
  const std::vector<uint8_t> base = encoded(kRace, "defer");
  runner::RunOptions plain;
  plain.mutants = mutants;
  ASSERT_TRUE(runner::run(runner::parse_valid(kRace), plain).ok());
  std::optional<Finding> found;
  int tries = 0;
  // A trailing "cpu up" of an online CPU (after the section: it changes
  // nothing but the input's hash).
  auto variant = [&](int i) {
    std::vector<uint8_t> bytes = base;
    bytes.push_back(4);  // the table's "cpu up"
    bytes.push_back(uint8_t(i));
    return bytes;
  };
  for (; tries < 64 && !found; ++tries) {
    const std::vector<uint8_t> bytes = variant(tries);
    ASSERT_TRUE(
        runner::run(decode(bytes, runner::registry(), *target_options("defer")), plain).ok());
    found = harness.find(bytes);
  }
  ASSERT_TRUE(found) << "no schedule of 64 inputs' failed";
  EXPECT_TRUE(has_sched_line(found->trace)) << trace::print(found->trace);
  EXPECT_FALSE(found->result.ok());
  const trace::Trace replayed = runner::parse_valid(trace::print(found->trace));
  EXPECT_FALSE(runner::run(replayed, plain).ok()) << trace::print(found->trace);
  // Without the mutant no schedule fails.
  const Harness clean({.target = "defer", .mutants = std::vector<std::string>{}});
  for (int i = 0; i < tries; ++i) EXPECT_FALSE(clean.find(variant(i))) << i;
}

// An input with no concurrent section runs once, as decoded.
TEST(Harness, FindsAnOrdinaryDivergenceInTheDecodedTrace) {
  const Harness harness({.target = "frag", .mutants = std::vector<std::string>{"frag-no-trim"}});
  const std::string_view text =
      "netverify-trace 1\n"
      "frag init v4 id=1 off=0 len=12 mf=1\n"
      "frag init v4 id=1 off=8 len=8 mf=0\n";
  std::optional<Finding> found = harness.find(encoded(text, "frag"));
  ASSERT_TRUE(found);
  EXPECT_EQ(trace::print(found->trace), trace::print(runner::parse_valid(text)));
  EXPECT_FALSE(found->result.ok());
}

// A run the design refuses is no finding: "policy frag evict" (fuzz_all's
// later frag table) with a mutant of today's design, which has no evictor.
TEST(Harness, ARefusalIsNoFinding) {
  const std::vector<std::string> mutants = {"frag-ecn-blind"};
  const std::string_view text =
      "netverify-trace 1\n"
      "policy frag evict\n"
      "frag init v4 id=1 off=0 len=8 mf=1\n"
      "frag init v4 id=1 off=8 len=8 mf=0 ecn=ce\n";
  runner::RunOptions options;
  options.mutants = mutants;
  ASSERT_TRUE(runner::run(runner::parse_valid(text), options).refusal);
  EXPECT_FALSE(Harness({.target = "all", .mutants = mutants}).find(encoded(text, "all")));
}

// The trace with its schedule written in is reported with its replayed run
// when that fails; when it passes although the strategy's run of the same
// schedule failed, the strategy's run is reported and marked: the printed
// trace would not reproduce.
TEST(Harness, ConfirmReportsAScheduleThatDoesNotReplayAsSuch) {
  const trace::Trace t = runner::parse_valid("netverify-trace 1\ntick 1s\n");
  runner::RunResult failed;
  failed.divergence = runner::Divergence{};
  failed.ops_run = 7;
  runner::RunResult passed;
  passed.ops_run = 1;

  const Finding replays = confirm(t, passed, failed);
  EXPECT_TRUE(replays.reproduces);
  EXPECT_EQ(replays.result.ops_run, 7u);

  const Finding lost = confirm(t, failed, passed);
  EXPECT_FALSE(lost.reproduces);
  EXPECT_FALSE(lost.result.ok());
  EXPECT_EQ(lost.result.ops_run, 7u);
}

}  // namespace
}  // namespace nv::fuzz
