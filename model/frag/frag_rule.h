// The per-fragment decision of Linux IPv4/IPv6 reassembly, written once and
// interpreted twice.
//
// Rules 1-4 and 7-14 of the reference model (docs/trace.md, "What happens to
// a fragment") are templates over an arithmetic T: T::U32 and T::U64 are
// the integers, T::B the booleans, and T provides select (a branch-free ?:),
// sgt (signed 64-bit >), widen (32 to 64 bits), let (names an intermediate
// value) and reached (tells the symbolic interpretation under which
// condition the comparisons just made matter). With T = Concrete (uint32_t,
// uint64_t, bool) this is the code FragModel runs for every fragment; with
// the Z3 bit-vectors of symbolic/sym.h the same source becomes the formulas
// that symbolic/ enumerates boundary cases of and proves properties about.
// Widths match the model's (offsets and lengths in 32 bits, memory in 64),
// so both interpretations wrap identically.
//
// Because symbolic conditions cannot steer C++ control flow, each rule is a
// guard: Decision::rule(outcome, condition) fires the outcome when no
// earlier rule fired and the condition holds, which is the model's early
// return. C++ control flow may only depend on what is concrete in both
// interpretations: the family, and the number of runs in the queue
// (symbolic/ bounds it at 3).
//
// Rules 5 (the queue key), 6 (ipfrag_max_dist) and the bytes a v6 first
// fragment must hold (rule 3's input) are concrete-only and stay in
// frag_model.cc.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "trace/frag/frag_ops.h"

namespace nv::frag::rule {

// What happens to one fragment: the rule that decides it.
enum class Outcome : uint8_t {
  kWhole,        // 1-2. not a fragment (v4) or an atomic fragment (v6): delivered as is
  kV6Truncated,  // 3. dropped: a v6 first fragment without its upper-layer header
  kMemLimit,     // 4. dropped: over high_thresh
  kV6TooBig,     // 7. dropped: v6, ends past 65535
  kBadLast,      // 8. datagram discarded: a last fragment disagrees with the queued end
  kV6BadLen,     // 9. dropped: v6, a non-last fragment's length is not a multiple of 8
  kBadBeyond,    // 10. datagram discarded: a non-last fragment ends past the last one
  kZeroLen,      // 11. datagram discarded: empty (after trimming)
  kDup,          // 12. dropped: lies within one run
  kOverlap,      // 12. datagram discarded: overlaps queued data otherwise
  kOversize,  // 14. datagram discarded at reassembly: over 65535 bytes with its unfragmentable part
  kReassembled,  // 13. queued, and the datagram is complete: delivered
  kQueued,       // 12. queued, the datagram still incomplete
};
inline constexpr int kOutcomes = 13;

inline constexpr std::string_view outcome_name(Outcome o) {
  constexpr std::string_view kNames[kOutcomes] = {
      "whole",      "v6-truncated", "mem-limit", "v6-too-big", "bad-last",
      "v6-bad-len", "bad-beyond",   "zero-len",  "dup",        "overlap",
      "oversize",   "reassembled",  "queued"};
  return kNames[int(o)];
}

// Where a queued fragment goes (inet_frag_queue_insert): the first run of an
// empty queue, appended to the last run, a new run after it, or a new run
// before some run (FragModel: before the first run starting above it).
enum class Placement : uint8_t { kFirst, kAppend, kAfter, kBefore };
inline constexpr int kPlacements = 4;

inline constexpr std::string_view placement_name(Placement p) {
  constexpr std::string_view kNames[kPlacements] = {"first", "append", "after", "before"};
  return kNames[int(p)];
}

// The concrete interpretation: what FragModel runs.
struct Concrete {
  using U32 = uint32_t;
  using U64 = uint64_t;
  using B = bool;
  static U32 select(bool c, U32 a, U32 b) { return c ? a : b; }
  static bool sgt(U64 a, U64 b) { return int64_t(a) > int64_t(b); }
  static U64 widen(U32 x) { return x; }
  static void reached(bool /*open*/, bool /*cond*/) {}
  template <class V>
  static V let(std::string_view /*name*/, V v) {
    return v;
  }
};

// The arriving fragment, as far as the decision looks at it.
template <class T>
struct Input {
  Family family;  // concrete in both interpretations
  typename T::U32 off, len;
  typename T::B mf;
  typename T::U32 ext = 0;  // its header's bytes past the fixed part (extra_len)
};

// A run: fragments [off, end) that arrived in order (frag_model.h).
template <class T>
struct Run {
  typename T::U32 off, end;
};

// The queue found or created for the fragment (after rule 6).
template <class T>
struct QueueState {
  std::vector<Run<T>> runs;  // sorted by off, pairwise disjoint
  typename T::B first_in = false, last_in = false;
  typename T::U32 len = 0, meat = 0;  // as FragModel::Queue
  typename T::U32 unfrag = 0;         // the first fragment's ext, once first_in
};

// The decision under construction: which outcome fired, and the values the
// queue takes if it survives (dup, queued).
template <class T>
class Decision {
 public:
  using B = typename T::B;
  using U32 = typename T::U32;

