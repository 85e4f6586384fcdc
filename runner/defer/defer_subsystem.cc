// The deferred-skb-freeing subsystem: per-CPU defer lists, their kick and
// drain, CPU hotplug and net.core.skb_defer_max. It keeps no per-namespace
// state (the sysctl is init_net's), but a deferred skb may hold a
// namespace (netns::PernetHost::hold) until its owner's rx frees it.
#include "impl/defer/defer_impl.h"
#include "impl/defer/defer_mutants.h"
#include "model/defer/defer_model.h"
#include "properties/defer/defer_gen.h"
#include "properties/defer/defer_shapes.h"
#include "runner/subsystem.h"
#include "trace/defer/defer_ops.h"

namespace nv::runner {

Subsystem defer_subsystem() {
  Subsystem s{
      .name = "defer",
      .depends = {"netns"},
      .register_ops = defer::register_ops,
      .make_model = [](const EngineContext& ctx) -> std::unique_ptr<trace::Engine> {
        return std::make_unique<defer::DeferModel>(
            dynamic_cast<netns::PernetHost*>(ctx.engine("netns")));
      },
      .make_impl = [](const EngineContext& ctx,
                      const std::vector<std::string>& mutants) -> std::unique_ptr<trace::Engine> {
        defer::MutantSet set;
        for (const std::string& m : mutants)
          set.set(*trace::mutant_by_name(defer::kDeferMutants, m));
        return std::make_unique<defer::DeferImpl>(
            set, dynamic_cast<netns::PernetHost*>(ctx.engine("netns")));
      },
      .mutants = {},
      .gen = gen::defer_trace,
      .fuzz_ops = {"skb alloc", "skb free", "cpu rx", "cpu down", "cpu up", "sysctl", "sched",
                   "go skb alloc", "go skb free", "go cpu rx", "go cpu down", "go cpu up", "sched",
                   "cpu steer", "go cpu steer"},
      .fuzz_slot = 3,
      .fuzz_shapes = {gen::defer_steer}};
  for (const auto& m : defer::kDeferMutants)
    s.mutants.push_back({std::string(m.name), std::string(m.description)});
  return s;
}

}  // namespace nv::runner
