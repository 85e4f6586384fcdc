// QueueState: what a reassembly queue knows of its datagram, whichever
// table holds the queue (struct inet_frag_queue's flags, len, meat and
// fragments, with struct ipq's inet_peer bookkeeping): FragQueue (today's
// per-namespace tables, frag_queue.h) and GlobalFragImpl's queues (the
// global table before Linux 4.17) add how their table finds and times them.
//
// Invariants (check() verifies them):
//   * runs.check() holds; meat is the sum of the queued skbs' lengths and
//     truesize the sum of their truesizes as received;
//   * first_in iff a queued skb starts at offset 0, and then first_proto,
//     first_ecn and first_ext are that skb's; ecn has bit 1 << c set exactly for the ECN
//     codepoints c of the queued skbs; len >= runs.end() (len is the
//     highest end seen, and the datagram's length once last_in);
//   * max_df_len <= max_len, each at least the length of every queued skb
//     (with DF, for max_df_len), which they count with its v4 options;
//     ip_frag_reinit keeps both, so they may be larger;
//   * a queue with no skbs has first_in, last_in, len and meat all clear;
//   * has_peer implies peer_rid is set.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "impl/frag/run_tree.h"
#include "trace/frag/frag_ops.h"

namespace nv::frag {

// ip_frag_ecn_table (net/ipv4/inet_fragment.c): indexed by a queue's ecn
// bits, what reassembly ORs into the head's ECN codepoint, or kEcnDrop to
// discard the datagram (RFC 3168 5.3: Not-ECT mixed with ECT or CE).
inline constexpr uint8_t kEcnDrop = 0xff;
inline constexpr uint8_t kFragEcnTable[16] = {
    0, 0,        0, kEcnDrop, 0, kEcnDrop, 0, kEcnDrop,   // no CE: Not-ECT alone, or ECT only
    0, kEcnDrop, 3, kEcnDrop, 3, kEcnDrop, 3, kEcnDrop};  // CE: alone, or with ECT only

struct QueueState {
  RunTree runs;
  bool first_in = false, last_in = false;
  uint8_t first_proto = 0;
  uint8_t first_ecn = 0;
  uint8_t first_ext = 0;  // the first fragment's options or extension headers (Fragment::ext)
  uint8_t ecn = 0;        // 1 << codepoint of each queued skb (struct ipq: ecn)
  uint32_t len = 0;
  uint32_t meat = 0;
  uint64_t truesize = 0;
  // The longest skb queued, and the longest with DF, options included
  // (struct inet_frag_queue max_size, struct ipq max_df_size, less the 20
  // bytes of fixed header the kernel counts too).
  uint32_t max_len = 0, max_df_len = 0;

  // ip_frag_too_far bookkeeping (struct ipq: peer, rid): the rid counter of
  // the source address, in the queue's namespace.
  bool has_peer = false;
  uint32_t rid = 0;
  uint32_t* peer_rid = nullptr;

  bool complete() const { return first_in && last_in && meat == len; }
  // An skb joined the runs (ip_frag_queue's tail): its length and
  // truesize, its ECN codepoint and DF, and the first fragment's header
  // fields.
  void queued(const Skb& skb, Family family) {
    meat += skb.len;
    truesize += skb.truesize;
    ecn |= uint8_t(1 << skb.ecn);
    const uint32_t size = skb.len + extra_len(family, skb.ext);
    max_len = std::max(max_len, size);
    if (skb.df) max_df_len = std::max(max_df_len, size);
    if (skb.off == 0) {
      first_in = true;
      first_proto = skb.proto;
      first_ecn = skb.ecn;
      first_ext = skb.ext;
    }
  }
  // ip_frag_reasm, ip6_frag_reasm: out_oversize, the datagram over 65535
  // bytes with its unfragmentable part.
  bool reasm_oversize(Family family) const {
    return uint64_t(len) + unfragmentable_len(family, first_ext) > 65535;
  }
  // ip_frag_reasm's ECN: the delivered datagram's codepoint, or kEcnDrop.
  uint8_t reasm_ecn() const {
    const uint8_t combined = kFragEcnTable[ecn];
    return combined == kEcnDrop ? kEcnDrop : uint8_t(first_ecn | combined);
  }
  // ip_frag_reasm's DF (v4): set when the longest fragment had it.
  bool reasm_df() const { return max_df_len == max_len; }
  std::optional<std::string> check() const;
};

// What describe() prints of a queue of either design (Q: a QueueState with
// its key and timer), in namespace `label`.
template <typename Q>
QueueDescription queue_description(const Q& q, std::string_view label, Family family) {
  QueueDescription d{.label = label,
                     .family = family,
                     .src = q.key.src(family),
                     .dst = q.key.dst(family),
                     .id = q.key.id(),
                     .proto = q.key.proto(),
                     .len = q.len,
                     .meat = q.meat,
                     .first_in = q.first_in,
                     .last_in = q.last_in,
                     .deadline_ms = q.timer.deadline_ms,
                     .seq = q.timer.seq,
                     .has_peer = q.has_peer,
                     .rid = q.rid,
                     .max_len = q.max_len,
                     .max_df_len = q.max_df_len,
                     .unfrag = q.first_in ? extra_len(family, q.first_ext) : 0};
  q.runs.for_each_run([&](uint32_t off, uint32_t end) { d.runs.emplace_back(off, end); });
  q.runs.for_each_skb([&](const Skb& s) { d.cpus.push_back(s.cpu); });
  return d;
}

}  // namespace nv::frag
