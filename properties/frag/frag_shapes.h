// Targeted fragment shapes for the fuzzers' structure-aware mutator
// (fuzz/mutator.h): what the generator builds on purpose (frag_gen.h),
// built into a decoded trace. Each takes one fragment of the trace, chosen
// by bits of `random`, and returns false when the trace has none.
//   frag_complete     the fragment that ends its datagram, right after it:
//                     off at the end of its run, mf=0, a few bytes;
//   frag_past_limit   a last fragment after it whose end lands within a few
//                     bytes of 65535 (either side of the v4 and v6 limits);
//   frag_collide      a second fragment takes the first's key (namespace,
//                     family, id, addresses, protocol);
//   frag_ecn          a fragment takes another ECN codepoint, so that its
//                     datagram mixes them (frag_complete copies it to the
//                     last fragment: the two kinds build a mixed datagram).
#pragma once

#include <cstdint>

#include "trace/op.h"

namespace nv::gen {

bool frag_complete(trace::Trace& t, uint64_t random);
bool frag_past_limit(trace::Trace& t, uint64_t random);
bool frag_collide(trace::Trace& t, uint64_t random);
bool frag_ecn(trace::Trace& t, uint64_t random);

}  // namespace nv::gen
