// A targeted shape for the fuzzers' structure-aware mutator (fuzz/
// mutator.h), the byte-level counterpart of the generator's remote frees
// (defer_gen.h): an op of the trace of another subsystem than this one and
// the core (a fragment received), chosen by bits of `random`, runs with
// packets arriving on another CPU (`cpu steer` 1..3 before it, `cpu steer
// 0` after it), so that what it allocates is freed later from another CPU
// and goes back through the allocating CPU's defer list. False on a trace
// with no op to steer.
#pragma once

#include <cstdint>

#include "trace/op.h"

namespace nv::gen {

bool defer_steer(trace::Trace& t, uint64_t random);

}  // namespace nv::gen
