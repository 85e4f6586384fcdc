// The three-way comparison: model and impl against the running kernel
// (kernel/kernel_engine.h), reported like the differential runner's
// divergences.
//
// The kernel shows less than the other engines, so it is compared on what it
// shows, after every operation:
//   * deliver events, as a multiset of (ns, family, src, dst, proto, len,
//     fnv1a64) plus the id for v4: a v6 raw socket does not see the id;
//   * sysctl-refused events;
//   * every namespace's counters (the kernel's are deltas since the
//     namespace was created; the engines' start at zero).
// Drops, kills and the memory gauges are not compared: the kernel does not
// report them one by one. The first operation where the model or the impl
// differs from the kernel is the Divergence.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "kernel/kernel_engine.h"
#include "runner/runner.h"
#include "trace/op.h"

namespace nv::runner {

// `kernel` must be a finished run (status kOk) of the same trace.
std::optional<Divergence> compare_with_kernel(const trace::Trace& trace,
                                              const kernel::KernelResult& kernel,
                                              const std::vector<std::string>& mutants = {});

// An event as the kernel can show it: deliver (without "id" for v6) and
// sysctl-refused events pass, with their fields; every other kind is
// std::nullopt.
std::optional<trace::Event> kernel_visible(const trace::Event& event);

}  // namespace nv::runner
