// netverify list: what this build knows, from the subsystem list
// (runner/subsystem.h): every subsystem with its mutants, and every
// operation the fuzzers generate (fuzz/byte_trace.h decodes every operation
// that is not an expectation).
#include <algorithm>
#include <cstdio>

#include "cli/exit_status.h"
#include "cli/flags.h"
#include "runner/subsystem.h"

namespace nv::cli {
namespace {

int run_list(const Args&) {
  std::printf("subsystems and their mutants (--inject MUTANT):\n");
  size_t width = 0;
  for (const runner::Subsystem& s : runner::subsystems())
    for (const runner::MutantInfo& m : s.mutants) width = std::max(width, m.name.size());
  for (const runner::Subsystem& s : runner::subsystems()) {
    std::printf("  %s\n", s.name.c_str());
    for (const runner::MutantInfo& m : s.mutants)
      std::printf("    %-*s  %s\n", int(width), m.name.c_str(), m.help.c_str());
  }
  std::printf("\noperations the fuzzers generate (netverify decode; docs/trace.md):\n");
  width = 0;
  for (const auto& op : runner::registry().ops())
    if (!op->expect) width = std::max(width, op->name.size());
  for (const auto& op : runner::registry().ops()) {
    if (op->expect) continue;
    std::printf("  %-*s  %-6s  %s\n", int(width), op->name.c_str(), op->subsystem.c_str(),
                op->help.c_str());
  }
  return kExitOk;
}

}  // namespace

const Command& list_command() {
  static const Command kCommand{
      .name = "list",
      .summary = "name every subsystem, its mutants, and the operations the fuzzers generate",
      .help =
          "Prints every subsystem with its mutants (the names --inject takes, each with\n"
          "the historical bug it reintroduces), then every operation the fuzz decoder\n"
          "generates, with its subsystem and help.",
      .flags = {},
      .min_positional = 0,
      .max_positional = 0,
      .run = run_list};
  return kCommand;
}

}  // namespace nv::cli
