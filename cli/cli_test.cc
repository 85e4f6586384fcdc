// The netverify command, run as a user runs it: output matched, exit status
// checked.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "cli/cli_test_util.h"

namespace nv {
namespace {

using cli_test::corpus;
using cli_test::Result;
using cli_test::write_temp;

Result run(const std::string& args) {
  return cli_test::netverify(args);
}

TEST(Cli, ReplayAgreeingTrace) {
  Result r = run("replay " + corpus("basic/v4-in-order.trace"));
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("line 7: deliver ns=init family=v4 src=127.0.0.1 dst=127.0.0.1 proto=253 "
                       "id=1 len=40"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("ok: 9 operations, 1 deliveries; model, impl agree"), std::string::npos);
}

TEST(Cli, ReplayJsonEvents) {
  Result r = run("replay " + corpus("basic/v4-in-order.trace") + " --json --engine model");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(
      r.out.find("{\"event\":\"deliver\",\"engine\":\"model\",\"line\":7,\"ns\":\"init\","
                 "\"family\":\"v4\",\"src\":\"127.0.0.1\",\"dst\":\"127.0.0.1\",\"proto\":253,"
                 "\"id\":1,\"len\":40,\"fnv1a64\":\""),
      std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("{\"event\":\"counters\",\"engine\":\"model\",\"line\":0,\"ns\":\"init\","
                       "\"IpReasmReqds\":3,\"IpReasmOKs\":1,"),
            std::string::npos)
      << r.out;
}

TEST(Cli, ReplayWithMutantDiverges) {
  Result r = run("replay " + corpus("regressions/no-trim.trace") + " --inject frag-no-trim");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("DIVERGENCE at line 5: frag init v4 id=1 off=8 len=8 mf=0"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("reproduce: netverify replay " + corpus("regressions/no-trim.trace") +
                       " --inject frag-no-trim"),
            std::string::npos);
}

// --design picks an impl design; a failure's reproduce line keeps it; a
// design the subsystem does not have is a command-line error.
TEST(Cli, ReplayInADesign) {
  for (const char* design : {"worker", "timer", "rcu"})
    EXPECT_EQ(run("replay " + corpus("basic/dst-devices.trace") + " --design dst=" + design).status,
              0)
        << design;
  const std::string busy = corpus("regressions/dst-ifdown-busy-only.trace");
  Result r = run("replay " + busy + " --inject dst-ifdown-busy-only --design dst=worker");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("reproduce: netverify replay " + busy +
                       " --inject dst-ifdown-busy-only --design dst=worker"),
            std::string::npos)
      << r.out;
  r = run("replay " + busy + " --design dst=nope");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("unknown design 'nope' of dst (known: worker, timer, rcu)"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(run("replay " + busy + " --design frag=old").status, 2);
  EXPECT_EQ(run("replay " + busy + " --design dst").status, 2);
}

// The eviction policy (docs/trace.md, "Eviction policy") runs in the
// global design, whose expectations it meets; today's design refuses the
// run at the policy's line (exit 2), and so does the kernel engine.
TEST(Cli, EvictionPolicyRunsInTheGlobalDesign) {
  const std::string path =
      write_temp("evict-lru.trace",
                 "netverify-trace 1\n"
                 "# The global table's eviction policy (before Linux 4.17; docs/trace.md,\n"
                 "# \"Eviction policy\"): over high_thresh the namespace's least recently used\n"
                 "# queues of the family are evicted down to low_thresh, each a reassembly\n"
                 "# failure, and the fragment is then queued. A queue is used when created and\n"
                 "# whenever a fragment is queued in it. Each queue here is 200 + 832 bytes.\n"
                 "# Runs in the global design only (today's has no evictor).\n"
                 "netns add other\n"
                 "policy frag evict\n"
                 "sysctl init ipv4.ipfrag_low_thresh 2064\n"
                 "sysctl init ipv4.ipfrag_high_thresh 3096\n"
                 "frag init v4 id=1 off=0 len=8 mf=1\n"
                 "frag init v4 id=2 off=0 len=8 mf=1\n"
                 "frag init v4 id=3 off=0 len=8 mf=1\n"
                 "# Another namespace's memory is its own: nothing of it is evicted.\n"
                 "frag other v4 id=9 off=0 len=8 mf=1\n"
                 "# id 1 gets a fragment: now the most recently used. 3928 bytes > 3096.\n"
                 "frag init v4 id=1 off=8 len=8 mf=1\n"
                 "expect mem init v4 3928\n"
                 "# The next fragment evicts id 2, then id 3 (1864 <= 2064), then is queued.\n"
                 "frag init v4 id=4 off=0 len=8 mf=1\n"
                 "expect counter init IpReasmFails 2\n"
                 "expect mem init v4 2896\n"
                 "frag init v4 id=1 off=16 len=8 mf=0\n"
                 "expect deliver init v4 id=1 len=24\n"
                 "expect nodeliver init v4 id=2\n"
                 "expect mem other v4 1032\n"
                 "# Back to today's policy: above high_thresh a fragment is refused.\n"
                 "policy frag refuse\n"
                 "sysctl init ipv4.ipfrag_high_thresh 2064\n"
                 "frag init v4 id=5 off=0 len=8 mf=1\n"
                 "frag init v4 id=6 off=0 len=8 mf=1\n"
                 "frag init v4 id=7 off=0 len=8 mf=1\n"
                 "expect counter init IpReasmFails 3\n");
  Result r = run("replay " + path + " --design frag=global");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("kill ns=init family=v4 id=2 reason=evict"), std::string::npos) << r.out;
  // The policy line takes a run that left the design free to the global
  // design, and each event is streamed once.
  r = run("replay " + path);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("agree; frag in its global design (line 9)"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("pernet-init op=frag ns=other"), r.out.rfind("pernet-init op=frag ns=other"))
      << r.out;
  r = run("replay " + path + " --design frag=pernet");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find(path + ":9:1: the pernet design of frag (today's) has no evictor"),
            std::string::npos)
      << r.out;
  r = run("replay " + path + " --engine kernel");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("the running kernel refuses fragments above high_thresh"), std::string::npos)
      << r.out;
}

