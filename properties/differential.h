// The differential property: on every generated trace the model and the
// impl agree after every operation.
//
// differential_property() is the property body the rapidcheck tests run, on
// traces from one subsystem's generator (runner/subsystem.h); detect() runs
// the same property programmatically with a seed and a budget, on the
// generator of the mutant's subsystem, as the mutant tests (and `netverify
// mutants`) need: it says whether the property failed, after how many cases,
// and where the shrunk trace is; detection_rate() says how often it fails.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runner/subsystem.h"

namespace nv::props {

// Generates a trace with `subsystem`'s generator, replays it through model
// and impl (with `mutants` in the impl) and fails, saving the trace and
// printing the replay command, when they disagree or an expectation fails.
// `designs` picks impl designs (runner/subsystem.h; default: each first).
void differential_property(std::string_view subsystem, const std::vector<std::string>& mutants,
                           const runner::Designs& designs = {});

// A trace from a subsystem's generator, as `netverify gen` prints it.
std::string generate_trace(std::string_view subsystem, uint64_t seed, int size);

struct Detection {
  bool detected = false;
  int cases = 0;             // cases that passed before the failing one
  std::string failure_file;  // the shrunk counterexample
  std::string signature;     // runner::failure_signature of it
};

// With shrink false the failure file holds the first failing case as
// generated, which is much faster to find for large traces.
Detection detect(const std::vector<std::string>& mutants, uint64_t seed, int max_success = 100,
                 bool shrink = true);

// How often the property catches the mutants: of `cases` cases generated
// at `size` (from seeds seed, seed + 1, ...) by the generator that reaches
// them, how many fail, among those the mutants' design runs (Rate::cases:
// a trace it lacks something for, Subsystem::lacks, does not count).
struct Rate {
  int caught = 0;
  int cases = 0;
  double percent() const { return cases ? 100.0 * caught / cases : 0; }
};
Rate detection_rate(const std::vector<std::string>& mutants, uint64_t seed, int cases,
                    int size = 50);

}  // namespace nv::props
