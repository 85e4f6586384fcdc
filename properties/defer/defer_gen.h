// rapidcheck generator of deferred-skb-freeing traces, for the property
// tests and `netverify gen --subsystem defer`.
//
// A trace is a list of Steps: skbs allocated on one CPU and freed on the
// same or another (half the frees and rx actions start with "go"), rx
// actions, CPUs going down and up, skb_defer_max writes (small values, so
// that lists reach their half-way mark and fill up, and refused ones), and
// targeted races with sched lines: a remote free racing its owner's drain,
// and two remote frees crossing the half-way mark together; and, across the
// netns and frag subsystems, a namespace whose datagram was reassembled on
// another CPU than one of its fragments deleted while (go) that CPU's rx
// drains the fragment (the references that outlive a teardown). render() keeps
// only steps valid where they stand and ends every trace the same way:
// every CPU up, every live skb freed, every CPU's rx, so that each skb must
// have been freed exactly once by the end.
#pragma once

#include <rapidcheck.h>

#include <cstdint>
#include <string>
#include <vector>

#include "properties/netns/netns_gen.h"

namespace nv::gen {

struct DeferStep {
  enum class Kind : uint8_t {
    kAlloc,
    kFree,
    kRx,
    kDown,
    kUp,
    kSysctl,
    kBurst,          // several skbs allocated on one CPU and freed on another
    kRaceFreeDrain,  // go skb free (remote) against go cpu rx of the owner
    kRaceTwoFrees,   // two remote frees to one owner, crossing half-way together
    kTeardown,       // a datagram reassembled across CPUs, its namespace deleted
  };
  Kind kind = Kind::kAlloc;
  uint8_t cpu = 0;     // the CPU the step runs on (the owner, for races)
  uint8_t other = 0;   // another CPU (a remote free's), or a count
  uint8_t skb = 0;     // skb name index
  uint32_t value = 0;  // sysctl value index; sched lines of a race
  bool async = false;  // started with "go"
};

rc::Gen<std::vector<DeferStep>> defer_steps();
std::string render(const std::vector<DeferStep>& steps);
// The three subsystems together: the defer steps' lines interleaved, whole
// concurrent sections at a time, with a namespace trace's (netns_gen.h:
// namespaces, references, pernet operations, devices, fragments and their
// races) as `picks` choose, `cpu steer` lines between them so that its
// fragments arrive on several CPUs and are freed through defer lists; then
// render()'s ending.
std::string compose(const std::vector<DeferStep>& steps, const std::vector<NetnsStep>& netns,
                    const std::vector<uint8_t>& picks);
rc::Gen<std::string> defer_trace();

}  // namespace nv::gen
