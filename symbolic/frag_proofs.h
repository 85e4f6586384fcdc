// Proofs about the reassembly rule of model/frag/frag_rule.h, by Z3, over a
// bounded state space: what `netverify z3-prove` checks and ctest runs.
//
// Each proof states a claim about one fragment arriving at a queue. Z3 looks
// for a fragment (within the trace language's ranges), a queue of 0 to
// kMaxRuns runs satisfying queue_invariant() (symbolic/frag_space.h),
// high_thresh (any 64-bit value) and accounted memory (below 2^63) that
// violate it, for each family the claim concerns and each number of runs: none
// found is PROVED within those bounds. The "queue-invariant" proof shows the
// invariant holds after every fragment a queue of fewer runs takes, so the
// bounded proofs cover every queue FragModel can hold with at most kMaxRuns
// runs, not only the states the invariant describes. Every proof also checks
// that its premise is satisfiable (a claim about nothing proves nothing).
//
// A counterexample is printed with the queue state and as a trace that
// rebuilds it (one fragment per run, highest first), with what FragModel
// decides for it.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "symbolic/frag_space.h"

namespace nv::symbolic {

// One point of the space, with the rule evaluated on it.
struct ProofPoint {
  z3::context& ctx;
  frag::Family family;
  const SymFragment& f;
  const frag::rule::QueueState<Sym>& q;
  const SymU<64>& high;
  const SymU<64>& mem;
  const SymB& created;  // the fragment created its queue (the queue is then empty)
  const frag::rule::Decision<Sym>& d;

  z3::expr fired(frag::rule::Outcome o) const { return d.fired(o).expr(ctx); }
};

// What a proof asserts at a point: premise => conclusion, for each run count
// 0..max_runs of each family in `families`. A label's premise must hold at
// some point (for some family and run count).
struct Claim {
  std::string label;
  z3::expr premise, conclusion;
};

struct Proof {
  std::string name;
  std::string statement;
  std::vector<frag::Family> families;
  int max_runs = kMaxRuns;
  std::function<std::vector<Claim>(const ProofPoint&)> claims;
  // For claims about constants of their own rather than the point's
  // fragment and queue: the counterexample described, and as trace lines
  // (null: the point's fragment and queue are the counterexample).
  std::function<std::string(const z3::model&, std::string* description)> witness = nullptr;
};

struct ProofResult {
  bool proved = false;
  std::string report;  // "PROVED name ..." or "FAILED name ...", with the counterexample
  std::string counterexample_trace;  // empty when proved
};

const std::vector<Proof>& proofs();
ProofResult prove(const Proof& proof);

}  // namespace nv::symbolic
