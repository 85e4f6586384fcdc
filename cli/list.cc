// netverify list: the subsystems, their mutants and ops, and the fuzz
// targets, all from the registry (runner/subsystem.h).
#include <cstdio>
#include <string>

#include "cli/flags.h"
#include "fuzz/harness.h"
#include "runner/subsystem.h"

namespace nv::cli {
namespace {

int run_list(const Args& args) {
  if (args.has("--fuzz-targets")) {
    for (const std::string& t : fuzz::target_names()) std::printf("%s\n", t.c_str());
    return 0;
  }
  for (const runner::Subsystem& s : runner::subsystems()) {
    std::printf("%s\n  ops:", s.name.c_str());
    for (const auto& op : runner::registry().ops())
      if (op->subsystem == s.name) std::printf(" %s,", op->name.c_str());
    std::printf("\n  fuzz target: fuzz_%s\n", s.name.c_str());
    for (const runner::MutantInfo& m : s.mutants)
      std::printf("  mutant %-32s %s\n", m.name.c_str(), m.help.c_str());
  }
  return 0;
}

}  // namespace

const Command& list_command() {
  static const Command kCommand{
      .name = "list",
      .usage = "list [--fuzz-targets]",
      .help =
          "Names every subsystem with its ops, fuzz target and mutants; with\n"
          "--fuzz-targets, only the fuzz targets' names, one a line (the scripts read it).",
      .flags = {{"--fuzz-targets", "", "print the fuzz targets only"}},
      .min_positional = 0,
      .max_positional = 0,
      .run = run_list};
  return kCommand;
}

}  // namespace nv::cli
