// netverify kernel, netverify kernel-check and replay --engine all: traces
// run against the running kernel (kernel/kernel_engine.h) and compared with
// the model and the impl (runner/kernel_compare.h).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string_view>

#include "cli/exit_status.h"
#include "cli/kernel_run.h"
#include "cli/output_file.h"
#include "cli/trace_file.h"
#include "runner/kernel_compare.h"
#include "runner/runner.h"
#include "trace/event.h"
#include "trace/printer.h"
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
  else if (r.status == KernelResult::Status::kInterrupted)
    std::fprintf(stderr,
                 "netverify %s: %s: %s; the kernel engine stopped and closed its namespaces\n",
                 command, path.c_str(), r.message.c_str());
  else
    std::fprintf(stderr, "netverify %s: %s: %s\n", command, path.c_str(), r.message.c_str());
  return kernel_exit_status(r);
}

// The 1-based column of " KEY=" on the 1-based line `line` of `text` (the
// key's first character), or of the line's first character.
uint32_t column_of(std::string_view text, uint32_t line, std::string_view key) {
  size_t at = 0;
  for (uint32_t l = 1; l < line && at != std::string_view::npos; ++l) {
    at = text.find('\n', at);
    if (at != std::string_view::npos) ++at;
  }
  if (at == std::string_view::npos || key.empty()) return 1;
  const std::string_view row = text.substr(at, text.find('\n', at) - at);
  const size_t k = row.find(" " + std::string(key) + "=");
  return k == std::string_view::npos ? 1 : uint32_t(k + 2);
}

// Prints "FILE:LINE:COL: message" when the kernel engine refuses the trace.
bool refused(const TraceFile& file, const std::string& path, const kernel::KernelOptions& options) {
  auto why = kernel::refusal(file.trace, options);
  if (!why) return false;
  if (why->line == 0)
    std::fprintf(stderr, "%s: %s\n", path.c_str(), why->message.c_str());
  else
    std::fprintf(stderr, "%s:%u:%u: %s\n", path.c_str(), why->line,
                 column_of(file.text, why->line, why->field), why->message.c_str());
  return true;
}

// Progress of a long kernel run on stderr, at most once a second and only
// after the first two: "netverify kernel: t.trace: line 812, operation 400 of
// 2000, 3 s".
class Progress {
 public:
  Progress(const char* command, const std::string& path, const trace::Trace& trace)
      : command_(command), path_(path), start_(Clock::now()), next_(start_ + kQuiet) {
    for (const trace::Op& op : trace.ops) total_ += !op.spec->expect;
  }
  void install(kernel::KernelOptions& options) {
    options.on_step = [this](const kernel::KernelStep& step) { on_step(step); };
  }

 private:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds kQuiet{2};

  void on_step(const kernel::KernelStep& step) {
    ++done_;
    const Clock::time_point now = Clock::now();
    if (now < next_) return;
    next_ = now + std::chrono::seconds(1);
    std::fprintf(stderr, "netverify %s: %s: line %u, operation %zu of %zu, %lld s\n", command_,
                 path_.c_str(), step.line, done_, total_,
                 static_cast<long long>(
                     std::chrono::duration_cast<std::chrono::seconds>(now - start_).count()));
  }

  const char* command_;
  const std::string& path_;
  size_t total_ = 0, done_ = 0;
  Clock::time_point start_, next_;
};

