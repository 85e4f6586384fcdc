// netverify check: replay every trace under a directory.
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "cli/exit_status.h"
#include "cli/flags.h"
#include "cli/trace_file.h"
#include "runner/runner.h"
#include "runner/subsystem.h"

namespace nv::cli {
namespace {

struct Row {
  std::string path;
  size_t ops = 0;
  std::string result;
  int status = kExitOk;
};

// The default designs, then each other design of each subsystem with
// several whose operations the trace uses, one at a time. A design that
// lacks what the trace asks for (Subsystem::lacks) is skipped; one at
// least must run it.
std::vector<runner::Designs> designs_to_check(const trace::Trace& trace) {
  std::vector<runner::Designs> out = {{}};
  for (const runner::Subsystem& s : runner::subsystems()) {
    bool used = false;
    for (const trace::Op& op : trace.ops) used |= op.spec->subsystem == s.name;
    for (size_t d = 1; used && d < s.designs.size(); ++d) out.push_back({{s.name, s.designs[d]}});
  }
  return out;
}

Row check_one(const std::string& path, const InputLimits& limits) {
  Row row{path, 0, "", kExitUsage};
  auto file = load_trace_file(path, limits);
  if (!file) {
    row.result = "INVALID";
    return row;
  }
  const trace::Trace* trace = &file->trace;
  row.ops = trace->ops.size();
  // Every design of every subsystem whose operations the trace uses.
  size_t ran = 0;
  std::string refused;
  for (const runner::Designs& designs : designs_to_check(*trace)) {
    runner::RunOptions options;
    options.designs = designs;
    runner::RunResult r = runner::run(*trace, options);
    if (r.refusal) {
      refused = "line " + std::to_string(r.refusal->line) + ": " + r.refusal->message;
      continue;
    }
    ++ran;
    if (r.ok()) continue;
    std::string chosen;
    for (const auto& [sub, d] : designs) chosen += " --design " + sub + "=" + d;
    std::fprintf(stderr, "%s%s:\n%s", path.c_str(), chosen.c_str(),
                 runner::format_failure(r).c_str());
    row.result = (r.divergence ? "DIVERGENCE line " + std::to_string(r.divergence->line)
                               : "EXPECT line " + std::to_string(r.expect_failures[0].line)) +
                 chosen;
    row.status = kExitFinding;
    return row;
  }
  if (ran == 0) {
    std::fprintf(stderr, "%s: no design runs it: %s\n", path.c_str(), refused.c_str());
    row.result = "REFUSED";
    return row;
  }
  // A regression trace must also catch the mutant it was written for.
  std::vector<std::string> mutants = declared_mutants_in_text(file->text);
  for (const std::string& m : mutants) {
    if (!runner::subsystem_of_mutant(m)) {
      std::fprintf(stderr, "%s: %s\n", path.c_str(), unknown_mutant_message(m).c_str());
      row.result = "UNKNOWN MUTANT";
      return row;
    }
  }
  for (const std::string& m : mutants) {
    runner::RunOptions options;
    options.mutants = {m};
    if (const runner::RunResult r = runner::run(*trace, options); r.ok() || r.refusal) {
      row.result = "MISSED " + m;
      row.status = kExitFinding;
      return row;
    }
  }
  row.status = kExitOk;
  row.result = mutants.empty() ? "ok" : "ok, detects " + std::to_string(mutants.size()) + " mutant";
  return row;
}

int run_check(const Args& args) {
  const std::string dir = args.positional[0];
  std::vector<std::string> paths;
  if (!trace_files_under(dir, "check", &paths)) return kExitUsage;
  const InputLimits limits = args.input_limits();
  const bool tty = isatty(STDERR_FILENO);
  std::vector<Row> rows;
  size_t width = 5, failed = 0, ops = 0;
  bool invalid = false;
  for (size_t i = 0; i < paths.size(); ++i) {
    if (tty) std::fprintf(stderr, "\r\033[K[%zu/%zu] %s", i + 1, paths.size(), paths[i].c_str());
    rows.push_back(check_one(paths[i], limits));
    width = std::max(width, paths[i].size());
    failed += rows.back().status != kExitOk;
    invalid |= rows.back().status == kExitUsage;
    ops += rows.back().ops;
  }
  if (tty) std::fprintf(stderr, "\r\033[K");
  std::printf("%-*s %6s  %s\n", int(width), "trace", "ops", "result");
  for (const Row& r : rows)
    std::printf("%-*s %6zu  %s\n", int(width), r.path.c_str(), r.ops, r.result.c_str());
  std::printf("\n%zu traces, %zu operations: %zu passed, %zu failed\n", rows.size(), ops,
              rows.size() - failed, failed);
  // An invalid trace is the input's fault (2), whatever else failed.
  return invalid ? kExitUsage : failed ? kExitFinding : kExitOk;
}

}  // namespace

const Command& check_command() {
  static const Command kCommand{
      .name = "check",
      .summary = "replay every trace under a directory through model and impl",
      .operands = "DIR",
      .help =
          "Replays every *.trace file under DIR through model and impl, the impl in\n"
          "each design of each subsystem the trace uses (--design). A trace that\n"
          "declares '# mutant: NAME' must also fail with that mutant injected. Prints a\n"
          "table and exits 1 if any trace fails or misses its mutant, 2 if DIR holds no\n"
          "traces or an invalid one (or one declaring an unknown mutant).",
      .flags = reads_input({}),
      .min_positional = 1,
      .max_positional = 1,
      .run = run_check};
  return kCommand;
}

}  // namespace nv::cli
