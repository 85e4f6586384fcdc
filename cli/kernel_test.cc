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

TEST(KernelCli, JsonV6DeliveryHasNoId) {
  Result r = run("kernel " + corpus("kernel/order-v6-in-order.trace") + " --json");
  SKIP_IF_NO_KERNEL(r);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("{\"event\":\"deliver\",\"engine\":\"kernel\",\"line\":5,\"ns\":\"init\","
                       "\"family\":\"v6\",\"src\":\"::1\",\"dst\":\"::1\",\"proto\":253,"
                       "\"len\":40,\"fnv1a64\":\""),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("{\"event\":\"counters\",\"engine\":\"kernel\",\"line\":0,\"ns\":\"init\","
                       "\"IpReasmReqds\":0,"),
            std::string::npos)
      << r.out;
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

TEST(KernelCli, Help) {
  for (const char* c : {"kernel", "kernel-check", "pcap-import", "pcap-export"}) {
    Result r = run(std::string(c) + " --help");
    EXPECT_EQ(r.status, 0) << c;
    EXPECT_NE(r.out.find(std::string("usage: netverify ") + c), std::string::npos) << r.out;
  }
  Result r = run("replay --help");
  EXPECT_NE(r.out.find("--max-sleep S"), std::string::npos) << r.out;
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
