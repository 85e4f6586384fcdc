// Loading trace files for the CLI: read them within documented limits,
// parse with the full registry, report FILE:LINE:COL diagnostics, and read
// what a corpus file declares (its mutants, its failure signature).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runner/runner.h"
#include "trace/op.h"

namespace nv::cli {

// What an input may hold before it is refused (--max-bytes, --max-line,
// --max-ops; docs/trace.md, "Limits"). The defaults are far above any trace
// netverify writes and far below what exhausts memory.
struct InputLimits {
  uint64_t max_bytes = uint64_t{256} << 20;
  uint64_t max_line = uint64_t{1} << 20;  // trace lines only
  uint64_t max_ops = 10'000'000;          // trace operations only
};

// Reads a whole input: a regular file or a pipe, of at most `max_bytes`
// bytes, and with `max_line` > 0 no line longer than that. Refuses with
// *error set ("FILE: why" or "FILE:LINE:COL: why") a missing or unreadable
// file, a directory, a device (/dev/zero never ends), and an input beyond
// the limits, which it stops reading there.
std::optional<std::string> read_input(const std::string& path, uint64_t max_bytes,
                                      uint64_t max_line, std::string* error);

// What no text trace holds: a byte-order mark, a NUL byte, more than
// limits.max_ops operations. The error as "FILE:LINE:COL: why".
std::optional<std::string> check_trace_text(const std::string& path, std::string_view text,
                                            const InputLimits& limits);

// Reads the file and checks it as text (read_input, check_trace_text); on
// error prints it to stderr. The text parses with trace::Parser, as it runs.
std::optional<std::string> load_trace_text(const std::string& path, const InputLimits& limits = {});

struct TraceFile {
  std::string text;
  trace::Trace trace;
};

// Reads and parses the file; on error prints "FILE:LINE:COL: message" (or
// "FILE: message") to stderr.
std::optional<TraceFile> load_trace_file(const std::string& path, const InputLimits& limits = {});
std::optional<trace::Trace> load_trace(const std::string& path, const InputLimits& limits = {});

// The *.trace files under `dir`, sorted, into *paths; false (an error
// "netverify COMMAND: ..." printed) if `dir` is no directory, cannot be
// listed, or holds none.
bool trace_files_under(const std::string& dir, const char* command,
                       std::vector<std::string>* paths);

// What a corpus trace declares in comment lines "TAG VALUE" (TAG such as
// "# signature:"), in order.
std::vector<std::string> declared(const std::string& path, std::string_view tag);
std::vector<std::string> declared_in_text(std::string_view text, std::string_view tag);
// The mutants a corpus trace says it detects: lines "# mutant: NAME".
std::vector<std::string> declared_mutants(const std::string& path);
std::vector<std::string> declared_mutants_in_text(std::string_view text);

// Reports a failed run: with --json, a "divergence" or "expect-failed" event
// per failure on stdout; always the runner's report and the `reproduce`
// command on stderr. Returns the exit status (kExitOk when the run was ok,
// else kExitFinding).
int report_failures(const runner::RunResult& result, bool json, const std::string& reproduce);

// Checks mutant names; on an unknown one prints an error listing the known.
bool valid_mutants(const std::vector<std::string>& names);
// "unknown mutant 'NAME'; known mutants:" and one line per mutant with its
// help, from nv::runner::subsystems().
std::string unknown_mutant_message(std::string_view name);

}  // namespace nv::cli