// Says once which expectations the kernel could not evaluate.
void report_unobservable(const char* command, const std::string& path,
                         const std::vector<std::string>& lines) {
  if (lines.empty()) return;
  std::fprintf(stderr,
               "netverify %s: %s: the kernel cannot observe %zu expectation%s, checked against "
               "model and impl only:\n",
               command, path.c_str(), lines.size(), lines.size() == 1 ? "" : "s");
  for (const std::string& l : lines) std::fprintf(stderr, "  %s\n", l.c_str());
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
  std::vector<std::string> paths;
  if (!trace_files_under(dir, "kernel-check", &paths)) return kExitUsage;
  size_t width = 5, failed = 0, unobservable = 0;
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
    kernel::KernelOptions options = kernel_options(args);
    auto file = load_trace_file(path, args.input_limits());
    if (!file) {
      result = "INVALID";
      raise(kExitUsage);
    } else if (refused(*file, path, options)) {
      result = "REFUSED";
      raise(kExitUsage);
    } else if (runner::RunResult mi = runner::run(file->trace, {}); !mi.ok()) {
      std::fprintf(stderr, "%s:\n%s", path.c_str(), runner::format_failure(mi).c_str());
      result = "MODEL/IMPL FAIL";
      raise(kExitFinding);
    } else {
      Progress progress("kernel-check", path, file->trace);
      progress.install(options);
      KernelResult k = kernel::run(file->trace, options);
      if (k.status == KernelResult::Status::kUnavailable) {
        std::printf("SKIPPED: the kernel engine cannot run here: %s\n", k.message.c_str());
        return report_not_run("kernel-check", path, k);
      }
      if (k.status == KernelResult::Status::kInterrupted)
        return report_not_run("kernel-check", path, k);
      std::vector<std::string> blind;
      if (k.status != KernelResult::Status::kOk) {
        std::fprintf(stderr, "%s: %s\n", path.c_str(), k.message.c_str());
        result = "KERNEL FAILED";
        raise(kernel_exit_status(k));
      } else if (runner::RunResult shown = runner::compare_with_kernel(file->trace, k, {}, &blind);
                 !shown.ok()) {
        std::fprintf(stderr, "%s:\n%s", path.c_str(), runner::format_failure(shown).c_str());
        result = shown.divergence ? "DISAGREES line " + std::to_string(shown.divergence->line)
                                  : "KERNEL EXPECTATION FAILED line " +
                                        std::to_string(shown.expect_failures[0].line);
        raise(kExitFinding);
      }
      unobservable += blind.size();
    }
    failed += result != "ok";
    rows.emplace_back(path, result);
  }
  std::printf("%-*s  %s\n", int(width), "trace", "model, impl, kernel");
  for (const auto& [path, result] : rows)
    std::printf("%-*s  %s\n", int(width), path.c_str(), result.c_str());
  std::printf("\n%zu traces: %zu agree, %zu failed\n", rows.size(), rows.size() - failed, failed);
  if (unobservable)
    std::printf(
        "%zu expectations the kernel cannot observe were checked against model and impl "
        "only (netverify replay TRACE --engine all lists them)\n",
        unobservable);
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
  auto file = load_trace_file(path, args.input_limits());
  if (!file) return kExitUsage;
  if (refused(*file, path, options)) return kExitUsage;
  Progress progress("kernel", path, file->trace);
  progress.install(options);
  KernelResult r = kernel::run(file->trace, options);
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
  // The expectations, on what the kernel observed.
  runner::KernelWitness witness(r);
  runner::RunResult failures;
  for (size_t i = 0; i < file->trace.ops.size(); ++i) {
    const trace::Op& op = file->trace.ops[i];
    if (!op.spec->expect) continue;
    if (auto msg = witness.expect(i, op))
      failures.expect_failures.push_back(
          {i, op.line, trace::print(op), std::string(kernel::kEngineName), *msg});
  }
  report_unobservable("kernel", path, witness.unobservable());
  if (int status = report_failures(failures, json, "netverify kernel " + path)) return status;
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
    case KernelResult::Status::kInterrupted:
      return result.exit_status();
  }
  return kExitEnvironment;
}

int run_replay_all(const Args& args) {
  const std::string& path = args.positional[0];
  runner::RunOptions options;
  options.mutants = args.all("--inject");
  kernel::KernelOptions kopts = kernel_options(args);
  auto file = load_trace_file(path, args.input_limits());
  if (!file) return kExitUsage;
  const trace::Trace& trace = file->trace;
  if (refused(*file, path, kopts)) return kExitUsage;
  const bool json = args.has("--json");
  options.on_event = [&](std::string_view name, uint32_t line, const trace::Event& e) {
    if (json)
      std::printf("%s\n", trace::to_json(e, name, line).c_str());
    else if (name == "model" && e.kind != "counters")
      std::printf("line %u: %s\n", line, trace::to_text(e).c_str());
  };
  std::string reproduce = "netverify replay " + path + " --engine all";
  for (const auto& m : options.mutants) reproduce += " --inject " + m;

  runner::RunResult result = runner::run(trace, options);
  if (result.ok()) {
    Progress progress("replay", path, trace);
    progress.install(kopts);
    KernelResult k = kernel::run(trace, kopts);
    if (k.status != KernelResult::Status::kOk) return report_not_run("replay", path, k);
    if (json) print_kernel_events(k, true);
    options.on_event = nullptr;  // streamed by the first run
    std::vector<std::string> blind;
    result = runner::compare_with_kernel(trace, k, options, &blind);
    report_unobservable("replay", path, blind);
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
          "for real. A v6 delivery's id is that of the fragment that completed it.\n"
          "Expectations are evaluated where the kernel observes what they read; the\n"
          "others are listed. Exit status: 0 ran; 1 an expectation failed; 2 invalid\n"
          "trace, or one the kernel engine refuses (too much sleep, an address the\n"
          "kernel never delivers); 3 a system call failed; 77 no privilege to create\n"
          "a network namespace; 128 + N stopped by signal N (SIGINT, SIGTERM).",
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
          "every operation), and evaluates the expectations the kernel can observe\n"
          "on it too. Prints a table; exits 0 if all agree, 1 if any trace\n"
          "fails, 2 if DIR holds no traces or an invalid or refused one, 3 if a\n"
          "system call failed, 77 (skipped) if the kernel engine cannot run here.",
      .flags = reads_input({kMaxSleepFlag}),
      .min_positional = 1,
      .max_positional = 1,
      .run = run_kernel_check};
  return kCommand;
}

}  // namespace nv::cli
