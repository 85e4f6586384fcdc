#include "runner/subsystem.h"

namespace nv::runner {

Subsystem frag_subsystem();

const std::vector<Subsystem>& subsystems() {
  static const std::vector<Subsystem> kAll = {frag_subsystem()};
  return kAll;
}

const trace::Registry& registry() {
  static const trace::Registry* const kRegistry = [] {
    auto* r = new trace::Registry;
    trace::register_core_ops(*r);
    for (const Subsystem& s : subsystems()) s.register_ops(*r);
    return r;
  }();
  return *kRegistry;
}

const Subsystem* subsystem_of_mutant(std::string_view mutant) {
  for (const Subsystem& s : subsystems())
    for (const MutantInfo& m : s.mutants)
      if (m.name == mutant) return &s;
  return nullptr;
}

}  // namespace nv::runner
