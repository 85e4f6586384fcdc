// Reducing a failing trace while keeping its failure signature (which check
// failed, on which operation kind: runner::failure_signature).
//
// First delta debugging over operations (Zeller's ddmin: drop chunks, halve
// the chunk size when none can go), then simplification of each remaining
// operation's fields (drop optional fields, numbers towards their minimum,
// namespaces towards "init"), repeated until neither step changes anything.
// Every candidate is printed and re-parsed, so it is always a valid trace.
// Deterministic: the same input always gives the same output.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "runner/runner.h"
#include "runner/subsystem.h"
#include "trace/op.h"

namespace nv::runner {

struct MinimizeOptions {
  std::vector<std::string> mutants;
  Designs designs;
  std::function<void(const std::string&)> progress;  // one line per improvement
  // The run whose failure signature is kept (null: runner::run with
  // `mutants` and `designs`); `netverify kernel-fuzz` puts the kernel in
  // the loop here.
  std::function<RunResult(const trace::Trace&)> run;
  // Stop after this many candidates with the smallest failing trace so far
  // (0: no bound).
  size_t max_runs = 0;
};

struct MinimizeResult {
  trace::Trace trace;
  std::string signature;
  size_t runs = 0;  // candidates tried
};

// std::nullopt when the trace does not fail in the first place.
std::optional<MinimizeResult> minimize(const trace::Trace& trace, const MinimizeOptions& options);

}  // namespace nv::runner
