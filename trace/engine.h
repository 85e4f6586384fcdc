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

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "trace/event.h"
#include "trace/op.h"

namespace nv::trace {

// Where an impl engine's deferred work reports itself when it runs on a
// thread of its own (a namespace cleanup pass on its workqueue): each run is
// an operation of the history the runner checks, the model's settle(). An
// engine without a log (production, benchmarks) drops those events.
class DeferredLog {
 public:
  virtual ~DeferredLog() = default;
  // A run begins on the calling thread; its events go to the vector returned.
  virtual std::vector<Event>& begin() = 0;
  virtual void end() = 0;
};

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
  // Adds those of the namespace bound to the name `ns` only (nothing when
  // there is none): what the runner needs when an operation names one
  // namespace, at a cost that does not grow with the namespace count. The
  // default filters snapshot(); engines override it.
  virtual void snapshot(std::string_view ns, Snapshot& out) const {
    Snapshot all;
    snapshot(all);
    if (auto it = all.ns.find(ns); it != all.ns.end()) out.ns[it->first].merge(it->second);
  }
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
  // A 64-bit hash of the engine's whole state, not just of what snapshot()
  // shows (queue contents, the pernet list's order): two states with equal
  // fingerprints are taken to be equal by the linearizability search's memo,
  // so a model that clone()s must override it.
  virtual uint64_t fingerprint() const { return digest(); }
  // A copy of this engine, standing on `deps` (the copies of the engines it
  // depends on, made first) instead of the originals; nullptr where the
  // engine cannot be copied. Models can: the linearizability check tries
  // orders of a concurrent history on copies.
  virtual std::unique_ptr<Engine> clone(
      const std::function<Engine*(std::string_view subsystem)>& deps) const {
    (void)deps;
    return nullptr;
  }
  // A few lines on the engine's state, for divergence reports.
  virtual std::string describe() const = 0;
};

}  // namespace nv::trace
