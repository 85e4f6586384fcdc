// netverify kernel, kernel-check and replay --engine all, run as a user runs
// them. Tests that need the kernel engine skip where it cannot run (77).
#include <unistd.h>

#include <cstdio>
#include <string>

#include "cli/cli_test_util.h"

namespace nv {
namespace {

using cli_test::corpus;
using cli_test::Result;
using cli_test::sh;

Result run(const std::string& args) {
  return cli_test::netverify(args);
}

#define SKIP_IF_NO_KERNEL(r) \
  if ((r).status == 77) GTEST_SKIP() << (r).out

// Whether the output holds `text` (and the whole output when it does not).
::testing::AssertionResult shows(const Result& r, const std::string& text) {
  if (r.out.find(text) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "no \"" << text << "\" in:\n" << r.out;
}

TEST(KernelCli, PrintsWhatTheKernelDid) {
  Result r = run("kernel " + corpus("kernel/order-v4-in-order.trace"));
  SKIP_IF_NO_KERNEL(r);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("line 5: deliver ns=init family=v4 src=127.0.0.1 dst=127.0.0.1 proto=253 "
                       "id=101 len=40 fnv1a64=42e22edcb8cdb055"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("end: counters ns=init IpReasmReqds=3 IpReasmOKs=1 IpReasmFails=0"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("ok: 3 operations, 1 deliveries; kernel ran"), std::string::npos);
  Result same = run("replay " + corpus("kernel/order-v4-in-order.trace") + " --engine kernel");
  EXPECT_EQ(same.status, 0);
  EXPECT_EQ(same.out, r.out);
}

TEST(KernelCli, JsonV6DeliveryIsTheModels) {
  // The kernel's v6 delivery carries its id (the completing fragment's): the
  // same event as the model's, field for field, but the model's truesize.
  const std::string trace = corpus("kernel/order-v6-in-order.trace");
  Result r = run("kernel " + trace + " --json");
  SKIP_IF_NO_KERNEL(r);
  EXPECT_EQ(r.status, 0) << r.out;
  const std::string fields =
      "\"line\":5,\"ns\":\"init\",\"family\":\"v6\",\"src\":\"::1\",\"dst\":\"::1\","
      "\"proto\":253,\"id\":201,\"len\":40,\"fnv1a64\":\"6ebbfe9eecad95b5\",\"ecn\":\"not-ect\"";
  EXPECT_TRUE(shows(r, "{\"event\":\"deliver\",\"engine\":\"kernel\"," + fields + "}"));
  Result model = run("replay " + trace + " --json");
  EXPECT_TRUE(
      shows(model, "{\"event\":\"deliver\",\"engine\":\"model\"," + fields + ",\"truesize\":832}"));
  EXPECT_TRUE(shows(r,
                    "{\"event\":\"counters\",\"engine\":\"kernel\",\"line\":0,\"ns\":\"init\","
                    "\"IpReasmReqds\":0,"));
}

TEST(KernelCli, RefusedAddressIsFileLineCol) {
  const std::string trace = cli_test::write_temp(
      "undeliverable.trace",
      "netverify-trace 1\n# a comment\nfrag init v4 id=1 off=0 len=8 mf=0 dst=0.0.0.0\n");
  for (const char* command : {"kernel ", "replay --engine all ", "replay --engine kernel "}) {
    Result r = run(command + trace);
    EXPECT_EQ(r.status, 2) << command << r.out;
    EXPECT_TRUE(shows(r, trace + ":3:36: destination 0.0.0.0 is an address of 0.0.0.0/8 "
                                 "(\"this network\"): the kernel never delivers"))
        << command;
    EXPECT_EQ(r.out.find("DIVERGENCE"), std::string::npos) << r.out;
  }
}

TEST(KernelCli, SaysWhichExpectationsItCannotObserve) {
  const std::string trace = cli_test::write_temp("blind.trace",
                                                 "netverify-trace 1\n"
                                                 "frag init v6 id=7 off=0 len=8 mf=0\n"
                                                 "expect deliver init v6 id=7 len=8\n"
                                                 "expect mem init v6 0\n"
                                                 "expect counter init Ip6ReasmOKs 1\n");
  Result r = run("replay " + trace + " --engine all");
  SKIP_IF_NO_KERNEL(r);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_TRUE(shows(r,
                    "the kernel cannot observe 1 expectation, checked against model and impl "
                    "only:\n  line 4: expect mem init v6 0\n"));
  // A kernel expectation that fails is a finding of the kernel's.
  const std::string wrong =
      cli_test::write_temp("wrong.trace",
                           "netverify-trace 1\nfrag init v6 id=7 off=0 len=8 mf=0\n"
                           "expect counter init Ip6ReasmOKs 2\n");
  r = run("kernel " + wrong);
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_TRUE(shows(r,
                    "EXPECTATION FAILED at line 3 (kernel): expect counter init Ip6ReasmOKs 2\n"
                    "    Ip6ReasmOKs is 1"));
}

TEST(KernelCli, ReplayAllAgrees) {
  Result r = run("replay " + corpus("kernel/inside-v4-across-two-runs.trace") + " --engine all");
  SKIP_IF_NO_KERNEL(r);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("model, impl, kernel agree"), std::string::npos) << r.out;
}

TEST(KernelCli, ReplayAllStillComparesModelAndImpl) {
  Result r = run("replay " + corpus("kernel/inside-v4-across-two-runs.trace") +
                 " --engine all --inject frag-overlap-accept");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("DIVERGENCE at line"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("reproduce: netverify replay"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--engine all --inject frag-overlap-accept"), std::string::npos) << r.out;
}

TEST(KernelCli, RefusesTooMuchSleep) {
  Result r = run("kernel " + corpus("kernel/expire-both.trace") + " --max-sleep 1");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("the trace's ticks add up to 2s, more than the kernel engine may sleep (1s"),
            std::string::npos)
      << r.out;
  r = run("replay " + corpus("kernel/expire-both.trace") + " --engine all --max-sleep 500ms");
  EXPECT_EQ(r.status, 2) << r.out;
  r = run("kernel " + corpus("kernel/expire-both.trace") + " --max-sleep soon");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("bad --max-sleep 'soon'"), std::string::npos) << r.out;
}

TEST(KernelCli, InvalidTraceIsExit2) {
  Result r = run("kernel " + corpus("does-not-exist.trace"));
  EXPECT_EQ(r.status, 2) << r.out;
}

// kernel-fuzz with a mutant in the impl: model and impl diverge in some of
// seed 1's first five traces (--traces: the same traces however slow the
// build); each signature is written once, minimized with the kernel in
// the loop, with the command that replays it, and the summary line counts
// every divergent trace and the unique signatures.
TEST(KernelFuzz, FindsMinimizesAndWritesOncePerSignature) {
  const std::string dir = ::testing::TempDir() + "kernel-fuzz";
  sh("rm -rf " + dir);
  Result r = run("kernel-fuzz --seconds 60 --traces 5 --seed 1 --jobs 2 --minimize-runs 3 -o " +
                 dir + " --inject frag-coalesce-head-truesize --corpus " + corpus("kernel"));
  SKIP_IF_NO_KERNEL(r);
  EXPECT_EQ(r.status, 1) << r.out;
  size_t traces = 0, divergences = 0, unique = 0;
  const size_t at = r.out.rfind("kernel-fuzz: ");
  ASSERT_NE(at, std::string::npos) << r.out;
  ASSERT_EQ(std::sscanf(r.out.c_str() + at, "kernel-fuzz: %zu traces, %zu divergences (%zu unique)",
                        &traces, &divergences, &unique),
            3)
      << r.out;
  EXPECT_GE(divergences, 1u);
  EXPECT_GE(divergences, unique);
  EXPECT_GE(traces, divergences);
  Result files = sh("ls " + dir + "/*.trace | grep -v original | wc -l", true);
  EXPECT_EQ(std::stoul(files.out), unique) << r.out;
  // Each replays as it says, failing.
  Result each = sh("for f in $(ls " + dir + "/*.trace | grep -v original); do " + NV_NETVERIFY +
                       " $(sed -n 's/^# replay: netverify //p' $f) >/dev/null 2>&1; echo $?; done",
                   true);
  std::string ones;
  for (size_t i = 0; i < unique; ++i) ones += "1\n";
  EXPECT_EQ(each.out, ones);
  Result minimized = sh("grep -l '^# minimized with the kernel in the loop' " + dir + "/*.trace");
  EXPECT_FALSE(minimized.out.empty()) << r.out;
}

TEST(KernelCli, Help) {
  for (const char* c : {"kernel", "kernel-check", "kernel-fuzz", "pcap-import", "pcap-export"}) {
    Result r = run(std::string(c) + " --help");
    EXPECT_EQ(r.status, 0) << c;
    EXPECT_NE(r.out.find(std::string("usage: netverify ") + c), std::string::npos) << r.out;
  }
  Result r = run("replay --help");
  EXPECT_NE(r.out.find("--max-sleep S"), std::string::npos) << r.out;
}

TEST(KernelCli, SignalEndsTheRunCleanly) {
  // A long run (twenty namespaces, then a 9 s tick) gets SIGTERM once every
  // namespace exists: it ends at once, says so, exits 128 + 15, and nothing
  // of the run holds any of its namespaces afterwards (no process, no
  // descriptor). Only processes of this run count: a namespace's inode
  // number, once freed, may name one that a kernel test running beside this
  // one (ctest -j) creates.
  Result probe = run("kernel " + corpus("kernel/atomic-v6.trace"));
  SKIP_IF_NO_KERNEL(probe);
  const std::string trace = cli_test::write_temp("signal.trace", [] {
    std::string t = "netverify-trace 1\n";
    for (int i = 1; i <= 20; ++i) t += "netns add n" + std::to_string(i) + "\n";
    return t + "tick 9s\n";
  }());
  Result r =
      sh("start=$(date +%s%N); " + std::string(NV_NETVERIFY) + " kernel " + trace +
         " --max-sleep 20 2>&1 >/dev/null & P=$!; C=; "
         "for i in $(seq 100); do C=$(pgrep -P $P); "
         "[ -n \"$C\" ] && [ \"$(ls -l /proc/$C/fd 2>/dev/null | grep -c 'net:\\[')\" -ge 21 ] "
         "&& break; sleep 0.1; done; "
         "NS=$(ls -l /proc/$C/fd | grep -o 'net:\\[[0-9]*\\]' | sort -u); "
         "echo namespaces=$(echo $NS | wc -w); "
         "kill -TERM $P; wait $P; echo status=$?; "
         "echo fast=$(( ($(date +%s%N) - start) / 1000000000 < 5 )); "
         "[ -d /proc/$C ] && echo child-alive; "
         "for n in $NS; do for p in /proc/[0-9]*; do "
         "tr '\\0' ' ' < $p/cmdline 2>/dev/null | grep -qF " +
         trace +
         " || continue; "
         "ls -l $p/fd/ $p/ns/ 2>/dev/null | grep -qF \"$n\" && echo left $n; done; done; true");
  EXPECT_TRUE(shows(r, "namespaces=21\n"));
  EXPECT_TRUE(shows(r,
                    "interrupted by SIGTERM; the kernel engine stopped and closed its "
                    "namespaces"));
  EXPECT_TRUE(shows(r, "status=143\n"));
  EXPECT_TRUE(shows(r, "fast=1\n"));
  EXPECT_EQ(r.out.find("child-alive"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("left "), std::string::npos) << r.out;
}

TEST(KernelCli, KernelCheckSkipsWhenUnprivileged) {
  // As nobody, no namespace can be created: the command says so and exits 77.
  if (geteuid() != 0) GTEST_SKIP() << "needs root to drop privileges";
  if (sh("command -v setpriv").status != 0) GTEST_SKIP() << "no setpriv";
  Result r = sh("setpriv --reuid=65534 --regid=65534 --clear-groups " + std::string(NV_NETVERIFY) +
                " kernel-check " + corpus("kernel"));
  EXPECT_EQ(r.status, 77) << r.out;
  EXPECT_NE(r.out.find("SKIPPED: the kernel engine cannot run here"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace nv
