#include "runner/runner.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "cli/trace_file.h"
#include "runner/subsystem.h"
#include "runner/test_trace.h"
#include "trace/parser.h"

namespace nv::runner {
namespace {

std::vector<std::string> traces_under(const char* dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.path().extension() == ".trace") out.push_back(e.path().string());
  return out;
}

// kNamedNamespaces (the default) reports every failure exactly as
// kEveryNamespace does, and passes what it passes.
// Every registered op's fields fit an Op's inline arguments (trace/op.h:
// decoding a fuzz input allocates no argument vectors).
TEST(Runner, EveryOpFitsTheInlineArguments) {
  for (const auto& spec : registry().ops())
    EXPECT_LE(spec->fields.size(), trace::Op::kInlineArgs) << spec->name;
}

TEST(Runner, NamedNamespaceCheckReportsAsEveryNamespaceCheck) {
  size_t failing = 0;
  for (const char* dir : {NV_SOURCE_DIR "/corpora/regressions", NV_SOURCE_DIR "/corpora/basic"}) {
    for (const std::string& path : traces_under(dir)) {
      trace::ParseResult r = trace::parse_file(path, registry());
      ASSERT_FALSE(r.error) << path;
      RunOptions every{.state_check = StateCheck::kEveryNamespace,
                       .mutants = cli::declared_mutants(path)};
      RunOptions named = every;
      named.state_check = StateCheck::kNamedNamespaces;
      const RunResult a = run(r.trace, every), b = run(r.trace, named);
      EXPECT_EQ(format_failure(a), format_failure(b)) << path;
      EXPECT_EQ(a.ops_run, b.ops_run) << path;
      failing += !a.ok();
    }
  }
  EXPECT_GE(failing, 6u);  // every regression reproducer fails
}

// A section whose linearizability the budget cannot decide is reported as
// undecided, at an op the search's longest prefix had not placed: the
// diagnostic replays the prefix on a copy of the model and then that op,
// never an op of the prefix a second time (an skb freed twice).
TEST(Runner, UndecidedSectionIsReportedAtAnUnplacedOp) {
  const trace::Trace t = parse_valid(
      "netverify-trace 1\n"
      "skb alloc a cpu=0\nskb alloc b cpu=0\nskb alloc c cpu=0\n"
      "go skb free a cpu=1\ngo skb free b cpu=2\ngo skb free c cpu=3\n"
      "go cpu rx 0\ngo cpu rx 0\n");
  const RunResult r = run(t, {.max_states = 2});
  ASSERT_TRUE(r.divergence);
  EXPECT_TRUE(r.divergence->undecided);
  EXPECT_TRUE(run(t, {}).ok());  // decided with the default budget
}

// RunResult::deliveries counts the first engine's deliveries, those of a
// concurrent section too (replay's ok line prints it).
TEST(Runner, CountsDeliveriesOfConcurrentSections) {
  const trace::Trace t = parse_valid(
      "netverify-trace 1\n"
      "frag init v4 id=1 off=0 len=16 mf=1\nfrag init v4 id=2 off=0 len=16 mf=1\n"
      "go frag init v4 id=1 off=16 len=8 mf=0\ngo frag init v4 id=2 off=16 len=8 mf=0\n"
      "frag init v4 id=3 off=0 len=8 mf=0\n");
  const RunResult r = run(t, {});
  ASSERT_TRUE(r.ok()) << format_failure(r);
  EXPECT_EQ(r.deliveries, 3u);
}

// A trace parsed as it runs (trace::Parser, what `netverify replay` does)
// gives the run of the parsed trace, failures and their re-runs included.
TEST(Runner, StreamedTraceRunsAsTheParsedOne) {
  size_t checked = 0;
  for (const char* dir : {NV_SOURCE_DIR "/corpora/regressions", NV_SOURCE_DIR "/corpora/basic"}) {
    for (const std::string& path : traces_under(dir)) {
      std::ifstream in(path);
      const std::string text((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
      const trace::ParseResult r = trace::parse(text, registry());
      ASSERT_FALSE(r.error) << path;
      trace::Parser ops(text, registry());
      for (StateCheck check : {StateCheck::kNamedNamespaces, StateCheck::kEveryNamespace}) {
        RunOptions options{.state_check = check, .mutants = cli::declared_mutants(path)};
        ops.rewind();
        const RunResult a = run(r.trace, options), b = run(ops, options);
        EXPECT_EQ(format_failure(a), format_failure(b)) << path;
        EXPECT_EQ(a.ops_run, b.ops_run) << path;
        EXPECT_EQ(a.deliveries, b.deliveries) << path;
      }
      ++checked;
    }
  }
  EXPECT_GE(checked, 20u);
}

// Each regression reproducer fails, with its mutant, with the signature it
// declares ("# signature:"): signatures tell the six mutants apart, and do
// not drift unnoticed (campaigns and minimize key on them).
TEST(Runner, RegressionsFailWithTheirDeclaredSignatures) {
  std::set<std::string> seen;
  for (const std::string& path : traces_under(NV_SOURCE_DIR "/corpora/regressions")) {
    trace::ParseResult r = trace::parse_file(path, registry());
    ASSERT_FALSE(r.error) << path;
    const std::vector<std::string> declared = cli::declared(path, "# signature:");
    ASSERT_EQ(declared.size(), 1u) << path;
    EXPECT_EQ(failure_signature(r.trace, run(r.trace, {.mutants = cli::declared_mutants(path)})),
              declared[0])
        << path;
    EXPECT_TRUE(seen.insert(declared[0]).second) << path << " shares its signature";
  }
  EXPECT_GE(seen.size(), 6u);
}

// Engine::digest() is the sum of digest(ns) over live namespaces, and a
// namespace that does not exist digests to 0, after every op of every
// trace in corpora/basic (each op followed by settle, as the runner does,
// so that no unnamed dying namespace is left between ops), for every engine.
TEST(Runner, EngineDigestIsTheSumOverNamespaces) {
  for (const std::string& path : traces_under(NV_SOURCE_DIR "/corpora/basic")) {
    trace::ParseResult r = trace::parse_file(path, registry());
    ASSERT_FALSE(r.error) << path;
    for (EngineKind kind : {EngineKind::kModel, EngineKind::kImpl}) {
      auto engine = make_engine(kind);
      std::vector<trace::Event> events;
      for (const trace::Op& op : r.trace.ops) {
        if (op.spec->expect) continue;
        engine->apply(op, events);
        engine->settle(events);
        trace::Snapshot snap;
        engine->snapshot(snap);
        uint64_t sum = 0;
        for (const auto& [ns, values] : snap.ns) {
          sum += engine->digest(ns);
          trace::Snapshot one;
          engine->snapshot(ns, one);
          if (ns.find('#') == std::string::npos) {  // bound: snapshot(ns) finds it by name
            ASSERT_EQ(one.ns, (decltype(one.ns){{ns, values}})) << path << ":" << op.line;
          }
        }
        ASSERT_EQ(engine->digest(), sum) << path << ":" << op.line;
        ASSERT_EQ(engine->digest("no-such-namespace"), 0u);
        trace::Snapshot none;
        engine->snapshot("no-such-namespace", none);
        ASSERT_TRUE(none.ns.empty());
      }
    }
  }
}

// The signature of a divergence names what one engine observed and the
// other did not: events both observed in the same op (another queue that
// expired in the same tick, before or after) leave it unchanged.
TEST(Runner, SignatureIgnoresEventsBothEnginesObserved) {
  trace::ParseResult r = trace::parse("netverify-trace 1\ntick 30s\n", registry());
  ASSERT_FALSE(r.error);
  auto timeout = [](uint64_t id) {
    trace::Event e{"kill", {}};
    e.add("ns", "init").add("id", id).add("reason", "timeout");
    return e;
  };
  auto signature = [&](std::vector<trace::Event> model, std::vector<trace::Event> impl) {
    RunResult result;
    result.divergence = Divergence{.events = {std::move(model), std::move(impl)}};
    return failure_signature(r.trace, result);
  };
  const std::string alone = signature({timeout(1)}, {});
  EXPECT_EQ(alone, "divergence:tick:kill.timeout/none");
  EXPECT_EQ(signature({timeout(1), timeout(2)}, {timeout(2)}), alone);
  EXPECT_EQ(signature({timeout(2), timeout(1)}, {timeout(2)}), alone);
  EXPECT_EQ(signature({timeout(2), timeout(1), timeout(3)}, {timeout(3), timeout(2)}), alone);
  // The same events in another order: at the first position they differ.
  EXPECT_EQ(signature({timeout(1), timeout(2)}, {timeout(2), timeout(1)}),
            "divergence:tick:kill.timeout[id]");
}

}  // namespace
}  // namespace nv::runner
