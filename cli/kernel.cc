// netverify kernel, netverify kernel-check and replay --engine all: traces
// run against the running kernel (kernel/kernel_engine.h) and compared with
// the model and the impl (runner/kernel_compare.h).
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "cli/exit_status.h"
#include "cli/kernel_run.h"
#include "cli/output_file.h"
#include "cli/trace_file.h"
#include "runner/kernel_compare.h"
#include "runner/runner.h"
#include "trace/event.h"
#include "trace/value.h"

namespace nv::cli {
namespace {

using kernel::KernelResult;

// Prints why the kernel engine did not run; returns the exit status.
int report_not_run(const char* command, const std::string& path, const KernelResult& r) {
  if (r.status == KernelResult::Status::kUnavailable)
    std::fprintf(stderr,
                 "netverify %s: the kernel engine cannot run here: %s\n"
                 "(it needs the privilege to create network namespaces: run as root)\n",
                 command, r.message.c_str());
  else
    std::fprintf(stderr, "netverify %s: %s: %s\n", command, path.c_str(), r.message.c_str());
  return kernel_exit_status(r);
}

void print_kernel_events(const KernelResult& r, bool json) {
  auto print = [&](uint32_t line, const trace::Event& e) {
    if (json)
      std::printf("%s\n", trace::to_json(e, kernel::kEngineName, line).c_str());
    else
      std::printf("line %u: %s\n", line, trace::to_text(e).c_str());
  };
  for (const kernel::KernelStep& s : r.steps)
    for (const trace::Event& e : s.events) print(s.line, e);
  for (const trace::Event& e : r.end_events) {
    if (json)
      print(0, e);
    else
      std::printf("end: %s\n", trace::to_text(e).c_str());
  }
}

size_t deliveries(const KernelResult& r) {
  size_t n = 0;
  for (const kernel::KernelStep& s : r.steps)
    for (const trace::Event& e : s.events) n += e.kind == "deliver";
  return n;
}

int run_kernel_check(const Args& args) {
  const std::string dir = args.positional[0];
  const kernel::KernelOptions options = kernel_options(args);
  std::vector<std::string> paths;
  if (!trace_files_under(dir, "kernel-check", &paths)) return kExitUsage;
  size_t width = 5, failed = 0;
  // An invalid or refused trace (2) outranks a failed system call (3), which
  // outranks a disagreement (1).
  int status = kExitOk;
  auto raise = [&status](int s) {
    if (status == kExitOk || s == kExitUsage || (s == kExitEnvironment && status == kExitFinding))
      status = s;
  };
  std::vector<std::pair<std::string, std::string>> rows;
  for (const std::string& path : paths) {
    width = std::max(width, path.size());
    std::string result = "ok";
    auto trace = load_trace(path, args.input_limits());
    if (!trace) {
      result = "INVALID";
      raise(kExitUsage);
    } else if (auto why = kernel::refusal(*trace, options)) {
      std::fprintf(stderr, "%s: %s\n", path.c_str(), why->c_str());
      result = "REFUSED";
      raise(kExitUsage);
    } else if (runner::RunResult mi = runner::run(*trace, {}); !mi.ok()) {
      std::fprintf(stderr, "%s:\n%s", path.c_str(), runner::format_failure(mi).c_str());
      result = "MODEL/IMPL FAIL";
      raise(kExitFinding);
    } else {
      KernelResult k = kernel::run(*trace, options);
      if (k.status == KernelResult::Status::kUnavailable) {
        std::printf("SKIPPED: the kernel engine cannot run here: %s\n", k.message.c_str());
        return report_not_run("kernel-check", path, k);
      }
      if (k.status != KernelResult::Status::kOk) {
        std::fprintf(stderr, "%s: %s\n", path.c_str(), k.message.c_str());
        result = "KERNEL FAILED";
        raise(kernel_exit_status(k));
      } else if (auto d = runner::compare_with_kernel(*trace, k)) {
        runner::RunResult shown;
        shown.divergence = std::move(d);
        std::fprintf(stderr, "%s:\n%s", path.c_str(), runner::format_failure(shown).c_str());
        result = "DISAGREES line " + std::to_string(shown.divergence->line);
        raise(kExitFinding);
      }
    }
    failed += result != "ok";
    rows.emplace_back(path, result);
  }
  std::printf("%-*s  %s\n", int(width), "trace", "model, impl, kernel");
  for (const auto& [path, result] : rows)
    std::printf("%-*s  %s\n", int(width), path.c_str(), result.c_str());
  std::printf("\n%zu traces: %zu agree, %zu failed\n", rows.size(), rows.size() - failed, failed);
  return status;
}

}  // namespace

int run_kernel_only(const Args& args) {
  const std::string& path = args.positional[0];
  kernel::KernelOptions options = kernel_options(args);
  std::optional<OutputFile> capture;
  // (`replay --engine kernel` has no --capture flag.)
  if (args.has("--capture")) {
    std::string error;
    int status;
    capture = OutputFile::create(args.get("--capture", ""), &error, &status);
    if (!capture) {
      std::fprintf(stderr, "netverify kernel: --capture %s\n", error.c_str());
      return status;
    }
    options.capture_path = capture->write_path();
  }
  auto trace = load_trace(path, args.input_limits());
  if (!trace) return kExitUsage;
  KernelResult r = kernel::run(*trace, options);
  if (r.status != KernelResult::Status::kOk) return report_not_run("kernel", path, r);
  const bool json = args.has("--json");
  print_kernel_events(r, json);
  if (capture) {
    std::string error;
    if (!capture->commit(&error)) {
      std::fprintf(stderr, "netverify kernel: --capture %s\n", error.c_str());
      return kExitEnvironment;
    }
  }
  if (!json)
    std::printf("ok: %zu operations, %zu deliveries; kernel ran\n", r.steps.size(), deliveries(r));
  return kExitOk;
}

kernel::KernelOptions kernel_options(const Args& args) {
  kernel::KernelOptions options;
  options.max_sleep_ms = args.duration_ms(kMaxSleepFlag.name, options.max_sleep_ms);
  return options;
}

int kernel_exit_status(const KernelResult& result) {
  switch (result.status) {
    case KernelResult::Status::kOk:
      return kExitOk;
    case KernelResult::Status::kRefused:
      return kExitUsage;
    case KernelResult::Status::kUnavailable:
      return kExitSkipped;
    case KernelResult::Status::kFailed:
      return kExitEnvironment;
  }
  return kExitEnvironment;
}

int run_replay_all(const Args& args) {
  const std::string& path = args.positional[0];
  runner::RunOptions options;
  options.mutants = args.all("--inject");
  const kernel::KernelOptions kopts = kernel_options(args);
  auto trace = load_trace(path, args.input_limits());
  if (!trace) return kExitUsage;
  if (auto why = kernel::refusal(*trace, kopts)) {
    std::fprintf(stderr, "netverify replay: %s: %s\n", path.c_str(), why->c_str());
    return kExitUsage;
  }
  const bool json = args.has("--json");
  options.on_event = [&](std::string_view name, uint32_t line, const trace::Event& e) {
    if (json)
      std::printf("%s\n", trace::to_json(e, name, line).c_str());
    else if (name == "model" && e.kind != "counters")
      std::printf("line %u: %s\n", line, trace::to_text(e).c_str());
  };
  std::string reproduce = "netverify replay " + path + " --engine all";
  for (const auto& m : options.mutants) reproduce += " --inject " + m;

  runner::RunResult result = runner::run(*trace, options);
  if (result.ok()) {
    KernelResult k = kernel::run(*trace, kopts);
    if (k.status != KernelResult::Status::kOk) return report_not_run("replay", path, k);
    if (json) print_kernel_events(k, true);
    result.divergence = runner::compare_with_kernel(*trace, k, options.mutants);
  }
  if (int status = report_failures(result, json, reproduce)) return status;
  if (!json)
    std::printf("ok: %zu operations, %zu deliveries; model, impl, kernel agree\n", result.ops_run,
                result.deliveries);
  return kExitOk;
}

const Command& kernel_command() {
  static const Command kCommand{
      .name = "kernel",
      .summary = "run a trace against the running Linux kernel",
      .operands = "TRACE",
      .help =
          "Runs TRACE against the running Linux kernel, in fresh network namespaces of\n"
          "a child process (one for init, one per 'netns add'; the host's is never\n"
          "touched): fragments are sent on lo as the exact wire bytes, reassembled\n"
          "datagrams read from raw sockets, counters read from /proc/net. Ticks sleep\n"
          "for real. v6 deliveries have no id (a raw socket does not see it).\n"
          "Expectations are not evaluated. Exit status: 0 ran; 2 invalid trace, or one\n"
          "the kernel engine refuses (too much sleep); 3 a system call failed; 77 no\n"
          "privilege to create a network namespace.",
      .flags = reads_input({kJsonFlag,
                            kMaxSleepFlag,
                            {.name = "--capture",
                             .value = "FILE.pcap",
                             .help = "record what init's lo carries to a pcap file",
                             .type = FlagType::kOutputPath}}),
      .min_positional = 1,
      .max_positional = 1,
      .run = run_kernel_only};
  return kCommand;
}

const Command& kernel_check_command() {
  static const Command kCommand{
      .name = "kernel-check",
      .summary = "run every trace under a directory through model, impl and kernel",
      .operands = "DIR",
      .help =
          "Runs every *.trace file under DIR through model, impl and the running\n"
          "kernel and compares them (deliveries, refused sysctls, counters after\n"
          "every operation). Prints a table; exits 0 if all agree, 1 if any trace\n"
          "fails, 2 if DIR holds no traces or an invalid or refused one, 3 if a\n"
          "system call failed, 77 (skipped) if the kernel engine cannot run here.",
      .flags = reads_input({kMaxSleepFlag}),
      .min_positional = 1,
      .max_positional = 1,
      .run = run_kernel_check};
  return kCommand;
}

}  // namespace nv::cli
