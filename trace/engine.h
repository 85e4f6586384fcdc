// The interface every engine (model, impl, and later the kernel) offers the
// differential runner, per subsystem.
//
// An engine receives every non-expectation op of the trace in order; it acts
// on its own subsystem's ops and on the core ops that concern it (tick, its
// sysctls) and ignores the rest. After each op it appends what it observed
// to `out` and exposes its per-namespace state through snapshot(). An
// engine that builds on another (per-namespace state hangs off the netns
// engine's namespaces) gets it when it is made (runner/subsystem.h).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "trace/event.h"
#include "trace/op.h"

namespace nv::trace {

class Engine {
 public:
  virtual ~Engine() = default;
  virtual void apply(const Op& op, std::vector<Event>& out) = 0;
  // Runs the deferred work the kernel would have run by now (a queued
  // namespace cleanup): the runner calls it after each operation that does
  // not leave work racing with the next one.
  virtual void settle(std::vector<Event>& out) { (void)out; }
  // Adds this engine's counters and gauges for every live namespace.
  virtual void snapshot(Snapshot& out) const = 0;
  // A 64-bit digest of what snapshot() would report, cheap enough to take
  // after every operation: engines that agree on the snapshot agree on the
  // digest (the runner takes full snapshots only when digests differ, and for
  // expectations). Combine per-namespace digests by addition, so that the
  // order in which an engine visits its namespaces does not matter.
  virtual uint64_t digest() const = 0;
  // The digest of the part of the snapshot of the namespace bound to the
  // name `ns`, 0 when there is none: digest() is its sum over named
  // namespaces plus the digests of those whose name was unbound while they
  // die (trace/netns/netns_ops.h). The runner compares it for the
  // namespaces an operation names.
  virtual uint64_t digest(std::string_view ns) const = 0;
  // A few lines on the engine's state, for divergence reports.
  virtual std::string describe() const = 0;
};

}  // namespace nv::trace
