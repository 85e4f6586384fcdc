// netverify replay: run one trace through the engines.
#include <cstdio>

#include "cli/exit_status.h"
#include "cli/flags.h"
#include "cli/kernel_run.h"
#include "cli/trace_file.h"
#include "runner/runner.h"
#include "trace/event.h"
#include "trace/parser.h"

namespace nv::cli {
namespace {

int run_replay(const Args& args) {
  const std::string& path = args.positional[0];
  std::string engine = args.get("--engine", "both");
  if (engine == "all") return run_replay_all(args);
  if (engine == "kernel") return run_kernel_only(args);
  runner::RunOptions options;
  if (engine == "model")
    options.engines = {runner::EngineKind::kModel};
  else if (engine == "impl")
    options.engines = {runner::EngineKind::kImpl};
  options.mutants = args.all("--inject");
  for (const std::string& d : args.all("--design")) runner::add_design(d, options.designs);
  if (!options.mutants.empty() && engine == "model") {
    std::fprintf(stderr, "netverify replay: mutants live in the impl; use --engine impl or both\n");
    return kExitUsage;
  }
  // Parsed as it runs: memory follows the live state, not the trace's length.
  const std::optional<std::string> text = load_trace_text(path, args.input_limits());
  if (!text) return kExitUsage;
  trace::Parser ops(*text, runner::registry());

  const bool json = args.has("--json");
  const std::string first_engine(runner::engine_name(options.engines[0]));
  options.on_event = [&](std::string_view name, uint32_t line, const trace::Event& e) {
    if (json) {
      std::printf("%s\n", trace::to_json(e, name, line).c_str());
    } else if (name == first_engine && e.kind != "counters") {
      std::printf("line %u: %s\n", line, trace::to_text(e).c_str());
    }
  };
  runner::RunResult result = runner::run(ops, options);
  if (const auto& error = ops.error()) {  // an invalid line ended the run there
    std::fprintf(stderr, "%s\n", trace::format_diagnostic(path, *error).c_str());
    return kExitUsage;
  }
  if (const auto& refusal = result.refusal) {  // a line the chosen design does not implement
    std::fprintf(stderr, "%s:%u:1: %s\n", path.c_str(), refusal->line, refusal->message.c_str());
    return kExitUsage;
  }
  std::string reproduce = "netverify replay " + path;
  for (const auto& m : options.mutants) reproduce += " --inject " + m;
  for (const auto& d : args.all("--design")) reproduce += " --design " + d;
  if (int status = report_failures(result, json, reproduce)) return status;
  if (!json) {
    std::string names;
    for (auto k : options.engines)
      names += (names.empty() ? "" : ", ") + std::string(runner::engine_name(k));
    std::string designs;
    for (const runner::Redesign& r : result.redesigned)
      designs += "; " + r.subsystem + " in its " + r.design + " design (line " +
                 std::to_string(r.line) + ")";
    std::printf("ok: %zu operations, %zu deliveries; %s %s%s\n", result.ops_run, result.deliveries,
                names.c_str(), options.engines.size() > 1 ? "agree" : "ran", designs.c_str());
  }
  return kExitOk;
}

}  // namespace

const Command& replay_command() {
  static const Command kCommand{
      .name = "replay",
      .summary = "run a trace through model and impl (or the kernel) and compare them",
      .operands = "TRACE",
      .help =
          "Runs TRACE through the chosen engines, comparing them after every operation\n"
          "and checking its expectations. Exit status: 0 the engines agree and every\n"
          "expectation holds; 1 a divergence or a failed expectation; 2 invalid trace\n"
          "or command line; 3 (--engine kernel, all) a system call failed; 77\n"
          "(--engine kernel, all) the kernel engine cannot run here.",
      .flags = reads_input({{.name = "--engine",
                             .value = "model|impl|both|kernel|all",
                             .help = "model, impl, both (default), kernel, or all three",
                             .type = FlagType::kChoice},
                            kJsonFlag,
                            kInjectFlag,
                            kDesignFlag,
                            kMaxSleepFlag}),
      .min_positional = 1,
      .max_positional = 1,
      .run = run_replay};
  return kCommand;
}

}  // namespace nv::cli
