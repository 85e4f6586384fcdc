// netverify mutants: the mutation report. Every registered mutant is run
// against the differential property and, when a libFuzzer target is given,
// against the fuzzer; the table says who caught it, how fast, and how small
// its minimized reproducer is.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/exit_status.h"
#include "cli/flags.h"
#include "fuzz/harness.h"
#include "properties/differential.h"
#include "runner/minimize.h"
#include "runner/subsystem.h"
#include "trace/parser.h"
#include "trace/value.h"

namespace nv::cli {
namespace {

struct FuzzOutcome {
  bool ran = false, detected = false;
  double seconds = 0;
};

// Runs `fuzzer` with NV_INJECT=mutant for at most `seconds` over `seeds`.
FuzzOutcome fuzz_for(const std::string& fuzzer, const std::string& seeds, const std::string& dict,
                     const std::string& mutant, uint64_t seconds) {
  FuzzOutcome out;
  if (fuzzer.empty() || access(fuzzer.c_str(), X_OK) != 0) return out;
  const auto dir = std::filesystem::temp_directory_path() / ("nv-mutants-" + mutant);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir / "corpus");
  // The regression reproducers would hand the fuzzer the answer: leave them out.
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(seeds, ec))
    if (!e.path().filename().string().starts_with("regressions-"))
      std::filesystem::copy_file(e.path(), dir / "corpus" / e.path().filename(), ec);
  const auto start = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    setenv("NV_INJECT", mutant.c_str(), 1);
    if (!freopen("/dev/null", "w", stderr) || !freopen("/dev/null", "w", stdout)) _exit(127);
    std::string time = "-max_total_time=" + std::to_string(seconds);
    std::string prefix = "-artifact_prefix=" + (dir / "").string();
    std::string corpus = (dir / "corpus").string();
    // libFuzzer raises its length limit slowly by default (-len_control=100:
    // 33 bytes after 100,000 runs, while a teardown race with its fragment
    // takes 40 to 60); 10 reaches such lengths within seconds and keeps the
    // short inputs' speed (docs/fuzzing.md, "Mutants within 60 s").
    std::vector<std::string> argv = {fuzzer, time, prefix, "-max_len=4096", "-len_control=10"};
    if (!dict.empty()) argv.push_back("-dict=" + dict);
    argv.push_back(corpus);
    std::vector<char*> c_argv;
    for (std::string& a : argv) c_argv.push_back(a.data());
    c_argv.push_back(nullptr);
    execv(fuzzer.c_str(), c_argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  out.ran = true;
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (const auto& e : std::filesystem::directory_iterator(dir))
    out.detected |= e.path().filename().string().starts_with("crash-");
  std::filesystem::remove_all(dir);
  return out;
}

int run_mutants(const Args& args) {
  // Validated by the flag table (numbers; paths that exist and can be read).
  const std::optional<uint64_t> seconds = args.uint("--seconds", 60),
                                cases = args.uint("--cases", 100);
  const std::string fuzzer = args.get("--fuzzer", "");
  const std::string seeds = args.get("--seeds", "");
  const std::string dict = args.get("--dict", "");
  const auto dir = std::filesystem::temp_directory_path() / "nv-mutants";
  std::filesystem::create_directories(dir);
  setenv("NV_FAILURE_DIR", dir.c_str(), 1);
  // rapidcheck prints the configuration it loads, a random seed unless one
  // is given; every property here runs with seed 1, so that is the one shown.
  setenv("RC_PARAMS", "seed=1", 0);

  std::printf("%-30s %-22s %-16s %-20s %s\n", "mutant", "properties", "rate", "fuzzer",
              "reproducer");
  int missed = 0;
  const std::vector<std::string>& only = args.all("--mutant");
  for (const auto& s : runner::subsystems()) {
    for (const auto& m : s.mutants) {
      if (!only.empty() && std::find(only.begin(), only.end(), m.name) == only.end()) continue;
      props::Detection d = props::detect({m.name}, /*seed=*/1, int(*cases), /*shrink=*/false);
      std::string prop = d.detected ? "after " + std::to_string(d.cases + 1) + " cases" : "MISSED";
      const props::Rate rate = props::detection_rate({m.name}, /*seed=*/1, int(*cases));
      char rate_text[32];
      std::snprintf(rate_text, sizeof(rate_text), "%.0f%% of %d", rate.percent(), rate.cases);
      std::string repro = "-";
      if (d.detected) {
        trace::ParseResult failing = trace::parse_file(d.failure_file, runner::registry());
        auto min =
            failing.error ? std::nullopt : runner::minimize(failing.trace, {.mutants = {m.name}});
        if (min) repro = std::to_string(min->trace.ops.size()) + " ops";
      }
      // A folder of fuzz targets: the mutant's subsystem's, or fuzz_all for
      // a mutant that shows only with another subsystem's ops or a later
      // table's (its slots hold every table), with that target's seeds when
      // --seeds holds one folder per target (corpora/fuzz).
      const std::string target =
          m.found_by.empty() && !m.later_table ? s.name : std::string(fuzz::kAllTarget);
      std::string mutant_fuzzer = fuzzer, mutant_seeds = seeds;
      if (!fuzzer.empty() && std::filesystem::is_directory(fuzzer))
        mutant_fuzzer = (std::filesystem::path(fuzzer) / ("fuzz_" + target)).string();
      if (!seeds.empty() && std::filesystem::is_directory(std::filesystem::path(seeds) / target))
        mutant_seeds = (std::filesystem::path(seeds) / target).string();
      FuzzOutcome f = fuzz_for(mutant_fuzzer, mutant_seeds, dict, m.name, *seconds);
      char fuzz[64];
      if (!f.ran) {
        std::snprintf(fuzz, sizeof(fuzz), "not run");
      } else if (f.detected) {
        std::snprintf(fuzz, sizeof(fuzz), "after %.1f s", f.seconds);
      } else {
        std::snprintf(fuzz, sizeof(fuzz), "MISSED in %llu s", (unsigned long long)*seconds);
      }
      missed += !d.detected || (f.ran && !f.detected);
      std::printf("%-30s %-22s %-16s %-20s %s\n", m.name.c_str(), prop.c_str(), rate_text, fuzz,
                  repro.c_str());
      std::fflush(stdout);
    }
  }
  std::filesystem::remove_all(dir);
  return missed ? kExitFinding : kExitOk;
}

}  // namespace

