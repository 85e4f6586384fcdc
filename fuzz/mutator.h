// Structure-aware mutation of fuzz inputs: the trace's biases without
// changing what any input means.
//
// Byte-level mutations rarely build what a bug needs across several
// operations: two fragments of one datagram whose lengths add up past a
// limit, a namespace deleted while a tick races it. The decoder cannot be
// biased towards them (its tables are frozen: an input keeps its meaning),
// so the bias lives here, in the mutation step, which libFuzzer calls
// through LLVMFuzzerCustomMutator (fuzz/fuzz_target.cc) for about half of
// its mutations: the input is decoded, one to three operation-level steps
// are applied to the trace, and the trace is encoded back. Steps, all driven by the
// registry's field kinds, none by a subsystem's names:
//   duplicate  an op copied to a later position (a second fragment of the
//              same datagram, a second race);
//   share      a number field takes the value of a number field of another
//              op (a fragment's offset the end of another's run, an id
//              another datagram's);
//   edge       a number field goes to its minimum, its maximum, or its
//              maximum rounded down to a multiple of 8;
//   go         an op starts on a thread of its own, or no longer does;
//   sched      a scheduling decision inserted after a started op;
//   phases     at a section's end, two or three threads in turn, each
//              for 1 to 8 decisions (sched K lines);
//   drop, swap an op deleted; two neighbours exchanged;
// and, for the other half of the steps, one of the targeted shapes the
// subsystems register (Subsystem::fuzz_shapes: a datagram completed or
// taken past the size limit, a namespace's deletion raced).
// Steps whose trace is not valid (a name used after it was deleted) or
// has an op the target's table cannot encode are not taken: mutate()
// returns 0 and the caller mutates bytes instead.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "fuzz/byte_trace.h"
#include "trace/registry.h"

namespace nv::fuzz {

// splitmix64's step: the golden-ratio increment `n` times past `seed`, mixed
// (the mutator's random numbers; kernel-fuzz's per-trace seeds).
uint64_t splitmix64(uint64_t seed, uint64_t n = 1);

// A subsystem's targeted shape (runner::Subsystem::fuzz_shapes).
using Shape = bool (*)(trace::Trace&, uint64_t random);

// The steps `seed` chooses applied to `t` (the decoded input of mutate());
// `sequential` leaves out go, sched and phases, for an engine that runs
// every op in order (`netverify kernel-fuzz` mutating the kernel corpus).
// False when no step changed it or the result is not a valid trace.
bool mutate_trace(trace::Trace& t, const trace::Registry& registry, std::span<const Shape> shapes,
                  uint64_t seed, bool sequential = false);

class Mutator {
 public:
  Mutator(const trace::Registry& registry, const Codec& codec, std::vector<Shape> shapes)
      : registry_(registry), codec_(codec), shapes_(std::move(shapes)) {}
  // Mutates data[0, size) in place by the steps `seed` chooses; returns the
  // new size (at most max_size), or 0 when no step could be taken.
  size_t mutate(uint8_t* data, size_t size, size_t max_size, uint64_t seed) const;

 private:
  const trace::Registry& registry_;
  const Codec& codec_;
  std::vector<Shape> shapes_;
};

}  // namespace nv::fuzz
