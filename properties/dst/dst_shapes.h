// A targeted shape for the fuzzers' structure-aware mutator (fuzz/
// mutator.h), at the GC's time limits as frag_past_limit is at the size
// limits: an entry of the trace freed while a reference to it is held,
// chosen by bits of `random`, gets a reference taken before its `dst free`;
// after the free the clock passes the worker's first run (DST_GC_MIN, the
// entry busy), the reference is put, and the clock passes DST_GC_MAX +
// DST_GC_MIN, by which every collector must have destroyed it. False on a
// trace with no `dst free`.
#pragma once

#include <cstdint>

#include "trace/op.h"

namespace nv::gen {

bool dst_put_late(trace::Trace& t, uint64_t random);

}  // namespace nv::gen
