// The wire form of a trace fragment: the exact IPv4 or IPv6 packet a `frag`
// line stands for (../shared/TRACE_FORMAT.md, "Fragments"), and the way back
// from a captured packet to a fragment.
//
// v4: a 20-byte header (version 4, TOS the ECN codepoint, total length
// 20+len and its options', the id, flags DF and MF as given, TTL 255, the
// protocol, a valid header checksum), the options `opt` names, then the
// payload. v6: a 40-byte header (payload
// length 8+len and its extension headers', hop limit 255), the extension
// headers `ext` names (8 bytes each, in RFC 8200's order), an 8-byte
// Fragment header (next header = proto, offset and M, the id), then the
// payload. The kernel
// engine sends these bytes on the loopback device; pcap export writes them;
// pcap import parses them back with parse_packet().
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "trace/frag/frag_ops.h"
#include "trace/value.h"

namespace nv::kernel {

inline constexpr uint16_t kEthertypeIpv4 = 0x0800;
inline constexpr uint16_t kEthertypeIpv6 = 0x86dd;
inline constexpr size_t kEthHeaderLen = 14;
// TTL and hop limit: the trace format leaves them open. 255 tells the
// kernel engine's datagrams from those the kernel itself sends (64).
inline constexpr uint8_t kWireTtl = 255;

// The network-layer bytes of the fragment (header(s) then payload).
std::vector<uint8_t> frag_packet(const frag::Fragment& f);

// The same, behind a 14-byte Ethernet header with both addresses zero (as
// the loopback device has them) and the family's ethertype.
std::vector<uint8_t> frag_frame(const frag::Fragment& f);

// RFC 1071 Internet checksum of the bytes.
uint16_t inet_checksum(const uint8_t* p, size_t n);

// A packet read back from the wire.
struct WireFragment {
  frag::Family family = frag::Family::kV4;
  uint32_t id = 0;
  uint32_t off = 0;
  bool mf = false;
  trace::Addr src, dst;
  uint8_t proto = 0;
  uint8_t ecn = 0;  // the ECN codepoint (the TOS's or traffic class's low bits)
  bool df = false;  // v4: Don't Fragment
  // v4 its options (kOptNames), v6 its extension headers before the
  // Fragment header (kExtNames' bits): Fragment::ext.
  uint8_t ext = 0;
  std::vector<uint8_t> payload;

  // v4 with offset 0 and MF clear is a whole datagram, not a fragment.
  bool is_fragment() const { return family == frag::Family::kV6 || off != 0 || mf; }
};

// Parses a network-layer packet (IPv4 or IPv6 by its version nibble). Returns
// std::nullopt and sets *why when the packet has no trace form: not IP,
// truncated, IPv4 options other than kOptNames' (as frag_packet writes them,
// or as the receiving kernel leaves a record route or timestamp), IPv6
// without a Fragment header right after the fixed header and the extension
// headers kExtNames names (as frag_packet writes them), an IPv6 jumbogram. Bytes after the IP total
// length (link padding) are ignored. `quoted`: the packet as an ICMP error quotes it, possibly cut
// short after its headers (v4: 8 bytes of data); its payload is what is there.
std::optional<WireFragment> parse_packet(const uint8_t* p, size_t n, std::string* why,
                                         bool quoted = false);

// The fragment as one `frag NS ...` trace line, its data as `hex:`.
std::string frag_line(const WireFragment& w, const std::string& ns);

}  // namespace nv::kernel
