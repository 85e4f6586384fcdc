// The dst subsystem: route cache entries, their references and devices, and
// the garbage collector that destroys freed entries (net/core/dst.c).
#include "impl/dst/dst_impl.h"
#include "impl/dst/dst_mutants.h"
#include "model/dst/dst_model.h"
#include "properties/dst/dst_gen.h"
#include "properties/dst/dst_shapes.h"
#include "runner/subsystem.h"
#include "trace/dst/dst_ops.h"

namespace nv::runner {

Subsystem dst_subsystem() {
  Subsystem s{
      .name = "dst",
      .depends = {"netns"},
      .register_ops = dst::register_ops,
      .make_model = [](const EngineContext& ctx) -> std::unique_ptr<trace::Engine> {
        return std::make_unique<dst::DstModel>(
            *dynamic_cast<netns::PernetHost*>(ctx.engine("netns")));
      },
      .make_impl = [](const EngineContext& ctx,
                      const std::vector<std::string>& mutants) -> std::unique_ptr<trace::Engine> {
        dst::MutantSet set;
        for (const std::string& m : mutants) set.set(*trace::mutant_by_name(dst::kDstMutants, m));
        return std::make_unique<dst::DstImpl>(
            *dynamic_cast<netns::PernetHost*>(ctx.engine("netns")),
            *dst::design_by_name(ctx.design), set);
      },
      .mutants = {},
      .designs = {},
      .gen = gen::dst_trace,
      // Frozen: never reorder or append (fuzz/byte_trace.h).
      .fuzz_ops = {"netns add", "netns del", "dev add", "dev del", "dev down", "dev move",
                   "dst alloc", "dst hold", "dst put", "dst free", "tick", "sched", "go dst hold",
                   "go dst put", "go dst free", "go dev del", "go netns del", "go tick"},
      .fuzz_slot = 2,
      .fuzz_shapes = {gen::dst_put_late}};
  for (std::string_view d : dst::kDesignNames) s.designs.emplace_back(d);
  // Every planted bug is in the worker design's code.
  for (const auto& m : dst::kDstMutants)
    s.mutants.push_back({.name = std::string(m.name),
                         .help = std::string(m.description),
                         .design = std::string(dst::kDesignNames[0])});
  return s;
}

}  // namespace nv::runner
