// Boundary cases of the reassembly rule, found by Z3: what `netverify
// z3-cases` writes to corpora/z3/.
//
// For each family and each shape of what is queued before the fragment under
// test (nothing; one fragment; two fragments in one run; two runs, adjacent
// or not), the rule of model/frag/frag_rule.h is evaluated symbolically on
// every fragment in turn, the earlier ones constrained to be queued as the
// shape says, so every state is one a real trace reaches. Cases then
// constrain the last fragment:
//   * every outcome of the decision (queued ones split by placement);
//   * every relation of the fragment [off, end') (after trimming) to the
//     queued runs, Allen's thirteen interval relations (before, meets,
//     overlaps, starts, during, finishes, equals and their converses; for
//     one run of two fragments also whether the fragment straddles the
//     point where they meet; for two runs the pair of relations), each with
//     every outcome that looks at the runs (rules 8 and 10-14) which the
//     shape reaches at all;
//   * every boundary of every comparison the rule made for it, as recorded
//     by symbolic/sym.h, where the comparison is reached (no earlier rule
//     fired): its operands equal, the left one less, one more (for x % 8:
//     x a multiple of 8, one more, one short).
// Each case is infeasible or solved with the lexicographically smallest
// inputs (offset, length, MF of each fragment in arrival order, then
// high_thresh, which is the default unless the case is about rule 4), so
// the output does not depend on the solver's search. Each distinct trace is
// written once, naming the cases it witnesses, with the `expect` lines of
// replaying it through FragModel, which must also decide what the symbolic
// evaluation predicted (else enumerate_cases throws).
#pragma once

#include <map>
#include <string>
#include <vector>

namespace nv::symbolic {

struct CaseResult {
  std::string family, shape, name;
  std::string file;  // relative path of its witness; empty: infeasible
};

struct Cases {
  std::vector<CaseResult> cases;             // in enumeration order
  std::map<std::string, std::string> files;  // relative path -> trace text
  std::string summary() const;               // counts per family and shape
  std::string index() const;                 // cases.txt: one line per case
};

// Enumerates and solves every case, on up to `threads` threads (the result
// does not depend on it). Throws std::logic_error if FragModel decides a
// witness differently from the symbolic evaluation.
Cases enumerate_cases(unsigned threads);

}  // namespace nv::symbolic
