// Planted bugs of the optimized reassembly engine: each mutant re-creates one
// historical Linux fragment-reassembly bug, switched on at run time and off by
// default, so that the differential runner and the property tests can show
// that they catch it (STYLE.md 11: mutants are named switches).
//
// A MutantSet (trace/mutant_set.h) is the set of mutants an engine runs
// with; kFragMutants is the one table of their names and descriptions (the
// CLI lists it as is).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "trace/mutant_set.h"

namespace nv::frag {

enum class FragMutant : uint8_t {
  kOverlapAccept,
  kCoalesceHeadTruesize,
  kTimerRefresh,
  kV6KeyNexthdr,
  kNoTrim,
  kOversizeAccept,
  kExpireDead,
  kDeferKeepsNetnsRef,
  kPreExitOpen,
  kEcnBlind,
  kDfCleared,
  kV6TruncatedQueued,
};
inline constexpr size_t kFragMutantCount = 12;

using MutantSet = trace::MutantSet<FragMutant, kFragMutantCount>;
using FragMutantInfo = trace::MutantInfo<FragMutant>;

inline constexpr std::array<FragMutantInfo, kFragMutantCount> kFragMutants = {{
    {FragMutant::kOverlapAccept, "frag-overlap-accept",
     "a partial overlap drops only the overlapping fragment, like a duplicate, and reassembly "
     "goes on (Linux before 4.19, i.e. before RFC 5722 handling)"},
    {FragMutant::kCoalesceHeadTruesize, "frag-coalesce-head-truesize",
     "with coalescing, reassembly releases the delivered head's truesize (plus the queue's) "
     "instead of the sum of every fragment's as charged (sum_truesize), leaking what "
     "coalescing saved"},
    {FragMutant::kTimerRefresh, "frag-timer-refresh",
     "every queued fragment re-arms the queue's timer to now + timeout, so a trickle of "
     "fragments keeps a queue alive forever"},
    {FragMutant::kV6KeyNexthdr, "frag-v6-key-nexthdr",
     "the IPv6 queue key includes the Fragment header's next header, splitting one datagram "
     "whose fragments disagree on it"},
    {FragMutant::kNoTrim, "frag-no-trim",
     "an IPv4 non-last fragment's length is not trimmed to a multiple of 8; it is queued with "
     "its full length"},
    {FragMutant::kOversizeAccept, "frag-oversize-accept",
     "the 65535-byte limit on the reassembled IPv4 datagram is not checked (ping of death)"},
    {FragMutant::kExpireDead, "frag-expire-dead",
     "a queue timer that fires while its namespace is being dismantled expires the queue "
     "anyway (ip_expire without the fqdir->dead check: the 2019 dismantle use-after-free)"},
    {FragMutant::kDeferKeepsNetnsRef, "frag-defer-keeps-netns-ref",
     "reassembly keeps the fragments' conntrack references: a fragment deferred to the CPU "
     "that received it holds its namespace until that CPU runs rx, and the namespace's "
     "cleanup cannot free it until then (fixed in 2026; skb_defer_max=0 hid it)"},
    {FragMutant::kPreExitOpen, "frag-pre-exit-open",
     "a dying namespace's reassembly is not closed to fragments already on their way "
     "(fqdir_pre_exit's high_thresh = 0, Linux 5.3): a fragment whose receive found the "
     "namespace before its cleanup pass unbound it is still queued there, creating and "
     "discarding queues in a namespace being dismantled"},
    {FragMutant::kEcnBlind, "frag-ecn-blind",
     "reassembly ignores the fragments' ECN codepoints, as Linux did before 2011's \"IP "
     "defragmentation must be ECN aware\": the datagram keeps its first fragment's, so Not-ECT "
     "mixed with ECT is delivered and a later fragment's CE mark is lost"},
    {FragMutant::kDfCleared, "frag-df-cleared",
     "reassembly clears DF on the IPv4 header, as Linux did before 2015's \"ip_fragment: "
     "don't forward defragmented DF packet\" (d6b915e29f4a): a router then forwards, or "
     "refragments to any size, a datagram whose sender asked for path MTU discovery"},
    {FragMutant::kV6TruncatedQueued, "frag-v6-truncated-queued",
     "an IPv6 first fragment without its whole header chain up to the upper-layer header is "
     "queued like any other, with no Parameter Problem, as before Linux enforced RFC 7112 on "
     "reassembly: a firewall that looks at first fragments never sees the ports"},
}};

inline std::optional<FragMutant> frag_mutant_by_name(std::string_view name) {
  return trace::mutant_by_name(kFragMutants, name);
}

}  // namespace nv::frag
