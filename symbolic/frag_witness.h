// A witness: one concrete point of the symbolic analysis, as a trace.
//
// A Witness is a handful of fragments of one datagram (id=1 in namespace
// init, trace defaults otherwise), the last of which is the fragment under
// test, and optionally a high_thresh written before them. replay() runs it
// through FragModel, the concrete interpretation of the same rule, and
// returns what happened to each fragment and the `expect` lines stating it,
// so every witness written to corpora/z3/ says what the model decides and
// `netverify check` holds model and impl to it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/frag/frag_rule.h"
#include "trace/event.h"

namespace nv::symbolic {

struct FragValues {
  uint32_t off = 0, len = 0;
  bool mf = false;
};

struct Witness {
  frag::Family family = frag::Family::kV4;
  // Set: "sysctl init ...low_thresh 0" then "...high_thresh VALUE" come first.
  std::optional<uint64_t> high_thresh;
  std::vector<FragValues> frags;  // in arrival order
};

// The trace's operations, one per line, in canonical form (no header).
std::string witness_ops(const Witness& w);

struct Replay {
  std::vector<trace::Event> setup;                // events of the sysctl writes
  std::vector<std::vector<trace::Event>> events;  // per fragment
  // After the last fragment: "expect deliver ..." or "expect nodeliver ...",
  // the family's ReasmReqds, ReasmOKs, ReasmFails, InHdrErrors (and
  // IpExtReasmOverlaps for v4), and "expect mem ...".
  std::string expectations;
};
Replay replay(const Witness& w);

// Whether a fragment's events are those FragModel reports for outcome `o`
// (nothing for kQueued; a deliver for kWhole and kReassembled; otherwise the
// drop or kill with the outcome's reason, for a v6 Parameter Problem
// followed by the icmp event where one is sent).
bool events_match(frag::rule::Outcome o, const std::vector<trace::Event>& events);

}  // namespace nv::symbolic
