// A subsystem as the layers above the engines see it: everything it brings
// through one registration.
//
// Each subsystem contributes one Subsystem value (runner/<name>/
// <name>_subsystem.cc) and subsystems.cc lists them, in dependency order.
// The trace language, the engine sets, the properties, `netverify gen`,
// `netverify mutants`, `netverify list` and the fuzz targets (and through
// `netverify list --fuzz-targets` the scripts that build and run them) all
// take their list from here, so adding a subsystem edits no other
// subsystem's code and no generic layer.
#pragma once

#include <rapidcheck.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "trace/engine.h"
#include "trace/registry.h"

namespace nv::runner {

struct MutantInfo {
  std::string name;  // "frag-no-trim": prefixed by its subsystem
  std::string help;  // the historical bug it reintroduces
  // The subsystem whose generator reaches the bug, when not its own (a
  // fragment bug that shows only while a namespace dies).
  std::string found_by = {};
  // The impl design whose code it plants the bug in (Subsystem::designs),
  // empty when every design has it. A run that injects it uses that design
  // unless another was chosen.
  std::string design = {};
  // Reached only through a table of Subsystem::fuzz_later (a field added
  // after fuzz_ops froze): fuzz_all finds it, the subsystem's target cannot.
  bool later_table = false;
};

// What an engine factory gets.
struct EngineContext {
  // The engine of the same kind already built for a subsystem this one
  // depends on (Subsystem::depends), or nullptr.
  std::function<trace::Engine*(std::string_view subsystem)> engine;
  // Impl only: where deferred work running on its own thread reports its
  // runs (null: nowhere).
  trace::DeferredLog* deferred = nullptr;
  // Impl only: which of Subsystem::designs to build (its first, the
  // default, unless the run chose another; empty for a subsystem with one).
  std::string design;
};

struct Subsystem {
  std::string name;
  // Subsystems whose engines this one's engines use, listed before it.
  std::vector<std::string> depends;
  void (*register_ops)(trace::Registry&);
  std::unique_ptr<trace::Engine> (*make_model)(const EngineContext&);
  // Builds the impl with the named mutants (all of them this subsystem's).
  std::unique_ptr<trace::Engine> (*make_impl)(const EngineContext&,
                                              const std::vector<std::string>& mutants);
  std::vector<MutantInfo> mutants;
  // The impl's designs, each checked against the one model: their names,
  // the default first (empty: the impl has one design). `--design SUB=NAME`
  // picks one; `netverify check` and the subsystem's properties run each.
  std::vector<std::string> designs = {};
  // What a design does not implement: why `op` cannot run in `design`, or
  // std::nullopt (null: every design runs every op). The runner refuses
  // such a run at that op (RunResult::refusal): `replay` exits 2 naming
  // the line, `check` and the subsystem's properties skip the design.
  std::optional<std::string> (*lacks)(std::string_view design, const trace::Op& op) = nullptr;
  // The property generator: a trace's text (used inside a rapidcheck
  // property, and by `netverify gen --subsystem NAME`).
  rc::Gen<std::string> (*gen)();
  // The fuzz target fuzz_NAME: its op table, frozen (fuzz/byte_trace.h:
  // never reorder or append), and its slot in fuzz_all (fixed for good;
  // below fuzz::kSlots, each slot one table).
  std::vector<std::string> fuzz_ops;
  uint8_t fuzz_slot = 0;
  // Tables made after fuzz_ops froze, for ops and late fields added since
  // ("policy frag", "frag+ecn"): fuzz_all decodes each in a slot of its
  // own, fixed for good like fuzz_slot; fuzz_NAME keeps its first table, so
  // its inputs keep their meaning.
  struct FuzzTable {
    std::vector<std::string> ops;
    uint8_t slot = 0;
  };
  std::vector<FuzzTable> fuzz_later = {};
  // Targeted shapes the fuzzers' structure-aware mutator builds into a
  // decoded trace (fuzz/mutator.h), as the generator builds them on
  // purpose: each changes the trace by bits of `random`, or returns false
  // where it does not apply.
  std::vector<bool (*)(trace::Trace&, uint64_t random)> fuzz_shapes = {};
  // What the kernel engine can observe of this subsystem (runner/
  // kernel_compare.h): its counters (compared per namespace); of its
  // events, the part the kernel shows (std::nullopt: not observable); the
  // expectations ("expect ...") that read only what it shows. Empty/null:
  // the kernel sees none of it.
  std::vector<std::string> kernel_counters;
  std::optional<trace::Event> (*kernel_visible)(const trace::Event&) = nullptr;
  std::vector<std::string> kernel_expects = {};
  // Traces the kernel engine runs and observes, with timing it reproduces
  // (`netverify kernel-fuzz` generates them); null: none.
  rc::Gen<std::string> (*kernel_gen)() = nullptr;
};

const std::vector<Subsystem>& subsystems();
const Subsystem* find_subsystem(std::string_view name);

// The trace language: core operations plus every subsystem's.
const trace::Registry& registry();

// A run's design choices: subsystem -> design name (absent: the default).
using Designs = std::map<std::string, std::string, std::less<>>;

// "SUB=NAME" parsed and checked against the subsystems' designs: the error
// message when it names no subsystem or none of its designs.
std::optional<std::string> add_design(std::string_view text, Designs& designs);

// The subsystem owning a mutant, or nullptr for an unknown name.
const Subsystem* subsystem_of_mutant(std::string_view mutant);

// The subsystem owning an operation ("core" ops: nullptr).
const Subsystem* subsystem_of_op(const trace::OpSpec& spec);

}  // namespace nv::runner
