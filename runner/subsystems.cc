#include "runner/subsystem.h"

namespace nv::runner {

Subsystem netns_subsystem();
Subsystem frag_subsystem();
Subsystem defer_subsystem();
Subsystem dst_subsystem();

const std::vector<Subsystem>& subsystems() {
  // In dependency order: a subsystem stands after those it depends on.
  static const std::vector<Subsystem> kAll = {netns_subsystem(), defer_subsystem(),
                                              frag_subsystem(), dst_subsystem()};
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

std::optional<std::string> add_design(std::string_view text, Designs& designs) {
  const size_t eq = text.find('=');
  const Subsystem* s = eq == std::string_view::npos ? nullptr : find_subsystem(text.substr(0, eq));
  if (!s) return "bad design '" + std::string(text) + "' (expected SUBSYSTEM=DESIGN)";
  const std::string_view name = text.substr(eq + 1);
  std::string known;
  for (const std::string& d : s->designs) {
    if (d == name) {
      designs[s->name] = d;
      return std::nullopt;
    }
    known += (known.empty() ? "" : ", ") + d;
  }
  return "unknown design '" + std::string(name) + "' of " + s->name +
         (known.empty() ? " (it has one design)" : " (known: " + known + ")");
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
