// netverify list: what this build knows, from the subsystem list
// (runner/subsystem.h): every subsystem with its mutants and fuzz target,
// and every operation; with --fuzz-targets only the fuzz targets' names,
// which the scripts read.
#include <algorithm>
#include <cstdio>

#include "cli/exit_status.h"
#include "cli/flags.h"
#include "fuzz/harness.h"
#include "runner/subsystem.h"

namespace nv::cli {
namespace {

int run_list(const Args& args) {
  if (args.has("--fuzz-targets")) {
    for (const std::string& t : fuzz::target_names()) std::printf("%s\n", t.c_str());
    return kExitOk;
  }
  std::printf("subsystems, their fuzz targets and mutants (--inject MUTANT):\n");
  size_t width = 0;
  for (const runner::Subsystem& s : runner::subsystems())
    for (const runner::MutantInfo& m : s.mutants) width = std::max(width, m.name.size());
  for (const runner::Subsystem& s : runner::subsystems()) {
    std::printf("  %s (fuzz_%s)\n", s.name.c_str(), s.name.c_str());
    if (!s.designs.empty()) {
      std::string names;
      for (const std::string& d : s.designs) names += (names.empty() ? "" : ", ") + d;
      std::printf("    designs (--design %s=NAME, the first the default): %s\n", s.name.c_str(),
                  names.c_str());
    }
    const std::string* design = nullptr;
    for (const runner::MutantInfo& m : s.mutants) {
      // A design's mutants run in it: a heading where the design changes.
      if (!m.design.empty() && (!design || *design != m.design))
        std::printf("    mutants of the %s design:\n", m.design.c_str());
      design = &m.design;
      std::printf("    %-*s  %s\n", int(width), m.name.c_str(), m.help.c_str());
    }
  }
  std::printf("\noperations (docs/trace.md):\n");
  width = 0;
  for (const auto& op : runner::registry().ops()) width = std::max(width, op->name.size());
  for (const auto& op : runner::registry().ops()) {
    std::printf("  %-*s  %-6s  %s\n", int(width), op->name.c_str(), op->subsystem.c_str(),
                op->help.c_str());
  }
  return kExitOk;
}

}  // namespace

const Command& list_command() {
  static const Command kCommand{
      .name = "list",
      .summary = "name every subsystem, its mutants and fuzz target, and every operation",
      .help =
          "Prints every subsystem with its fuzz target and mutants (the names --inject\n"
          "takes, each with the historical bug it reintroduces), then every operation,\n"
          "with its subsystem and help. With --fuzz-targets, only the fuzz targets, one\n"
          "a line: what the build makes and the scripts run.",
      .flags = {{.name = "--fuzz-targets",
                 .value = "",
                 .help = "print the fuzz targets' names only",
                 .type = FlagType::kSwitch}},
      .min_positional = 0,
      .max_positional = 0,
      .run = run_list};
  return kCommand;
}

}  // namespace nv::cli
