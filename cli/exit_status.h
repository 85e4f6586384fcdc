// The exit statuses of every netverify command: one table, the same meaning
// everywhere. `netverify --help` prints it and README.md, "Exit status",
// repeats it (cli_hardening_test.cc checks that the two agree).
//
// 1 is reserved for findings, so a script can tell "netverify found a bug"
// from "netverify could not do its job": the input was wrong (2), the
// machine failed it (3), or it lacked the privilege to try (77, the status
// ctest and automake read as "skipped").
#pragma once

#include <array>
#include <string_view>

namespace nv::cli {

inline constexpr int kExitOk = 0;
// A divergence, a failed expectation, a mutant missed, a trace that does not
// fail where it must.
inline constexpr int kExitFinding = 1;
// The user's input or command line is wrong: an invalid trace or capture, a
// file that cannot be read or created, an unknown option or a bad value.
inline constexpr int kExitUsage = 2;
// The environment failed: a system call, a full disk, a write error
// (standard output included). Overrides 0 and 1: the result was not
// delivered.
inline constexpr int kExitEnvironment = 3;
// Skipped: no privilege to create a network namespace (the kernel engine).
inline constexpr int kExitSkipped = 77;

struct ExitStatusRow {
  int status;
  std::string_view meaning;  // a line starting with spaces continues the one above
};

// As `netverify --help` prints it (each meaning fits an 80-column line).
inline constexpr std::array<ExitStatusRow, 8> kExitStatusTable{{
    {kExitOk, "success"},
    {kExitFinding, "a finding: a divergence, a failed expectation, a missed mutant, a"},
    {kExitFinding, "  trace that does not fail where it must"},
    {kExitUsage, "the input or command line is wrong: an invalid trace, a file that"},
    {kExitUsage, "  cannot be read or created, a bad option or value, a limit exceeded"},
    {kExitEnvironment, "the environment failed: a system call, a full disk, a write error"},
    {kExitEnvironment, "  (standard output too); overrides 0 and 1"},
    {kExitSkipped, "skipped: no privilege to create a network namespace (kernel engine)"},
}};

}  // namespace nv::cli
