// netverify minimize: shrink a failing trace, keeping its failure signature.
#include "runner/minimize.h"

#include <cstdio>

#include "cli/exit_status.h"
#include "cli/flags.h"
#include "cli/output_file.h"
#include "cli/trace_file.h"
#include "trace/printer.h"

namespace nv::cli {
namespace {

// The result must not be lost: when it cannot be written, it goes to stderr.
int rescue(const std::string& error, const std::string& text) {
  std::fprintf(stderr,
               "netverify minimize: %s\n"
               "netverify minimize: the minimized trace follows, so that it is not lost:\n%s",
               error.c_str(), text.c_str());
  return kExitEnvironment;
}

int run_minimize(const Args& args) {
  runner::MinimizeOptions options;
  options.mutants = args.all("--inject");
  for (const std::string& d : args.all("--design")) runner::add_design(d, options.designs);
  // Minimizing can take long: learn first that the result can be written.
  const std::string out = args.get("-o", "-");
  std::optional<OutputFile> file;
  if (out != "-") {
    std::string error;
    int status;
    file = OutputFile::create(out, &error, &status);
    if (!file) {
      std::fprintf(stderr, "netverify minimize: -o %s\n", error.c_str());
      return status;
    }
  }
  auto t = load_trace(args.positional[0], args.input_limits());
  if (!t) return kExitUsage;
  options.progress = [](const std::string& line) {
    std::fprintf(stderr, "minimize: %s\n", line.c_str());
  };
  auto result = runner::minimize(*t, options);
  if (!result) {
    std::fprintf(stderr, "netverify minimize: %s does not fail; nothing to minimize\n",
                 args.positional[0].c_str());
    return kExitFinding;
  }
  const std::string text =
      "# minimized by netverify: " + result->signature + "\n" + trace::print(result->trace);
  std::fprintf(stderr, "minimize: %zu ops -> %zu ops (%s), %zu runs\n", t->ops.size(),
               result->trace.ops.size(), result->signature.c_str(), result->runs);
  std::string error;
  if (file) {
    if (!file->write(text, &error) || !file->commit(&error)) return rescue(error, text);
    return kExitOk;
  }
  std::fputs(text.c_str(), stdout);
  if (auto e = stdout_error()) return rescue(*e, text);
  return kExitOk;
}

}  // namespace

const Command& minimize_command() {
  static const Command kCommand{
      .name = "minimize",
      .summary = "shrink a failing trace, keeping its failure signature",
      .operands = "TRACE",
      .help =
          "Reduces a failing trace while keeping its failure signature (which check\n"
          "failed, on which operation kind): delta debugging over operations, then\n"
          "simpler field values. Deterministic. Exit 1 if TRACE does not fail. OUT is\n"
          "checked before minimizing and written atomically; if writing it fails, the\n"
          "minimized trace goes to stderr and the exit status is 3.",
      .flags = reads_input({kInjectFlag,
                            kDesignFlag,
                            {.name = "-o",
                             .value = "OUT",
                             .help = "write the result here (default, or -: stdout)",
                             .type = FlagType::kOutputPath}}),
      .min_positional = 1,
      .max_positional = 1,
      .run = run_minimize};
  return kCommand;
}

}  // namespace nv::cli
