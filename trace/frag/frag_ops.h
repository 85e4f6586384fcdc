// The fragment-reassembly subsystem's part of the trace language, and the
// interface both reassembly engines share: the decoded Fragment, its payload
// bytes, the truesize formula, the sysctl table and the counter names.
//
// Nothing here decides what happens to a fragment: that is model/frag (the
// reference) and impl/frag (the optimized engine). What is here is the
// "hardware and ABI" both see identically: what arrives on the wire, how much
// memory an skb is charged, and which sysctl writes the kernel refuses.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "trace/fnv1a64.h"
#include "trace/op.h"
#include "trace/registry.h"

namespace nv::frag {

enum class Family : uint8_t { kV4 = 0, kV6 = 1 };
inline const char* family_name(Family f) {
  return f == Family::kV4 ? "v4" : "v6";
}

// Field indices of "frag NS v4|v6 id= off= len= mf= [src=] [dst=] [proto=] [data=] [ecn=] [df=]
// [ext=] [opt=]".
namespace fields {
inline constexpr size_t kNs = 0, kFamily = 1, kId = 2, kOff = 3, kLen = 4, kMf = 5, kSrc = 6,
                        kDst = 7, kProto = 8, kData = 9, kEcn = 10, kDf = 11, kExt = 12, kOpt = 13;
}

// The ECN codepoints of the IP header (the low two bits of the v4 TOS and
// of the v6 traffic class; RFC 3168), named in codepoint order (the
// kernel's INET_ECN_NOT_ECT, ECT_1, ECT_0, CE).
inline constexpr std::string_view kEcnNames[4] = {"not-ect", "ect1", "ect0", "ce"};
inline constexpr uint8_t kEcnCe = 3;

inline constexpr uint32_t kDefaultProto = 253;  // RFC 3692 experimental

// The IPv6 extension headers a fragment carries before its Fragment header
// (docs/trace.md, "Extension headers"): a set of hop-by-hop options,
// destination options and a routing header, always in that order (RFC 8200
// 4.1's), each the smallest there is (8 bytes: PadN options; routing type 0
// with no segments left). The word's index is the set's bits.
inline constexpr uint8_t kExtHbh = 1, kExtDst = 2, kExtRt = 4;
inline constexpr std::string_view kExtNames[8] = {"none", "hbh",    "dst",    "hbh+dst",
                                                  "rt",   "hbh+rt", "dst+rt", "hbh+dst+rt"};
inline constexpr uint32_t ext_len(uint8_t ext) {
  return 8 *
         (uint32_t(ext & kExtHbh) + uint32_t((ext & kExtDst) >> 1) + uint32_t((ext & kExtRt) >> 2));
}

// The IPv4 options a fragment's header can carry (docs/trace.md, "IPv4
// options"), one option each, padded to whole words (kernel/wire.cc has
// their bytes): NOPs, router alert, record route and timestamp (each with
// room for one address or stamp), which Linux accepts (recording its
// address or a time in the last two); loose source route, which it drops
// (accept_source_route is 0); and a record route 2 bytes long, which it
// refuses with a Parameter Problem pointing at its length byte
// (kOptBadPointer).
inline constexpr uint8_t kOptLsrr = 5, kOptBad = 6;
inline constexpr std::string_view kOptNames[7] = {"none", "nop", "ra", "rr", "ts", "lsrr", "bad"};
inline constexpr uint32_t kOptLens[7] = {0, 4, 4, 8, 8, 8, 4};
inline constexpr uint32_t kOptBadPointer = 21;

// A fragment's header past its fixed part, `ext`: v4 its options
// (kOptNames' index), v6 its extension headers (kExtNames' bits). Its
// length in bytes, one load on the receive path (kExtraLens[f][ext] is
// kOptLens[ext] for v4, ext_len(ext) for v6; the v4 row's eighth entry
// pads it, as no v4 ext is 7):
inline constexpr uint8_t kExtraLens[2][8] = {
    {kOptLens[0], kOptLens[1], kOptLens[2], kOptLens[3], kOptLens[4], kOptLens[5], kOptLens[6], 0},
    {ext_len(0), ext_len(1), ext_len(2), ext_len(3), ext_len(4), ext_len(5), ext_len(6),
     ext_len(7)}};
inline constexpr uint32_t extra_len(Family f, uint8_t ext) {
  return kExtraLens[int(f)][ext & 7];
}

// One received fragment, decoded from a frag op (defaults applied).
struct Fragment {
  std::string_view ns;
  Family family = Family::kV4;
  uint32_t id = 0;
  uint32_t off = 0;  // bytes of fragmentable payload; multiple of 8
  uint32_t len = 0;
  bool mf = false;
  trace::Addr src, dst;
  uint8_t proto = kDefaultProto;
  const trace::Data* data = nullptr;  // nullptr: pattern
  uint8_t ecn = 0;                    // its ECN codepoint (kEcnNames)
  bool df = false;                    // v4: its header's Don't Fragment flag
  uint8_t ext = 0;                    // v4 its options, v6 its extension headers (extra_len)
};

Fragment fragment_of(const trace::Op& op);  // op must be a frag op

// Writes the fragment's len payload bytes (docs/trace.md, "data=").
void fill_payload(const Fragment& f, uint8_t* out);

using trace::Fnv1a64;

// Memory accounting, identical in both engines (docs/trace.md, "Truesize"):
// what the running kernel charges for the skbs the kernel engine sends
// (sockstat FRAG/FRAG6 memory, measured on Linux 6.18 at every boundary
// below). AF_PACKET on lo (packet_snd) allocates the frame with 16 bytes of
// headroom (LL_RESERVED_SPACE(lo)); with the Ethernet header pulled, 30
// bytes precede the IP header. A frame that does not fit a page with that
// headroom is paged: only its Ethernet header is linear, the rest is in
// page chunks (alloc_skb_with_frags allocates PAGE_ALIGN of it). So:
//   linear: struct sk_buff (256) plus the head allocation, which is the
//           576-byte small-head cache when align64(30 + header + len) plus
//           skb_shared_info (320) fits in it, the next power of two otherwise;
//   paged:  256 + 576 (the small head) + PAGE_ALIGN(header + len).
// A queue is charged its struct size (f->qsize) when created.
inline constexpr uint64_t kSkbStruct = 256;
inline constexpr uint64_t kSkbSmallHead = 576;
inline constexpr uint64_t kSkbHeadroom = 30;  // AF_PACKET's 16 and the Ethernet header's 14
inline constexpr uint64_t kSkbSharedInfo = 320;
inline constexpr uint64_t kPageSize = 4096;
inline constexpr uint64_t kQueueTruesize[2] = {200, 184};  // struct ipq, struct frag_queue
// The headers before the payload: v4's 20 bytes and its options; v6's 40,
// its extension headers and the Fragment header's 8 (`ext`: extra_len's).
inline constexpr uint64_t header_len(Family f, uint8_t ext = 0) {
  return (f == Family::kV4 ? 20 : 48) + extra_len(f, ext);
}
inline constexpr bool skb_paged(Family f, uint32_t len, uint8_t ext = 0) {
  return kSkbHeadroom + header_len(f, ext) + len >= kPageSize;
}
inline constexpr uint64_t frag_truesize(Family f, uint32_t len, uint8_t ext = 0) {
  const uint64_t header = header_len(f, ext);
  if (skb_paged(f, len, ext))
    return kSkbStruct + kSkbSmallHead + ((header + len + kPageSize - 1) & ~(kPageSize - 1));
  uint64_t head = ((kSkbHeadroom + header + len + 63) & ~uint64_t{63}) + kSkbSharedInfo;
  if (head <= kSkbSmallHead) return kSkbStruct + kSkbSmallHead;
  return kSkbStruct + std::max(uint64_t{1024}, std::bit_ceil(head));
}

// RFC 8200 section 4.5 as Linux applies it (ipv6frag_thdr_truncated): a first
// fragment whose payload does not hold the upper-layer header's first bytes
// (after walking any extension headers it carries) is truncated.
bool v6_first_fragment_truncated(uint8_t proto, const uint8_t* payload, uint32_t len);

// What the IP layer drops for its options or extension headers before
// reassembly (or delivery, for a packet that is not a fragment) sees it;
// no reassembly counter moves:
//   * "v4-srr": a source route (ip_rcv_options: accept_source_route is 0);
//   * "v4-bad-options": options ip_options_compile refuses (InHdrErrors),
//     with a Parameter Problem (param_problem; icmp_event says whether it
//     is sent);
//   * "v6-rt-multicast": a routing header to a multicast address
//     (ipv6_rthdr_rcv, InAddrErrors). From the kernel's source, not
//     measured: the kernel engine sends nothing to a v6 multicast address.
struct HeaderDrop {
  std::string_view reason;
  bool param_problem = false;
};
// A multicast address: 224.0.0.0/4, ff00::/8.
inline bool is_multicast(const trace::Addr& a) {
  return a.v6 ? a.bytes[0] == 0xff : (a.bytes[0] & 0xf0) == 224;
}
// Inline: every receive asks, and a fragment with neither options nor
// extension headers (ext 0) has nothing to drop.
inline std::optional<HeaderDrop> header_dropped(const Fragment& f) {
  if (f.ext == 0) return std::nullopt;
  if (f.family == Family::kV4) {
    if (f.ext == kOptLsrr) return HeaderDrop{"v4-srr"};
    if (f.ext == kOptBad) return HeaderDrop{"v4-bad-options", true};
  } else if ((f.ext & kExtRt) && is_multicast(f.dst)) {
    return HeaderDrop{"v6-rt-multicast"};
  }
  return std::nullopt;
}

// The reassembly sysctls of one namespace, with the kernel's defaults.
struct Sysctls {
  // fqdir->high_thresh is a long: a write above LONG_MAX is accepted by
  // proc_doulongvec_minmax and reads back negative (see over_limit()).
  uint64_t high_thresh[2] = {4194304, 4194304};  // indexed by Family
  uint64_t low_thresh[2] = {3145728, 3145728};
  uint64_t time_s[2] = {30, 60};
  uint64_t max_dist = 64;  // v4 only

