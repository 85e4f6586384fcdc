// The interface every engine (model, impl, and later the kernel) offers the
// differential runner, per subsystem.
//
// An engine receives every non-expectation op of the trace in order; it acts
// on its own subsystem's ops and on the core ops that concern it (netns,
// tick, its sysctls) and ignores the rest. After each op it appends what it
// observed to `out` and exposes its per-namespace state through snapshot().
#pragma once

#include <string>
#include <vector>

#include "trace/event.h"
#include "trace/op.h"

namespace nv::trace {

class Engine {
 public:
  virtual ~Engine() = default;
  virtual void apply(const Op& op, std::vector<Event>& out) = 0;
  // Adds this engine's counters and gauges for every live namespace.
  virtual void snapshot(Snapshot& out) const = 0;
  // A few lines on the engine's state, for divergence reports.
  virtual std::string describe() const = 0;
};

}  // namespace nv::trace