  // The model's early return: `o` fires if no earlier rule did and `cond`
  // holds.
  void rule(Outcome o, const B& cond) {
    // For symbolic/: the comparisons made since the previous rule matter
    // only if no earlier rule fired (a no-op on concrete values).
    T::reached(open_, cond);
    fired_[int(o)] = open_ && cond;
    open_ = open_ && !cond;
  }
  const B& fired(Outcome o) const { return fired_[int(o)]; }
  const B& open() const { return open_; }  // no rule has fired yet

  // Concrete interpretation only: the outcome that fired (symbolic/ proves
  // that exactly one has once queue() has run), and the placement.
  Outcome outcome() const {
    int i = 0;
    while (i + 1 < kOutcomes && !fired_[i]) ++i;
    return Outcome(i);
  }
  Placement placement() const {
    int i = 0;
    while (i + 1 < kPlacements && !placed[i]) ++i;
    return Placement(i);
  }

  // Set by rules 7-13: the fragment's end after trimming, the queue's state
  // if it lives on (dup, queued), and where a queued fragment goes.
  U32 end = 0, len = 0, meat = 0;
  B first_in = false, last_in = false;
  B placed[kPlacements] = {};

 private:
  B fired_[kOutcomes] = {};
  B open_ = true;
};

// Rules 1-4: before any queue is looked up. `v6_truncated` is whether a v6
// fragment's bytes lack the upper-layer header (ipv6frag_thdr_truncated,
// trace/frag/frag_ops.h); `mem` is the family's accounted memory; `closed`
// whether the namespace's pre_exit ran, which is what rule 4 checks under
// Policy::kEvict (the evictor made room before: FragModel::evict).
template <class T>
void admit(Decision<T>& d, const Input<T>& f, const typename T::B& v6_truncated,
           const typename T::U64& high_thresh, const typename T::U64& mem,
           Policy policy = Policy::kRefuse, const typename T::B& closed = false) {
  const bool v6 = f.family == Family::kV6;
  // 1. ip_rcv: a v4 packet with offset 0 and MF clear is not a fragment.
  // 2. ipv6_frag_rcv: an atomic fragment (offset 0, M 0; RFC 6946) is
  //    delivered as is and counted as reassembled.
  d.rule(Outcome::kWhole, f.off == 0 && !f.mf);
  // 3. RFC 8200 4.5: a first fragment must hold the upper-layer header.
  d.rule(Outcome::kV6Truncated, v6 && f.off == 0 && v6_truncated);
  // 4. inet_frag_find: above high_thresh, or with high_thresh 0, no fragment
  //    is queued, not even one for an existing queue. fqdir->high_thresh is
  //    a long: compared as signed (Sysctls::over_limit).
  //    Under the eviction policy nothing is refused for memory (a closed
  //    namespace excepted: its high_thresh is 0 and there is nothing to evict).
  if (policy == Policy::kEvict)
    d.rule(Outcome::kMemLimit, closed);
  else
    d.rule(Outcome::kMemLimit, high_thresh == 0 || T::sgt(mem, high_thresh));
}

// What inet_frag_queue_insert decides for [off, end): exactly one of dup,
// overlap, or a placement.
template <class T>
struct Insert {
  typename T::B dup = false, overlap = false;
  typename T::B placed[kPlacements] = {};
};

template <class T>
Insert<T> insert(const typename T::U32& off, const typename T::U32& end,
                 const std::vector<Run<T>>& runs) {
  using B = typename T::B;
  Insert<T> r;
  if (runs.empty()) {
    r.placed[int(Placement::kFirst)] = true;
    return r;
  }
  // "This is the common case: skb goes to the end": past the highest
  // fragment, in order if it starts where that one ends.
  const Run<T>& last = runs.back();
  const B past = end > last.end;
  r.overlap = past && off < last.end;
  r.placed[int(Placement::kAppend)] = past && off == last.end;
  r.placed[int(Placement::kAfter)] = past && off > last.end;
  // Otherwise the rbtree search: the run the fragment meets decides, a
  // duplicate if the fragment lies within it, else an overlap. (A fragment
  // meeting two runs lies within neither, so the search order does not
  // matter; the model scans in order.)
  B met = false;
  for (const Run<T>& run : runs) {
    const B meets = !met && !(end <= run.off || off >= run.end);
    const B within = off >= run.off && end <= run.end;
    r.dup = r.dup || (!past && meets && within);
    r.overlap = r.overlap || (!past && meets && !within);
    met = met || meets;
  }
  r.placed[int(Placement::kBefore)] = !past && !met;
  return r;
}

// Rules 7-14: ip_frag_queue / ip6_frag_queue, on the queue found or created
// for the fragment (rules 5 and 6 run in between, in the model).
template <class T>
void queue(Decision<T>& d, const Input<T>& f, const QueueState<T>& q) {
  using B = typename T::B;
  using U32 = typename T::U32;
  const bool v4 = f.family == Family::kV4;
  U32 end = T::let("end", f.off + f.len);
  // 7. ip6_frag_queue: a v6 fragment ending past 65535 (IPV6_MAXPLEN) gets
  //    a Parameter Problem; the queue found or created for it stays.
  d.rule(Outcome::kV6TooBig, !v4 && end > 65535);
  // 8. ip_frag_queue, ip6_frag_queue: a last fragment may not end below
  //    data already queued, nor disagree with an earlier last fragment
  //    ("end < q.len || (LAST_IN && end != q.len)": discard_qp).
  d.rule(Outcome::kBadLast, !f.mf && (end < q.len || (q.last_in && end != q.len)));
  // 9. A non-last fragment's length must be a multiple of 8: v4 trims it
  //    ("end &= ~7"), v6 sends a Parameter Problem and drops the fragment.
  const B ragged = f.mf && end % 8 != 0;
  d.rule(Outcome::kV6BadLen, !v4 && ragged);
  end = T::let("end'", T::select(ragged, end & ~7u, end));
  // 10. Nothing may lie beyond the last fragment's end ("end > q.len" with
  //     LAST_IN: discard_qp).
  d.rule(Outcome::kBadBeyond, f.mf && q.last_in && end > q.len);
  // A last fragment fixes the datagram's end; any other raises the highest
  // end seen. Both stick even if the fragment is then a duplicate.
  d.last_in = q.last_in || !f.mf;
  d.len = T::let("len'", T::select(!f.mf || end > q.len, end, q.len));
  // 11. An empty fragment (possibly after trimming) discards the datagram
  //     ("end == offset": discard_qp).
  d.rule(Outcome::kZeroLen, end == f.off);
  // 12. inet_frag_queue_insert; RFC 5722 as amended by erratum 3089: an
  //     overlap discards the whole datagram; a duplicate is dropped,
  //     uncounted, and the queue kept.
  const Insert<T> ins = insert<T>(f.off, end, q.runs);
  d.rule(Outcome::kDup, ins.dup);
  d.rule(Outcome::kOverlap, ins.overlap);
  for (int p = 0; p < kPlacements; ++p) d.placed[p] = ins.placed[p];
  d.end = end;
  d.meat = T::let("meat'", q.meat + (end - f.off));
  d.first_in = q.first_in || f.off == 0;
  // 13. Complete when the first and last fragments are in and every byte in
  //     between is queued ("FIRST_IN | LAST_IN && meat == len": reassemble).
  const B complete = d.first_in && d.last_in && d.meat == d.len;
  // 14. ip_frag_reasm, ip6_frag_reasm: with its unfragmentable part the
  //     datagram may not exceed 65535 bytes (out_oversize): v4 adds the
  //     first fragment's header, options included; v6 its extension
  //     headers, which rule 7 (ends only) does not see: this fragment's if
  //     it is the first, else the queued first fragment's
  //     (unfragmentable_len).
  const U32 unfrag = T::select(f.off == 0, f.ext, q.unfrag);
  d.rule(Outcome::kOversize,
         complete && T::widen(d.len) + T::widen(unfrag) + unfragmentable_len(f.family, 0) > 65535);
  d.rule(Outcome::kReassembled, complete);
  d.rule(Outcome::kQueued, true);
}

// 14. ip_frag_reasm, first: the ECN codepoints of the datagram's queued
// fragments combined as RFC 3168 section 5.3 asks. `seen` has bit 1 << c
// set for each codepoint c among them, `head` is the first fragment's. A
// datagram mixing Not-ECT with ECT or CE fragments is discarded
// (kEcnDiscard); one with a CE fragment is delivered CE; any other keeps
// its first fragment's codepoint.
inline constexpr uint32_t kEcnDiscard = 4;
template <class T>
typename T::U32 ecn(const typename T::U32& seen, const typename T::U32& head) {
  using U32 = typename T::U32;
  const typename T::B not_ect = (seen & 1u) != 0u, ect_or_ce = (seen & 0xeu) != 0u,
                      ce = (seen & 8u) != 0u;
  return T::select(not_ect && ect_or_ce, U32(kEcnDiscard), T::select(ce, U32(kEcnCe), head));
}

}  // namespace nv::frag::rule
