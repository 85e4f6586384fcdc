#include "kernel/pcap_file.h"

#include <gtest/gtest.h>

namespace nv::kernel {
namespace {

TEST(PcapFile, WriteThenRead) {
  const std::string path = testing::TempDir() + "pcap_file_test.pcap";
  std::string error;
  auto w = PcapWriter::open(path, kLinkRaw, &error);
  ASSERT_TRUE(w) << error;
  std::vector<uint8_t> a(100, 0x45), b(65575, 0x60);
  w->write(a, 1'500'000);
  w->write(b, 2'000'001);
  ASSERT_TRUE(w->close(&error)) << error;
  int link = 0;
  std::vector<PcapPacket> got;
  ASSERT_TRUE(read_pcap(path, &link, &got, &error)) << error;
  EXPECT_EQ(link, kLinkRaw);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].ts_us, 1'500'000u);
  EXPECT_EQ(got[0].bytes, a);
  EXPECT_EQ(got[1].ts_us, 2'000'001u);
  EXPECT_EQ(got[1].bytes, b);  // the largest v6 packet fits the snap length
}

TEST(PcapFile, MissingFileIsAnError) {
  int link;
  std::vector<PcapPacket> got;
  std::string error;
  EXPECT_FALSE(read_pcap("/nonexistent/x.pcap", &link, &got, &error));
  EXPECT_FALSE(error.empty());
}

TEST(PcapFile, NetworkLayerOfEachLinkType) {
  const std::vector<uint8_t> ip = {0x45, 1, 2, 3};
  auto with = [&](std::vector<uint8_t> head) {
    head.insert(head.end(), ip.begin(), ip.end());
    return head;
  };
  auto same = [&](std::optional<std::span<const uint8_t>> got) {
    return got && std::vector<uint8_t>(got->begin(), got->end()) == ip;
  };
  std::vector<uint8_t> eth(12, 0);
  eth.push_back(0x08);
  eth.push_back(0x00);
  EXPECT_TRUE(same(network_layer(kLinkEthernet, with(eth))));
  std::vector<uint8_t> vlan(12, 0);
  for (uint8_t b : {0x81, 0x00, 0x00, 0x05, 0x86, 0xdd}) vlan.push_back(b);
  EXPECT_TRUE(same(network_layer(kLinkEthernet, with(vlan))));
  std::vector<uint8_t> arp(12, 0);
  arp.push_back(0x08);
  arp.push_back(0x06);
  EXPECT_FALSE(network_layer(kLinkEthernet, with(arp)));
  std::vector<uint8_t> sll(16, 0);
  sll[14] = 0x08;
  EXPECT_TRUE(same(network_layer(kLinkLinuxSll, with(sll))));
  std::vector<uint8_t> sll2(20, 0);
  sll2[0] = 0x86;
  sll2[1] = 0xdd;
  EXPECT_TRUE(same(network_layer(kLinkLinuxSll2, with(sll2))));
  EXPECT_TRUE(same(network_layer(kLinkRaw, ip)));
  EXPECT_FALSE(network_layer(147, ip));  // a user link type
  EXPECT_FALSE(network_layer(kLinkEthernet, std::vector<uint8_t>(5, 0)));
}

}  // namespace
}  // namespace nv::kernel