const Command& mutants_command() {
  static const Command kCommand{
      .name = "mutants",
      .summary = "the mutation report: which mutants the properties and fuzzers catch",
      .help =
          "The mutation report: each registered mutant against the differential property\n"
          "(rapidcheck, seed 1, up to N cases; the rate: how many of N traces of the\n"
          "default size catch it) and, with --fuzzer, against that libFuzzer\n"
          "target (a folder: each mutant's subsystem's fuzz_NAME in it, fuzz_all for a\n"
          "mutant another subsystem's ops or a later table reach) for up to S\n"
          "seconds (NV_INJECT plants the mutant; the seeds exclude the regression\n"
          "reproducers; a --seeds folder with one folder per target gives each its own).\n"
          "Prints which caught\n"
          "it, how fast, and the size of its minimized reproducer. Exit 1 if any mutant\n"
          "was missed.",
      .flags = {{.name = "--seconds",
                 .value = "S",
                 .help = "fuzzing budget per mutant (default 60)",
                 .type = FlagType::kUint},
                {.name = "--cases",
                 .value = "N",
                 .help = "property budget per mutant (default 100)",
                 .type = FlagType::kUint,
                 .min = 1,
                 .max = INT32_MAX},
                {.name = "--fuzzer",
                 .value = "PATH",
                 .help = "libFuzzer target, or a folder of them (build/fuzz)",
                 .type = FlagType::kInputPath},
                {.name = "--seeds",
                 .value = "DIR",
                 .help = "seed corpus for the fuzzer (default: none, start from nothing)",
                 .type = FlagType::kInputPath},
                {.name = "--dict",
                 .value = "FILE",
                 .help = "libFuzzer dictionary, e.g. fuzz/byte_trace.dict",
                 .type = FlagType::kInputPath},
                {.name = "--mutant",
                 .value = "MUTANT",
                 .help = "only this mutant (repeatable; default: every one)",
                 .type = FlagType::kMutant,
                 .repeatable = true}},
      .min_positional = 0,
      .max_positional = 0,
      .run = run_mutants};
  return kCommand;
}

}  // namespace nv::cli
