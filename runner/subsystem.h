// A subsystem as the layers above the engines see it: its trace operations,
// its model and impl engines, and its mutants.
//
// Each subsystem contributes one Subsystem value (runner/<name>_subsystem.cc);
// subsystems.cc lists them. The registry and every engine set are built from
// that list, so adding a subsystem edits no other subsystem's code.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "trace/engine.h"
#include "trace/registry.h"

namespace nv::runner {

struct MutantInfo {
  std::string name;  // "frag-no-trim"
  std::string help;  // the historical bug it reintroduces
};

struct Subsystem {
  std::string name;
  void (*register_ops)(trace::Registry&);
  std::unique_ptr<trace::Engine> (*make_model)();
  // Builds the impl with the named mutants (all of them this subsystem's).
  std::unique_ptr<trace::Engine> (*make_impl)(const std::vector<std::string>& mutants);
  std::vector<MutantInfo> mutants;
};

const std::vector<Subsystem>& subsystems();

// The trace language: core operations plus every subsystem's.
const trace::Registry& registry();

// The subsystem owning a mutant, or nullptr for an unknown name.
const Subsystem* subsystem_of_mutant(std::string_view mutant);

}  // namespace nv::runner
