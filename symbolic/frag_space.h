// What the Z3 analysis of the reassembly rules quantifies over: symbolic
// fragments within the trace language's ranges, queues of at most kMaxRuns
// runs, the accounted memory and high_thresh; and the rule of
// model/frag/frag_rule.h evaluated on them.
//
// Two inputs of the rule come from trace/frag/frag_ops.h rather than from the rule
// itself: the truesize an skb is charged, and whether a v6 first fragment
// lacks its upper-layer header. Both are step functions of the fragment's
// length, so they are tabulated from the concrete functions over every legal
// length (no second formula): the analysis assumes the trace defaults,
// proto=253 and pattern data, for which "truncated" means len == 0, and no
// v6 extension headers (ext=none: Input::ext and QueueState::unfrag stay
// 0, so rule 14's v6 branch is not explored here; frag_rule_test.cc and
// corpora/kernel/v6-ext.trace cover it).
//
// A queue state is either built by running the rule on earlier symbolic
// fragments (symbolic/frag_cases.h: every state is then reachable by a real
// trace) or left free under queue_invariant() (symbolic/frag_proofs.h: a
// superset of the reachable states, which the "queue-invariant" proof shows
// closed under every fragment).
#pragma once

#include <cstdint>
#include <string>

#include "model/frag/frag_rule.h"
#include "symbolic/sym.h"
#include "trace/frag/frag_ops.h"

namespace nv::symbolic {

inline constexpr int kMaxRuns = 3;
inline constexpr uint32_t kMaxOff = 65528;  // docs/trace.md: off is a multiple of 8, at most 65528
// docs/trace.md: len is 0..65515 for v4 (so that 20 + len fits the total
// length field) and 0..65527 for v6 (8 + len fits the payload length).
inline constexpr uint32_t max_frag_len(frag::Family f) {
  return f == frag::Family::kV4 ? 65515 : 65527;
}
inline const uint64_t kDefaultHighThresh = frag::Sysctls{}.high_thresh[0];

// trace/frag/frag_ops.h's frag_truesize(f, len) as a 64-bit term of a 32-bit len.
z3::expr truesize(z3::context& ctx, frag::Family f, const z3::expr& len);
// v6_first_fragment_truncated(253, pattern bytes, len) as a boolean term.
z3::expr v6_truncated(z3::context& ctx, const z3::expr& len);

// One fragment with symbolic off, len and mf.
struct SymFragment {
  frag::Family family;
  SymU<32> off, len;
  SymB mf;

  frag::rule::Input<Sym> input() const { return {family, off, len, mf}; }
  // The trace language's ranges: off a multiple of 8 and at most 65528, len
  // at most max_frag_len.
  z3::expr well_formed(z3::context& ctx) const;
};
// Constants named prefix + "off", "len", "mf".
SymFragment fragment_var(Recorder& rec, frag::Family f, const std::string& prefix);

// A queue of `runs` runs whose bounds and flags are free constants
// ("run0.off", "q.len", ...).
frag::rule::QueueState<Sym> queue_var(Recorder& rec, int runs);

// The invariants of a queue FragModel can hold, given the trace ranges:
//   * each run starts at a multiple of 8, at most 65528, and is not empty;
//     runs are sorted and disjoint (adjacent allowed); every run but the
//     last ends at a multiple of 8, and so does the last unless last_in
//     (only a last fragment is not trimmed or refused, and nothing is queued
//     past it); ends are at most 65528 + max_frag_len (v6: 65535, rule 7);
//   * an empty queue has first_in, last_in, len and meat clear; otherwise
//     len is the last run's end, first_in says whether the first run starts
//     at 0, and meat is the sum of the runs' lengths.
z3::expr queue_invariant(z3::context& ctx, frag::Family f, const frag::rule::QueueState<Sym>& q);

// Rules 1-4 and 7-14 on one fragment, as FragModel::receive runs them
// (rules 5 and 6 are assumed not to intervene: the queue is the one given,
// and ipfrag_max_dist is not exceeded).
frag::rule::Decision<Sym> decide(const SymFragment& f, const SymU<64>& high_thresh,
                                 const SymU<64>& mem, const frag::rule::QueueState<Sym>& q);

// Values in a model.
uint64_t value(const z3::model& m, const z3::expr& e);
bool truth(const z3::model& m, const z3::expr& e);

}  // namespace nv::symbolic
