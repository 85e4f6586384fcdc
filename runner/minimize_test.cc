#include "runner/minimize.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "cli/trace_file.h"
#include "properties/frag/frag_gen.h"
#include "runner/runner.h"
#include "runner/subsystem.h"
#include "trace/parser.h"
#include "trace/printer.h"

namespace nv::runner {
namespace {

// 50 fragment ops of other datagrams (ids from 100 up), as padding; run in
// sequence (a padded "go" run would make the reproducer's history one the
// linearizability check searches at length).
std::vector<trace::Op> padding(uint64_t seed) {
  rc::Random random(seed);
  std::vector<gen::Step> steps =
      gen::frag_steps({.perturb = true, .extras = false})(random, 100).value();
  for (auto& s : steps) {
    s.id += 100;
    s.go = false;
  }
  trace::ParseResult r = trace::parse(gen::render(steps), registry());
  EXPECT_FALSE(r.error);
  r.trace.ops.resize(std::min<size_t>(r.trace.ops.size(), 50));
  return r.trace.ops;
}

// Each regression reproducer, padded with 50 unrelated operations at random
// places between sections, minimizes back to at most its hand-written size,
// failing the same way.
TEST(Minimize, PaddedRegressionsShrinkBack) {
  size_t checked = 0;
  for (const auto& e : std::filesystem::directory_iterator(NV_SOURCE_DIR "/corpora/regressions")) {
    const std::string path = e.path().string();
    trace::ParseResult r = trace::parse_file(path, registry());
    ASSERT_FALSE(r.error) << path;
    const std::vector<std::string> mutants = cli::declared_mutants(path);
    RunOptions options{.mutants = mutants};
    const std::string signature = failure_signature(r.trace, run(r.trace, options));
    ASSERT_FALSE(signature.empty()) << path;

    // Padding is unrelated only if the padded trace still fails the same
    // way (frag padding can put its own queues' expiry into a reproducer's
    // tick): draw paddings, seeded by the file's name so that adding a
    // reproducer changes no other one's, until one leaves the failure as
    // it was.
    trace::Trace padded;
    bool unrelated = false;
    for (uint64_t draw = 0; draw < 20 && !unrelated; ++draw) {
      std::mt19937_64 rng(trace::op_id(e.path().filename().string()) + draw);
      padded = r.trace;
      for (uint64_t seed = 1; padded.ops.size() < r.trace.ops.size() + 50; ++seed) {
        for (trace::Op& op : padding(seed + 1000 * draw)) {
          if (padded.ops.size() >= r.trace.ops.size() + 50) break;
          // Between sections only: an op inside a run of go and sched lines
          // would end it there, and the rest of its schedule would mean
          // something else.
          auto in_section = [&](size_t i) {
            return i < padded.ops.size() &&
                   (padded.ops[i].async || padded.ops[i].spec->runner_only);
          };
          size_t at = rng() % (padded.ops.size() + 1);
          while (at > 0 && in_section(at - 1) && in_section(at)) --at;
          padded.ops.insert(padded.ops.begin() + at, std::move(op));
        }
      }
      padded = trace::parse(trace::print(padded), registry()).trace;
      unrelated = failure_signature(padded, run(padded, options)) == signature;
    }
    ASSERT_TRUE(unrelated) << path << ": no padding of 20 left its failure as it was";

    auto result = minimize(padded, {.mutants = mutants});
    ASSERT_TRUE(result) << path;
    EXPECT_EQ(result->signature, signature) << path;
    EXPECT_LE(result->trace.ops.size(), r.trace.ops.size()) << path << " minimized to\n"
                                                            << trace::print(result->trace);
    ++checked;
  }
  EXPECT_GE(checked, 6u);
}

TEST(Minimize, PassingTraceIsNotMinimized) {
  trace::ParseResult r = trace::parse("frag init v4 id=1 off=0 len=8 mf=1\n", registry());
  EXPECT_FALSE(minimize(r.trace, {}).has_value());
}

TEST(Minimize, IsDeterministic) {
  trace::ParseResult r =
      trace::parse_file(NV_SOURCE_DIR "/corpora/regressions/overlap-accept.trace", registry());
  auto a = minimize(r.trace, {.mutants = {"frag-overlap-accept"}});
  auto b = minimize(r.trace, {.mutants = {"frag-overlap-accept"}});
  ASSERT_TRUE(a && b);
  EXPECT_EQ(trace::print(a->trace), trace::print(b->trace));
}

// A run of the caller's (kernel-fuzz puts the kernel in the loop) decides
// what fails, and a budget of candidates stops the reduction early with the
// smallest failing trace found so far.
TEST(Minimize, TheCallersRunAndBudget) {
  trace::ParseResult r = trace::parse(
      "frag init v4 id=1 off=0 len=8 mf=1\nfrag init v4 id=2 off=0 len=8 mf=1\n"
      "frag init v4 id=3 off=0 len=8 mf=1\nfrag init v4 id=4 off=0 len=8 mf=1\n",
      registry());
  // "Fails" while the trace holds id=3: a divergence made up at its op.
  size_t calls = 0;
  auto run = [&calls](const trace::Trace& t) {
    ++calls;
    RunResult result;
    for (size_t i = 0; i < t.ops.size(); ++i)
      if (trace::print(t.ops[i]).find("id=3") != std::string::npos)
        result.divergence = Divergence::at(i, t.ops[i]);
    return result;
  };
  auto whole = minimize(r.trace, {.run = run});
  ASSERT_TRUE(whole);
  EXPECT_EQ(trace::print(whole->trace), "netverify-trace 1\nfrag init v4 id=3 off=0 len=0 mf=0\n");
  EXPECT_EQ(calls, whole->runs + 1);  // the input's own run, then each candidate
  auto cut = minimize(r.trace, {.run = run, .max_runs = 1});
  ASSERT_TRUE(cut);
  EXPECT_EQ(cut->runs, 1u);
  EXPECT_LT(cut->trace.ops.size(), r.trace.ops.size());  // the first half went
}

}  // namespace
}  // namespace nv::runner
