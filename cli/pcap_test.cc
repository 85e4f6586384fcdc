// netverify pcap-export and pcap-import: a trace exported and imported gives
// back its fragments (and ticks); a capture of lo taken while the kernel
// engine ran a trace imports to that trace's fragments.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "cli/cli_test_util.h"
#include "runner/subsystem.h"
#include "trace/frag/frag_ops.h"
#include "trace/parser.h"
#include "trace/printer.h"

namespace nv {
namespace {

using cli_test::Result;
using cli_test::write_temp;

// stdout only: some commands write a trace there and progress on stderr.
Result run(const std::string& args) {
  return cli_test::netverify(args, /*stdout_only=*/true);
}

// Each frag and tick of a trace, as what goes on the wire: every field with
// defaults applied and the payload bytes (so data=pattern equals its hex).
std::vector<std::string> wire_ops(const std::string& text, bool with_ticks) {
  nv::trace::ParseResult r = nv::trace::parse(text, nv::runner::registry());
  EXPECT_FALSE(r.error) << (r.error ? r.error->message : "") << "\n" << text.substr(0, 500);
  std::vector<std::string> out;
  for (const nv::trace::Op& op : r.trace.ops) {
    if (op.spec->name == "tick" && with_ticks) out.push_back(nv::trace::print(op));
    if (op.spec->name != "frag") continue;
    nv::frag::Fragment f = nv::frag::fragment_of(op);
    std::vector<uint8_t> payload(f.len);
    nv::frag::fill_payload(f, payload.data());
    std::string s = std::string(nv::frag::family_name(f.family)) + " id=" + std::to_string(f.id) +
                    " off=" + std::to_string(f.off) + " len=" + std::to_string(f.len) +
                    " mf=" + std::to_string(f.mf) + " src=" + nv::trace::format_addr(f.src) +
                    " dst=" + nv::trace::format_addr(f.dst) + " proto=" + std::to_string(f.proto) +
                    " ext=" + std::to_string(f.ext) + " bytes=";
    for (uint8_t b : payload) s += std::to_string(b) + ",";
    out.push_back(s);
  }
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

const char* kTrace =
    "netverify-trace 1\n"
    "frag init v4 id=1 off=8 len=13 mf=1 src=10.1.2.3 dst=10.3.2.1 proto=17\n"
    "frag init v4 id=1 off=0 len=8 mf=1 data=fill:7f\n"
    "tick 1500ms\n"
    "frag init v6 id=4000000000 off=0 len=16 mf=1 src=2001:db8::1 "
    "data=hex:000102030405060708090a0b0c0d0e0f\n"
    "sysctl init ipv4.ipfrag_time 5\n"
    "frag init v6 id=4000000000 off=16 len=0 mf=0 ext=dst+rt\n"
    "tick 2m\n"
    "frag init v6 id=9 off=0 len=8 mf=0 proto=17\n"
    "frag init v4 id=65535 off=65528 len=7 mf=0 opt=ra\n"
    "frag init v6 id=10 off=8 len=65527 mf=0\n"
    "frag init v6 id=10 off=8 len=65519 mf=0 ext=hbh\n";

TEST(Pcap, ExportThenImportGivesBackTheFragments) {
  const std::string trace = write_temp("pcap_rt.trace", kTrace);
  for (const char* link : {"ether", "raw"}) {
    const std::string pcap = testing::TempDir() + "pcap_rt_" + link + ".pcap";
    Result e = run("pcap-export " + trace + " -o " + pcap + " --link " + link);
    ASSERT_EQ(e.status, 0) << e.out;
    EXPECT_EQ(e.out, "wrote 8 packets over 121500ms to " + pcap + "\n");
    Result i = run("pcap-import " + pcap);
    ASSERT_EQ(i.status, 0) << i.out;
    EXPECT_EQ(i.out.rfind("# netverify pcap-import " + pcap + ": 8 frames, 8 fragments\n", 0), 0u)
        << i.out.substr(0, 300);
    EXPECT_EQ(wire_ops(i.out, true), wire_ops(kTrace, true)) << link;
  }
}

TEST(Pcap, WholeV4PacketsOnlyWithWhole) {
  const std::string trace =
      write_temp("pcap_whole.trace",
                 "frag init v4 id=3 off=0 len=8 mf=0\nfrag init v4 id=4 off=0 len=8 mf=1\n");
  const std::string pcap = testing::TempDir() + "pcap_whole.pcap";
  ASSERT_EQ(run("pcap-export " + trace + " -o " + pcap).status, 0);
  Result i = run("pcap-import " + pcap);
  EXPECT_NE(i.out.find("# skipped 1: IPv4 not fragmented\n"), std::string::npos) << i.out;
  EXPECT_EQ(wire_ops(i.out, false).size(), 1u);
  i = run("pcap-import " + pcap + " --whole --ns other");
  EXPECT_NE(i.out.find("netns add other\nfrag other v4 id=3 off=0 len=8 mf=0"), std::string::npos)
      << i.out;
  EXPECT_EQ(wire_ops(i.out, false).size(), 2u);
}

TEST(Pcap, Errors) {
  EXPECT_EQ(run("pcap-import /nonexistent.pcap 2>/dev/null").status, 2);
  const std::string trace = write_temp("pcap_err.trace", "frag init v4 id=3 off=0 len=8 mf=1\n");
  EXPECT_EQ(run("pcap-export " + trace + " 2>/dev/null").status, 2);  // no -o
  EXPECT_EQ(run("pcap-export " + trace + " -o x.pcap --link fddi 2>/dev/null").status, 2);
}

TEST(Pcap, CaptureOfTheKernelEngineImportsToTheTrace) {
  for (const char* name : {"ids-mixed-families", "order-v4-mtu", "inside-v6-across-two-runs",
                           "big-v6-ends-65535", "len-v6-odd-refused", "order-v4-not-fragmented"}) {
    const std::string trace = std::string(NV_SOURCE_DIR) + "/corpora/kernel/" + name + ".trace";
    const std::string pcap = testing::TempDir() + "capture_" + name + ".pcap";
    Result k = run("kernel " + trace + " --capture " + pcap + " 2>&1");
    if (k.status == 77) GTEST_SKIP() << k.out;
    ASSERT_EQ(k.status, 0) << k.out;
    Result i = run("pcap-import " + pcap + " --whole");
    ASSERT_EQ(i.status, 0) << i.out;
    EXPECT_EQ(wire_ops(i.out, false), wire_ops(read_file(trace), false)) << name;
  }
}

}  // namespace
}  // namespace nv