  // Applies a write as the kernel validates it (proc_doulongvec_minmax with
  // low <= high, proc_dointvec_jiffies, proc_dointvec_minmax). Returns false,
  // changing nothing, when the kernel would refuse it with EINVAL.
  bool write(std::string_view key, uint64_t value);
  // Whether the key is one of these sysctls.
  static bool owns(std::string_view key);
  // inet_frag_find: no fragment is queued when high_thresh is 0 or the
  // accounted memory is above it (compared as signed longs).
  bool over_limit(Family f, uint64_t mem) const {
    int64_t high = int64_t(high_thresh[int(f)]);
    return high == 0 || int64_t(mem) > high;
  }
  // Policy::kEvict (inet_frag_evictor before Linux 4.17): the evictor runs
  // when the accounted memory is above high_thresh, and evicts until it is
  // at most low_thresh (both compared as signed, as over_limit).
  bool must_evict(Family f, uint64_t mem) const {
    return int64_t(mem) > int64_t(high_thresh[int(f)]);
  }
  bool evicted_enough(Family f, uint64_t mem) const {
    return int64_t(mem) <= int64_t(low_thresh[int(f)]);
  }
};

// What happens to a fragment when its namespace's memory for the family is
// above high_thresh (docs/trace.md, "Eviction policy"); one setting for the
// whole trace, `policy frag refuse|evict`, refuse until a line says otherwise.
//   * kRefuse, today's (since Linux 4.17, "inet: frags: use rhashtables for
//     reassembly units"): inet_frag_find queues nothing, the fragment is
//     refused (rule 4);
//   * kEvict, the global table's (Linux 2.6 to 3.16, ip_evictor /
//     inet_frag_evictor): before the lookup, the namespace's queues of that
//     family are evicted, least recently used first, until the memory is at
//     most low_thresh, each counted as a reassembly failure (kill, reason
//     "evict"); then the fragment is handled as usual. A namespace pre_exit
//     closed refuses fragments under either policy.
enum class Policy : uint8_t { kRefuse = 0, kEvict = 1 };
inline constexpr std::string_view kPolicyNames[2] = {"refuse", "evict"};
Policy policy_of(const trace::Op& op);  // op must be a "policy frag" op

// How a reassembled datagram's skbs become the one handed up, and so the
// truesize it is delivered with (docs/trace.md, "Coalescing"); one setting
// for the whole trace, `policy frag-reasm coalesce|list`, coalesce until a
// line says otherwise. Either way the queue releases the sum of its skbs'
// truesizes (sum_truesize), as it was charged.
//   * kCoalesce, today's ("inet: frags: re-introduce skb coalescing for
//     local delivery"): inet_frag_reasm_finish tries skb_try_coalesce on
//     each skb after the head, in offset order. One that fits the head's
//     linear tailroom is copied into it (truesize unchanged); otherwise its
//     head buffer is stolen as a page fragment of the head (truesize grows
//     by the skb's less its struct sk_buff), while the head has fewer than
//     kMaxSkbFrags; the first skb neither takes goes on the head's
//     frag_list, and so does every skb after it (a head with a frag_list
//     coalesces nothing). The engines' skbs have page-fragment heads
//     (head_frag, as NIC drivers build them), so a head can be stolen.
//   * kList, the design in between (v4 from the revert 14fe22e33462, v6 from
//     d4289fcc9b16, "use rbtrees for IPv6 defrag"): every skb after the head
//     goes on its frag_list, and the datagram's truesize is the sum.
enum class Reasm : uint8_t { kCoalesce = 0, kList = 1 };
inline constexpr std::string_view kReasmNames[2] = {"coalesce", "list"};
Reasm reasm_of(const trace::Op& op);          // op must be a "policy frag-reasm" op
inline constexpr uint32_t kMaxSkbFrags = 17;  // CONFIG_MAX_SKB_FRAGS's default
// The linear tailroom of a received skb of that truesize holding `len`
// payload bytes after its headers (`ext`: extra_len's): its
// head allocation less skb_shared_info, headroom, headers and payload
// (frag_truesize's geometry); none for a paged skb (its truesize the small
// head's plus whole pages, which no linear one's is).
inline constexpr uint64_t skb_tailroom(Family f, uint64_t truesize, uint32_t len, uint8_t ext = 0) {
  const uint64_t head = truesize - kSkbStruct;
  if (head > kSkbSmallHead && (head - kSkbSmallHead) % kPageSize == 0) return 0;
  return head - kSkbSharedInfo - kSkbHeadroom - header_len(f, ext) - len;
}
// What a reassembled datagram's length is checked against 65535 with
// (ip_frag_reasm, ip6_frag_reasm: out_oversize): v4 adds the first
// fragment's header, options included; v6 the first fragment's extension
// headers (its payload length then holds them and the fragmentable part).
inline constexpr uint32_t unfragmentable_len(Family f, uint8_t first_ext) {
  return (f == Family::kV4 ? 20 : 0) + extra_len(f, first_ext);
}

// The largest ipfrag_time the kernel accepts: INT_MAX / HZ, with HZ = 250
// (Debian's kernels; measured: 8589934 accepted, 8589935 refused).
inline constexpr uint64_t kMaxFragTimeS = 2147483647ull / 250;

// Names of counters (nstat) and gauges this subsystem reports per namespace.
inline constexpr std::string_view kReasmReqds[2] = {"IpReasmReqds", "Ip6ReasmReqds"};
inline constexpr std::string_view kReasmOKs[2] = {"IpReasmOKs", "Ip6ReasmOKs"};
inline constexpr std::string_view kReasmFails[2] = {"IpReasmFails", "Ip6ReasmFails"};
inline constexpr std::string_view kReasmTimeout[2] = {"IpReasmTimeout", "Ip6ReasmTimeout"};
inline constexpr std::string_view kReasmOverlaps = "IpExtReasmOverlaps";
inline constexpr std::string_view kInHdrErrors[2] = {"IpInHdrErrors", "Ip6InHdrErrors"};
// Every counter, in the order of the registry's counter vocabulary and of
// the "counters" event's fields.
inline constexpr std::array<std::string_view, 11> kCounters = {
    kReasmReqds[0],   kReasmOKs[0],    kReasmFails[0], kReasmTimeout[0],
    kReasmOverlaps,   kReasmReqds[1],  kReasmOKs[1],   kReasmFails[1],
    kReasmTimeout[1], kInHdrErrors[0], kInHdrErrors[1]};
inline constexpr std::string_view kMemGauge[2] = {"mem.v4", "mem.v6"};
inline constexpr std::string_view kQueuesGauge[2] = {"queues.v4", "queues.v6"};

// Per-namespace reassembly counters, indexed by Family where the kernel has
// one per family. v6 overlaps are counted by the kernel in a MIB that
// /proc/net/snmp6 does not show, so only IpExtReasmOverlaps exists.
// hdr_errors: InHdrErrors, every fragment refused with a Parameter Problem
// (IcmpError's kParam*): v4 options ip_options_compile refuses, counted by
// ip_rcv_options whether or not the ICMP is sent (measured); a v6 first
// fragment truncated, one ending past 65535, a non-last one whose length is
// not a multiple of 8, counted by ipv6_frag_rcv.
struct Counters {
  uint64_t reqds[2] = {}, oks[2] = {}, fails[2] = {}, timeout[2] = {};
  uint64_t overlaps = 0;
  uint64_t hdr_errors[2] = {};
};

// Adds one namespace's counters and gauges to a snapshot, the same way for
// every engine.
void add_to_snapshot(trace::Snapshot& snap, std::string_view ns, const Counters& c,
                     const uint64_t mem[2], const uint64_t queues[2]);

// One line of describe() for what of a live namespace neither its events,
// its counters nor its queues show: its sysctls when they are not the
// defaults, and the inet_peer rid of each v4 source seen (ip_frag_too_far).
// "" when there is none. Both engines print it, so that the end of a
// concurrent section tells apart orders that leave them different (racing
// sysctl writes, fragments of one source racing on its rid).
std::string describe_hidden(std::string_view label, const Sysctls& s,
                            std::vector<std::pair<trace::Addr, uint32_t>> peers);

// What describe() prints of one queue, one line in the same text for every
// engine that reports it.
struct QueueDescription {
  std::string_view label;
  Family family = Family::kV4;
  trace::Addr src, dst;  // the key's addresses: queues of one id differ by them
  uint32_t id = 0;
  uint8_t proto = 0;
  uint32_t len = 0, meat = 0;
  bool first_in = false, last_in = false;
  uint64_t deadline_ms = 0;
  uint64_t seq = 0;  // the tie-breaker of equal deadlines (printed as a place, below)
  bool has_peer = false;
  uint32_t rid = 0;
  std::vector<std::pair<uint32_t, uint32_t>> runs;  // [off, end), in order
  // The CPU each queued skb was received on, in offset order: which skbs a
  // reassembly frees through another CPU's defer list. Printed when one is
  // not CPU 0 (a fragment racing a `cpu steer` is received on either).
  std::vector<uint32_t> cpus;
  // v4: the longest fragment's payload queued, and the longest with DF
  // (ip_frag_queue's max_size and max_df_size less the header). Printed
  // when a fragment with DF was queued.
  uint32_t max_len = 0, max_df_len = 0;
  // The bytes of the first fragment's options (v4) or extension headers
  // (v6), once it is queued (what rule 14 adds to the datagram). Printed
  // when not 0.
  uint32_t unfrag = 0;
  // Under Policy::kEvict: its place in the evictor's order among its
  // namespace's queues of its family (0: evicted first).
  std::optional<size_t> lru_rank;
};
// Every queue of an engine, a line each in the given order. A queue's seq is
// printed as its place in the engine's expiry order (expiry=K, 0 expires
// first): the order is what seq decides, while its absolute value counts
// every queue the history created, which orders of a concurrent section
// that agree on everything observable may not (a racing fragment that found
// a queue, or made one that teardown then dismantled).
std::string describe_queues(const std::vector<QueueDescription>& queues);

// The first lines of every engine's describe(): its clock and the
// whole-trace settings that are not today's ("policy=evict", "reasm=list").
std::string describe_engine(uint64_t now_ms, Policy policy, Reasm reasm);

// The digest of what add_to_snapshot adds for one namespace (Engine::digest).
uint64_t snapshot_digest(std::string_view ns, const Counters& c, const uint64_t mem[2],
                         const uint64_t queues[2]);

// Events this subsystem reports. Each engine builds them through these
// helpers, so the two cannot differ in field names or order.
// `truesize`: the delivered skb's (Reasm); the kernel engine does not see it.
trace::Event deliver_event(const Fragment& head, uint32_t len, uint64_t fnv,
                           std::optional<uint64_t> truesize = std::nullopt);
// A fragment dropped on its own (the queue, if any, lives on).
trace::Event drop_event(const Fragment& f, std::string_view reason);
// A datagram discarded with every fragment queued for it.
trace::Event kill_event(std::string_view ns, Family family, uint32_t id, std::string_view reason);

// The ICMP errors reassembly sends (docs/trace.md, "ICMP errors"), each
// about one packet: the expired queue's first fragment, or the fragment
// refused.
enum class IcmpError : uint8_t {
  kTimeExceeded,     // ip_expire, ip6_frag_expire: v4 11/1, v6 3/1
  kParamLength,      // v6 4/0 at payload_len (4): a non-last fragment's length not a multiple of 8
  kParamOffset,      // v6 4/0 at frag_off (42 + extension headers): a fragment ending past 65535
  kParamIncomplete,  // v6 4/3 at 0: a first fragment without its whole header chain (RFC 7112)
  kParamOption,      // v4 12/0 at kOptBadPointer: options Linux refuses (header_dropped)
};
// The icmp event for the error reassembly asks icmp_send or icmpv6_send to
// send about `about`, whose payload (the bytes after its IP and Fragment
// headers, as queued) is `payload`; std::nullopt where they send none
// (measured on Linux 6.18, with every source and destination of the trace
// on lo, as the kernel engine puts them):
//   v4: none about a datagram to a multicast or broadcast address
//       (224.0.0.0/4, 255.255.255.255, lo's 127.255.255.255) or from a source
//       there is no route back to (0.0.0.0/8, 224.0.0.0/3), nor about an ICMP
//       error or a message of unknown type (RFC 1122 3.2.2);
//   v6: none about a packet to a multicast address or from the unspecified
//       or a multicast address, nor about an ICMPv6 error or a packet whose
//       ICMPv6 type is not there (is_ineligible).
// Both engines build their icmp events here: these are the ICMP layer's
// rules, not reassembly's.
std::optional<trace::Event> icmp_event(const Fragment& about, IcmpError error,
                                       std::span<const uint8_t> payload);
// The icmp event itself, as the kernel engine reads it off the wire too:
// an error of ICMP type and code (and a Parameter Problem's pointer) about
// the packet `about` names (its ns, family, src, dst, proto and id).
trace::Event icmp_error_event(const Fragment& about, uint8_t type, uint8_t code,
                              std::optional<uint32_t> pointer);

// The name a fragment's skb goes by once its datagram is reassembled and
// freed (the defer subsystem's events, a namespace's holder): NS/v4/ID@OFF.
std::string fragment_skb_name(std::string_view ns, Family family, uint32_t id, uint32_t off);

// Adds frag, expect deliver, expect nodeliver, expect icmp, expect noicmp,
// expect mem, the sysctl keys and the counter names to the registry.
void register_ops(trace::Registry& registry);

// The core operations, the namespaces' and this subsystem's, built once: the
// trace language as the layers below the runner (kernel/, symbolic/, their
// tests) see it.
const trace::Registry& frag_registry();

}  // namespace nv::frag
