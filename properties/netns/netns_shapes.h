// A targeted teardown race for the fuzzers' structure-aware mutator
// (fuzz/mutator.h), the byte-level counterpart of the generator's races
// (netns_gen.h). Chosen by bits of `random`, either a `netns del` of the
// trace, or a fresh namespace made for an op that names one (added before
// the op, the op moved into it, deleted right after it), and the del
// starts on a thread of its own beside, also started, a copy of an op that
// names the namespace (a fragment into it, a reference taken; just before
// the del, since no line may name a deleted namespace) or, just after it,
// a tick past the default reassembly timeouts (30 s, 60 s) or a
// `netns maybe_get` of the dying namespace's identity. The scheduler's
// strategies (fuzz/harness.h) then interleave them. False when the trace
// has neither a del nor an op that names a namespace.
#pragma once

#include <cstdint>

#include "trace/op.h"

namespace nv::gen {

bool netns_race_del(trace::Trace& t, uint64_t random);

}  // namespace nv::gen
