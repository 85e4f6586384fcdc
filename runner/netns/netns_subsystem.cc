// The network-namespace subsystem: namespaces, references, pernet
// operations and devices, with batched teardown. Every other subsystem's
// per-namespace state hangs off its engines (trace/netns/netns_ops.h).
#include "impl/netns/netns_impl.h"
#include "model/netns/netns_model.h"
#include "properties/netns/netns_gen.h"
#include "properties/netns/netns_shapes.h"
#include "runner/subsystem.h"
#include "trace/netns/netns_ops.h"

namespace nv::runner {

Subsystem netns_subsystem() {
  Subsystem s{
      .name = "netns",
      .depends = {},
      .register_ops = netns::register_ops,
      .make_model = [](const EngineContext&) -> std::unique_ptr<trace::Engine> {
        return std::make_unique<netns::NetnsModel>();
      },
      .make_impl = [](const EngineContext& ctx,
                      const std::vector<std::string>& mutants) -> std::unique_ptr<trace::Engine> {
        netns::MutantSet set;
        for (const std::string& m : mutants)
          set.set(*trace::mutant_by_name(netns::kNetnsMutants, m));
        return std::make_unique<netns::NetnsImpl>(set, ctx.deferred);
      },
      .mutants = {},
      .gen = gen::netns_trace,
      .fuzz_ops = {"netns add",
                   "netns del",
                   "netns get",
                   "netns put",
                   "netns maybe_get",
                   "pernet register",
                   "pernet unregister",
                   "dev add",
                   "dev del",
                   "dev move",
                   "frag",
                   "tick",
                   "sysctl",
                   "sched",
                   "go netns add",
                   "go netns del",
                   "go netns put",
                   "go netns maybe_get",
                   "go pernet register",
                   "go pernet unregister",
                   "go frag",
                   "go tick",
                   "sched"},
      .fuzz_slot = 1,
      .fuzz_shapes = {gen::netns_race_del}};
  for (const auto& m : netns::kNetnsMutants)
    s.mutants.push_back({std::string(m.name), std::string(m.description)});
  return s;
}

}  // namespace nv::runner
