// netverify kernel, netverify kernel-check and replay --engine all: traces
// run against the running kernel (kernel/kernel_engine.h) and compared with
// the model and the impl (runner/kernel_compare.h).
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "cli/kernel_run.h"
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
  return r.exit_status();
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
  auto options = kernel_options(args, "kernel-check");
  if (!options) return 2;
  std::vector<std::string> paths;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
    if (it->is_regular_file() && it->path().extension() == ".trace")
      paths.push_back(it->path().string());
  std::sort(paths.begin(), paths.end());
  if (paths.empty()) {
    std::fprintf(stderr, "netverify kernel-check: no .trace files under %s\n", dir.c_str());
    return 2;
  }
  size_t width = 5, failed = 0;
  std::vector<std::pair<std::string, std::string>> rows;
  for (const std::string& path : paths) {
    width = std::max(width, path.size());
    std::string result = "ok";
    auto trace = load_trace(path);
    if (!trace) {
      result = "INVALID";
    } else if (auto why = kernel::refusal(*trace, *options)) {
      std::fprintf(stderr, "%s: %s\n", path.c_str(), why->c_str());
      result = "REFUSED";
    } else if (runner::RunResult mi = runner::run(*trace, {}); !mi.ok()) {
      std::fprintf(stderr, "%s:\n%s", path.c_str(), runner::format_failure(mi).c_str());
      result = "MODEL/IMPL FAIL";
    } else {
      KernelResult k = kernel::run(*trace, *options);
      if (k.status == KernelResult::Status::kUnavailable) {
        std::printf("SKIPPED: the kernel engine cannot run here: %s\n", k.message.c_str());
        return report_not_run("kernel-check", path, k);
      }
      if (k.status != KernelResult::Status::kOk) {
        std::fprintf(stderr, "%s: %s\n", path.c_str(), k.message.c_str());
        result = "KERNEL FAILED";
      } else if (auto d = runner::compare_with_kernel(*trace, k)) {
        runner::RunResult shown;
        shown.divergence = std::move(d);
        std::fprintf(stderr, "%s:\n%s", path.c_str(), runner::format_failure(shown).c_str());
        result = "DISAGREES line " + std::to_string(shown.divergence->line);
      }
    }
    failed += result != "ok";
    rows.emplace_back(path, result);
  }
  std::printf("%-*s  %s\n", int(width), "trace", "model, impl, kernel");
  for (const auto& [path, result] : rows)
    std::printf("%-*s  %s\n", int(width), path.c_str(), result.c_str());
  std::printf("\n%zu traces: %zu agree, %zu failed\n", rows.size(), rows.size() - failed, failed);
  return failed ? 1 : 0;
}

}  // namespace

int run_kernel_only(const Args& args) {
  const std::string& path = args.positional[0];
  auto options = kernel_options(args, "kernel");
  if (!options) return 2;
  options->capture_path = args.get("--capture", "");
  auto trace = load_trace(path);
  if (!trace) return 2;
  KernelResult r = kernel::run(*trace, *options);
  if (r.status != KernelResult::Status::kOk) return report_not_run("kernel", path, r);
  const bool json = args.has("--json");
  print_kernel_events(r, json);
  if (!json)
    std::printf("ok: %zu operations, %zu deliveries; kernel ran\n", r.steps.size(), deliveries(r));
  return 0;
}

std::optional<kernel::KernelOptions> kernel_options(const Args& args, const char* command) {
  kernel::KernelOptions options;
  if (!args.has(kMaxSleepFlag.name)) return options;
  const std::string text = args.get(std::string(kMaxSleepFlag.name), "");
  std::string error;
  std::optional<uint64_t> ms;
  if (!text.empty() && text.back() >= '0' && text.back() <= '9') {
    ms = trace::parse_uint(text, &error);
    if (ms && *ms > (uint64_t{1} << 40) / 1000) ms.reset();
    if (ms) *ms *= 1000;
  } else {
    ms = trace::parse_duration_ms(text, &error);
  }
  if (!ms) {
    std::fprintf(stderr, "netverify %s: bad --max-sleep '%s' (seconds, or 500ms, 2m)\n", command,
                 text.c_str());
    return std::nullopt;
  }
  options.max_sleep_ms = *ms;
  return options;
}

int run_replay_all(const Args& args) {
  const std::string& path = args.positional[0];
  runner::RunOptions options;
  options.mutants = args.all("--inject");
  if (!valid_mutants(options.mutants)) return 2;
  auto kopts = kernel_options(args, "replay");
  if (!kopts) return 2;
  auto trace = load_trace(path);
  if (!trace) return 2;
  if (auto why = kernel::refusal(*trace, *kopts)) {
    std::fprintf(stderr, "netverify replay: %s: %s\n", path.c_str(), why->c_str());
    return 2;
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
    KernelResult k = kernel::run(*trace, *kopts);
    if (k.status != KernelResult::Status::kOk) return report_not_run("replay", path, k);
    if (json) print_kernel_events(k, true);
    result.divergence = runner::compare_with_kernel(*trace, k, options.mutants);
  }
  if (int status = report_failures(result, json, reproduce)) return status;
  if (!json)
    std::printf("ok: %zu operations, %zu deliveries; model, impl, kernel agree\n", result.ops_run,
                result.deliveries);
  return 0;
}

const Command& kernel_command() {
  static const Command kCommand{
      .name = "kernel",
      .usage = "kernel TRACE [--json] [--max-sleep S] [--capture FILE.pcap]",
      .help =
          "Runs TRACE against the running Linux kernel, in fresh network namespaces of\n"
          "a child process (one for init, one per 'netns add'; the host's is never\n"
          "touched): fragments are sent on lo as the exact wire bytes, reassembled\n"
          "datagrams read from raw sockets, counters read from /proc/net. Ticks sleep\n"
          "for real. v6 deliveries have no id (a raw socket does not see it).\n"
          "Expectations are not evaluated. Exit status: 0 ran; 1 a system call\n"
          "failed; 2 invalid trace, or one the kernel engine refuses (too much sleep);\n"
          "77 no privilege to create a network namespace.",
      .flags = {{"--json", "", "write one JSON event per line on stdout"},
                kMaxSleepFlag,
                {"--capture", "FILE", "record what init's lo carries to a pcap file"}},
      .min_positional = 1,
      .max_positional = 1,
      .run = run_kernel_only};
  return kCommand;
}

const Command& kernel_check_command() {
  static const Command kCommand{
      .name = "kernel-check",
      .usage = "kernel-check DIR [--max-sleep S]",
      .help =
          "Runs every *.trace file under DIR through model, impl and the running\n"
          "kernel and compares them (deliveries, refused sysctls, counters after\n"
          "every operation). Prints a table; exits 0 if all agree, 1 if any trace\n"
          "fails, 2 if DIR holds no traces, 77 (skipped) if the kernel engine cannot\n"
          "run here.",
      .flags = {kMaxSleepFlag},
      .min_positional = 1,
      .max_positional = 1,
      .run = run_kernel_check};
  return kCommand;
}

}  // namespace nv::cli
