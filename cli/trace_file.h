// Loading trace files for the CLI: parse with the full registry, report
// FILE:LINE:COL diagnostics, and read what a corpus file declares (its
// mutants, its failure signature).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runner/runner.h"
#include "trace/op.h"

namespace nv::cli {

// Parses the file; on error prints "FILE:LINE:COL: message" to stderr.
std::optional<trace::Trace> load_trace(const std::string& path);

// What a corpus trace declares in comment lines "TAG VALUE" (TAG such as
// "# signature:"), in order.
std::vector<std::string> declared(const std::string& path, std::string_view tag);
// The mutants a corpus trace says it detects: lines "# mutant: NAME".
std::vector<std::string> declared_mutants(const std::string& path);

// Reports a failed run: with --json, a "divergence" or "expect-failed" event
// per failure on stdout; always the runner's report and the `reproduce`
// command on stderr. Returns the exit status (0 when the run was ok).
int report_failures(const runner::RunResult& result, bool json, const std::string& reproduce);

// Checks mutant names; on an unknown one prints an error listing the known.
bool valid_mutants(const std::vector<std::string>& names);

}  // namespace nv::cli
