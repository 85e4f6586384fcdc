// pcap files through libpcap: writing a capture (pcap export, and the kernel
// engine's recording of lo), reading one back (pcap import), and finding the
// IP packet inside a frame of the link types netverify reads.
//
// Link types are libpcap's DLT_* values; the ones named here are those
// network_layer() understands: Ethernet (with 802.1Q tags), raw IP, raw
// IPv4/IPv6, and Linux cooked captures v1 and v2 (`tcpdump -i any`).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace nv::kernel {

enum LinkType : int {
  kLinkEthernet = 1,    // DLT_EN10MB
  kLinkRaw = 12,        // DLT_RAW (LINKTYPE_RAW, 101, in files)
  kLinkLinuxSll = 113,  // DLT_LINUX_SLL
  kLinkIpv4 = 228,      // DLT_IPV4
  kLinkIpv6 = 229,      // DLT_IPV6
  kLinkLinuxSll2 = 276  // DLT_LINUX_SLL2
};

// Large enough for the largest frame on lo (14 + 40 + 65535 bytes).
inline constexpr int kSnapLen = 65600;

struct PcapPacket {
  uint64_t ts_us = 0;  // since the epoch
  uint32_t wire_len = 0;
  std::vector<uint8_t> bytes;  // as captured (possibly fewer than wire_len)
};

class PcapWriter {
 public:
  static std::unique_ptr<PcapWriter> open(const std::string& path, LinkType link,
                                          std::string* error);
  ~PcapWriter();
  void write(std::span<const uint8_t> frame, uint64_t ts_us);
  // Flushes and closes; false if anything failed to reach the file.
  bool close(std::string* error);

 private:
  struct Handles;
  explicit PcapWriter(std::unique_ptr<Handles> h);
  std::unique_ptr<Handles> h_;
};

// Reads every packet of a capture file.
bool read_pcap(const std::string& path, int* link, std::vector<PcapPacket>* out,
               std::string* error);

// The IPv4 or IPv6 packet in a frame, or std::nullopt (another protocol, an
// unknown link type, a truncated link header).
std::optional<std::span<const uint8_t>> network_layer(int link, std::span<const uint8_t> frame);

// A live capture of a device in the current network namespace, written to a
// file as it goes: open(), then poll() after traffic (non-blocking), then
// close(). Only received IPv4 and IPv6 frames are kept ("ip or ip6",
// PCAP_D_IN): on lo every frame is seen twice otherwise, once leaving and
// once arriving.
class LiveCapture {
 public:
  static std::unique_ptr<LiveCapture> open(const std::string& device, const std::string& path,
                                           std::string* error);
  ~LiveCapture();
  bool poll(std::string* error);
  bool close(std::string* error);

 private:
  struct Handles;
  explicit LiveCapture(std::unique_ptr<Handles> h);
  std::unique_ptr<Handles> h_;
};

}  // namespace nv::kernel
