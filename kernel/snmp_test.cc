#include "kernel/snmp.h"

#include <gtest/gtest.h>

namespace nv::kernel {
namespace {

TEST(Snmp, TablePairsBecomeNstatNames) {
  CounterMap m;
  parse_snmp_table(
      "Ip: Forwarding DefaultTTL ReasmTimeout ReasmReqds ReasmOKs ReasmFails\n"
      "Ip: 2 64 1 7 2 3\n"
      "Icmp: InMsgs InErrors\n"
      "Icmp: 5 0\n"
      "IpExt: InNoRoutes ReasmOverlaps\n"
      "IpExt: 0 4\n",
      m);
  EXPECT_EQ(m.at("IpReasmReqds"), 7u);
  EXPECT_EQ(m.at("IpReasmTimeout"), 1u);
  EXPECT_EQ(m.at("IpReasmFails"), 3u);
  EXPECT_EQ(m.at("IcmpInMsgs"), 5u);
  EXPECT_EQ(m.at("IpExtReasmOverlaps"), 4u);
}

TEST(Snmp, MismatchedOrTruncatedTablesAreSkipped) {
  CounterMap m;
  parse_snmp_table("Ip: A B\nTcp: 1 2\nIp: C\n", m);
  EXPECT_TRUE(m.empty());
}

TEST(Snmp, Snmp6Lines) {
  CounterMap m;
  parse_snmp6(
      "Ip6InReceives                   \t12\n"
      "Ip6ReasmReqds                   \t3\n"
      "Ip6ReasmOKs\t1\n"
      "garbage line here\n",
      m);
  EXPECT_EQ(m.at("Ip6ReasmReqds"), 3u);
  EXPECT_EQ(m.at("Ip6ReasmOKs"), 1u);
  EXPECT_EQ(m.size(), 3u);
}

TEST(Snmp, CounterOrderIsTheEventOrder) {
  EXPECT_EQ(kFragCounters[0], "IpReasmReqds");
  EXPECT_EQ(kFragCounters[4], "IpExtReasmOverlaps");
  EXPECT_EQ(kFragCounters[8], "Ip6ReasmTimeout");
  EXPECT_EQ(kFragCounters[9], "IpInHdrErrors");
  EXPECT_EQ(kFragCounters[10], "Ip6InHdrErrors");
}

TEST(Snmp, ProcCountersReadThisNamespace) {
  ProcCounters proc;
  std::string error;
  ASSERT_TRUE(proc.open(&error)) << error;
  CounterMap a, b;
  ASSERT_TRUE(proc.read(a, &error)) << error;
  ASSERT_TRUE(proc.read(b, &error)) << error;  // re-readable
  EXPECT_EQ(a.size(), kFragCounters.size());
  EXPECT_EQ(a.count("Ip6ReasmOKs"), 1u);
}

}  // namespace
}  // namespace nv::kernel
