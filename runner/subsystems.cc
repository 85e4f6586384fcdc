#include "runner/subsystem.h"

namespace nv::runner {

Subsystem netns_subsystem();
Subsystem frag_subsystem();
Subsystem defer_subsystem();

const std::vector<Subsystem>& subsystems() {
  // In dependency order: a subsystem stands after those it depends on.
  static const std::vector<Subsystem> kAll = {netns_subsystem(), defer_subsystem(),
                                              frag_subsystem()};
  return kAll;
}

const Subsystem* find_subsystem(std::string_view name) {
  for (const Subsystem& s : subsystems())
    if (s.name == name) return &s;
  return nullptr;
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

const Subsystem* subsystem_of_op(const trace::OpSpec& spec) {
  return find_subsystem(spec.subsystem);
}

}  // namespace nv::runner