TEST(Cli, FailedExpectationExitsOne) {
  std::string path = write_temp("expect.trace",
                                "frag init v4 id=1 off=0 len=8 mf=1\n"
                                "expect deliver init v4 id=1\n");
  Result r = run("replay " + path);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("EXPECTATION FAILED at line 2 (model): expect deliver init v4 id=1"),
            std::string::npos)
      << r.out;
}

TEST(Cli, InvalidTraceExitsTwoWithPosition) {
  std::string path =
      write_temp("bad.trace", "netverify-trace 1\nfrag init v4 id=1 off=3 len=8 mf=1\n");
  Result r = run("replay " + path);
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.out, path + ":2:19: 'off' must be a multiple of 8\n");
  EXPECT_EQ(run("replay /nonexistent.trace").status, 2);
}

TEST(Cli, MutantsRefusesPathsItCannotRead) {
  for (const char* flag : {"--dict", "--fuzzer", "--seeds"}) {
    Result r = run(std::string("mutants --seconds 1 ") + flag + " /nonexistent/x");
    EXPECT_EQ(r.status, 2) << flag;
    EXPECT_EQ(r.out, std::string("netverify mutants: ") + flag +
                         " /nonexistent/x: No such file or directory\n");
  }
}

TEST(Cli, BadCommandLinesExitTwo) {
  EXPECT_EQ(run("replay").status, 2);
  EXPECT_EQ(run("frobnicate").status, 2);
  Result r = run("replay " + corpus("basic/atomic.trace") + " --inject no-such-mutant");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("unknown mutant 'no-such-mutant'"), std::string::npos);
  EXPECT_EQ(run("replay x --engine kernel").status, 2);
  EXPECT_EQ(run("gen --seed x").status, 2);
}

TEST(Cli, HelpForEveryCommand) {
  for (const char* c : {"replay", "check", "gen"}) {
    Result r = run(std::string(c) + " --help");
    EXPECT_EQ(r.status, 0) << c;
    EXPECT_NE(r.out.find(std::string("usage: netverify ") + c), std::string::npos) << r.out;
  }
  EXPECT_EQ(run("help").status, 0);
}

TEST(Cli, GenIsDeterministicAndReplays) {
  Result a = run("gen --seed 11 --size 80"), b = run("gen --seed 11 --size 80");
  EXPECT_EQ(a.status, 0);
  EXPECT_EQ(a.out, b.out);
  EXPECT_NE(a.out, run("gen --seed 12 --size 80").out);
  Result r = run("replay " + write_temp("gen.trace", a.out));
  EXPECT_EQ(r.status, 0) << r.out;
  Result few = run("gen --seed 11 --size 80 --ops 3");
  EXPECT_EQ(std::count(few.out.begin(), few.out.end(), '\n'), 5);  // comment, header, 3 ops
}

// decode --schedules prints what the fuzz target ran: for an input whose
// race fails only under a schedule the harness explored, the trace with
// that schedule written in, which replay reproduces; plain decode prints
// the input's own trace.
TEST(Cli, DecodeSchedulesPrintsTheScheduleThatFailed) {
  const std::string race = write_temp("race.trace",
                                      "netverify-trace 1\n"
                                      "skb alloc a cpu=0\n"
                                      "skb alloc b cpu=0\n"
                                      "skb free a cpu=1\n"
                                      "go cpu rx 0\n"
                                      "go skb free b cpu=1\n");
  const std::string input = ::testing::TempDir() + "race.bin";
  ASSERT_EQ(run("encode --target defer -o " + input + " " + race).status, 0);
  const std::string flags = " --target defer --inject defer-flush-race";
  Result found{1, ""};
  // A trailing "cpu up" (selector 4) changes the input's hash, hence its
  // schedules, and nothing else.
  for (int i = 0; i < 64 && found.out.find("\nsched ") == std::string::npos; ++i) {
    std::ofstream(input, std::ios::app) << char(4) << char(i);
    found = cli_test::netverify("decode " + input + " --schedules" + flags, true);
    ASSERT_EQ(found.status, 0) << found.out;
  }
  ASSERT_NE(found.out.find("\nsched "), std::string::npos) << found.out;
  const Result plain = cli_test::netverify("decode " + input + flags, true);
  EXPECT_EQ(plain.out.find("\nsched "), std::string::npos) << plain.out;
  const std::string failing = write_temp("race-failing.trace", found.out);
  EXPECT_EQ(run("replay " + failing + " --inject defer-flush-race").status, 1);
  EXPECT_EQ(run("replay " + failing).status, 0);
}

TEST(Cli, CheckSummarizesADirectory) {
  Result r = run("check " + corpus("regressions"));
  EXPECT_EQ(r.status, 0) << r.out;
  size_t traces = 0;
  for (const auto& e : std::filesystem::directory_iterator(corpus("regressions")))
    traces += e.path().extension() == ".trace";
  EXPECT_NE(r.out.find(std::to_string(traces) + " traces"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ok, detects 1 mutant"), std::string::npos);
  EXPECT_EQ(run("check /nonexistent-dir").status, 2);
}

}  // namespace
}  // namespace nv
