// Saving a failing trace so that it can be replayed (STYLE.md 2).
//
// A failure is written atomically (temporary file, then rename) to
// $NV_FAILURE_DIR, or the current directory, as NAME.failure.trace, and the
// message to print names the exact `netverify replay` command.
#pragma once

#include <string>
#include <vector>

namespace nv::props {

// Where save_failure(name, ...) writes.
std::string failure_path(const std::string& name);

// Writes `trace_text` and returns its path.
std::string save_failure(const std::string& name, const std::string& trace_text);

// "netverify replay PATH [--inject M]..."
std::string replay_command(const std::string& path, const std::vector<std::string>& mutants);

}  // namespace nv::props
