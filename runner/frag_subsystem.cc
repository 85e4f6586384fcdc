// The fragment-reassembly subsystem: its ops, engines and mutants.
#include "impl/frag/frag_impl.h"
#include "impl/frag/frag_mutants.h"
#include "model/frag/frag_model.h"
#include "runner/subsystem.h"
#include "trace/frag_ops.h"

namespace nv::runner {

Subsystem frag_subsystem() {
  Subsystem s{
      .name = "frag",
      .register_ops = frag::register_ops,
      .make_model = []() -> std::unique_ptr<trace::Engine> {
        return std::make_unique<frag::FragModel>();
      },
      .make_impl = [](const std::vector<std::string>& mutants) -> std::unique_ptr<trace::Engine> {
        frag::MutantSet set;
        for (const std::string& m : mutants) set.set(*frag::frag_mutant_by_name(m));
        return std::make_unique<frag::FragImpl>(set);
      },
      .mutants = {}};
  for (const auto& m : frag::kFragMutants)
    s.mutants.push_back({std::string(m.name), std::string(m.description)});
  return s;
}

}  // namespace nv::runner
