// netverify minimize: shrink a failing trace, keeping its failure signature.
#include "runner/minimize.h"

#include <cstdio>
#include <fstream>

#include "cli/flags.h"
#include "cli/trace_file.h"
#include "trace/printer.h"

namespace nv::cli {
namespace {

int run_minimize(const Args& args) {
  runner::MinimizeOptions options;
  options.mutants = args.all("--inject");
  if (!valid_mutants(options.mutants)) return 2;
  auto t = load_trace(args.positional[0]);
  if (!t) return 2;
  options.progress = [](const std::string& line) {
    std::fprintf(stderr, "minimize: %s\n", line.c_str());
  };
  auto result = runner::minimize(*t, options);
  if (!result) {
    std::fprintf(stderr, "netverify minimize: %s does not fail; nothing to minimize\n",
                 args.positional[0].c_str());
    return 1;
  }
  const std::string text =
      "# minimized by netverify: " + result->signature + "\n" + trace::print(result->trace);
  const std::string out = args.get("-o", "-");
  if (out == "-") {
    std::fputs(text.c_str(), stdout);
  } else {
    std::ofstream(out, std::ios::binary) << text;
  }
  std::fprintf(stderr, "minimize: %zu ops -> %zu ops (%s), %zu runs\n", t->ops.size(),
               result->trace.ops.size(), result->signature.c_str(), result->runs);
  return 0;
}

}  // namespace

const Command& minimize_command() {
  static const Command kCommand{
      .name = "minimize",
      .usage = "minimize TRACE [--inject MUTANT]... [-o OUT]",
      .help =
          "Reduces a failing trace while keeping its failure signature (which check\n"
          "failed, on which operation kind): delta debugging over operations, then\n"
          "simpler field values. Deterministic. Exit 1 if TRACE does not fail.",
      .flags = {{"--inject", "MUTANT", "switch on a mutant in the impl (repeatable)"},
                {"-o", "OUT", "write the result here (default: stdout)"}},
      .min_positional = 1,
      .max_positional = 1,
      .run = run_minimize};
  return kCommand;
}

}  // namespace nv::cli
