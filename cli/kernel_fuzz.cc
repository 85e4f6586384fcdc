// netverify kernel-fuzz: differential fuzzing of the running kernel against
// the model (and the impl).
//
// Each trace comes from the generators the subsystems register for the
// kernel (Subsystem::kernel_gen: only what the kernel engine observes, with
// timing it reproduces), or, one in three when --corpus is given, from a
// corpus trace mutated as the fuzzers mutate (fuzz::mutate_trace, sequential
// steps only; its expectations dropped, as they were for the original). It
// runs through model, impl and kernel (runner::compare_with_kernel). A
// failure is run twice more: a signature that does not come back each time
// is flaky (saved under DIR/flaky/, not minimized). A reproducible one whose
// signature is new is minimized with the kernel in the loop (every
// candidate runs through all three engines; the signature is kept) and
// written as DIR/SIGNATURE.trace, with the original beside it and the
// command that replays it; one whose signature was already found is only
// counted. Signatures are claimed with O_EXCL, so the jobs share the work.
//
// Jobs: --jobs worker processes, each running its share of the trace
// indices in turn (trace i of seed S is the same trace in every run). Most
// of a kernel run is waiting (ticks sleep for real, namespaces are created
// and destroyed by the kernel's workers), so jobs beyond the cores still
// add throughput. Each kernel run forks its own child in fresh namespaces:
// a namespace cannot be reset (its fragment queues live until they time
// out), so it is never reused.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cli/exit_status.h"
#include "cli/flags.h"
#include "cli/kernel_run.h"
#include "cli/output_file.h"
#include "cli/trace_file.h"
#include "fuzz/mutator.h"
#include "runner/kernel_compare.h"
#include "runner/minimize.h"
#include "runner/subsystem.h"
#include "trace/parser.h"
#include "trace/printer.h"

namespace nv::cli {
namespace {

using Clock = std::chrono::steady_clock;
using kernel::KernelResult;

// "divergence:frag:deliver/none" -> "divergence-frag-deliver-none".
std::string slug(const std::string& signature) {
  std::string out;
  for (char c : signature) {
    const bool keep = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_';
    if (keep)
      out += c;
    else if (!out.empty() && out.back() != '-')
      out += '-';
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

// Written whole or not at all (cli/output_file.h).
bool write_atomically(const std::string& path, const std::string& text) {
  std::string error;
  return write_file_atomically(path, text, &error) == kExitOk;
}

struct Corpus {
  std::string path;
  trace::Trace trace;  // without its expectations
};

struct FuzzConfig {
  uint64_t seed = 0;
  uint64_t jobs = 1;
  std::string dir;
  Clock::time_point deadline;
  size_t minimize_runs = 0;
  uint64_t traces = 0;  // --traces: stop before trace `traces` (0: no bound)
  std::vector<std::string> mutants;
  kernel::KernelOptions kernel;
  std::vector<Corpus> corpus;
  std::vector<fuzz::Shape> shapes;               // of the kernel-observable subsystems
  std::vector<rc::Gen<std::string> (*)()> gens;  // Subsystem::kernel_gen
};

// Set by SIGINT or SIGTERM in a worker: no new trace is started.
volatile sig_atomic_t g_worker_stop = 0;
void on_worker_stop(int) {
  g_worker_stop = 1;
}

// One worker process: runs traces jobs apart from `first` until the
// deadline, reporting one line per event on `out`:
//   ran                    a trace ran through the three engines
//   found new|seen|flaky SIGNATURE
//   failed MESSAGE         the kernel engine failed on a trace, or a write
class Worker {
 public:
  Worker(const FuzzConfig& config, uint64_t first, int out)
      : config_(config), index_(first), out_(out) {}

  [[noreturn]] void run() {
    struct sigaction sa {};
    sa.sa_handler = on_worker_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    for (; !g_worker_stop && Clock::now() < config_.deadline &&
           (!config_.traces || index_ < config_.traces);
         index_ += config_.jobs)
      one();
    _exit(0);
  }

 private:
  // The trace of index_ and where it came from; nullopt when the mutations
  // tried gave none the kernel engine can run.
  std::optional<trace::Trace> make(std::string* origin) {
    const uint64_t r = fuzz::splitmix64(config_.seed, index_ + 1);
    const std::string which =
        "trace " + std::to_string(index_) + " of seed " + std::to_string(config_.seed);
    if (!config_.corpus.empty() && r % 3 == 2) {
      const Corpus& c = config_.corpus[(r >> 8) % config_.corpus.size()];
      *origin = which + ", mutated from " + c.path;
      for (uint64_t attempt = 0; attempt < 8; ++attempt) {
        trace::Trace t = c.trace;
        if (!fuzz::mutate_trace(t, runner::registry(), config_.shapes,
                                fuzz::splitmix64(r, attempt + 1), true))
          continue;
        trace::ParseResult p = trace::parse(trace::print(t), runner::registry());
        if (!p.error && !kernel::refusal(p.trace, config_.kernel)) return std::move(p.trace);
      }
      return std::nullopt;
    }
    *origin = which + ", generated";
    const int size = 10 + int(index_ % 41);
    const std::string text = config_.gens[r % config_.gens.size()]()(rc::Random(r), size).value();
    trace::ParseResult p = trace::parse(text, runner::registry());
    if (p.error || kernel::refusal(p.trace, config_.kernel)) return std::nullopt;
    return std::move(p.trace);
  }

  // Model, impl and kernel; std::nullopt when the kernel engine did not
  // run (reported as "failed" unless `quiet` or stopping).
  std::optional<runner::RunResult> check(const trace::Trace& t, bool quiet) {
    KernelResult k = kernel::run(t, config_.kernel);
    if (k.status == KernelResult::Status::kInterrupted) g_worker_stop = 1;
    if (k.status != KernelResult::Status::kOk) {
      if (!quiet && !g_worker_stop) say("failed " + k.message);
      return std::nullopt;
    }
    runner::RunOptions options;
    options.mutants = config_.mutants;
    return runner::compare_with_kernel(t, k, options);
  }

  void one() {
    std::string origin;
    std::optional<trace::Trace> t = make(&origin);
    if (!t) return;
    const std::optional<runner::RunResult> result = check(*t, false);
    if (!result || g_worker_stop) return;
    say("ran");
    const std::string signature = runner::failure_signature(*t, *result);
    if (signature.empty()) return;
    for (int again = 0; again < 2; ++again)
      if (runner::failure_signature(*t, check(*t, true).value_or(runner::RunResult{})) !=
          signature) {
        save_flaky(*t, signature, origin);
        say("found flaky " + signature);
        return;
      }
    const std::string path = config_.dir + "/" + slug(signature) + ".trace";
    const int claim = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (claim < 0) {
      say("found seen " + signature);
      return;
    }
    close(claim);
    const std::string original = path.substr(0, path.size() - 6) + ".original.trace";
    const std::string header = "# netverify kernel-fuzz: " + signature + "\n# " + origin + "\n";
    if (!write_atomically(original, header + trace::print(*t)) ||
        !write_atomically(path, header + trace::print(*t)))  // until minimized
      say("failed writing " + path);
    runner::MinimizeOptions options;
    options.mutants = config_.mutants;
    options.max_runs = config_.minimize_runs;
    // Past the deadline and a minute more, every candidate passes: the
    // smallest so far is written.
    const Clock::time_point stop = config_.deadline + std::chrono::minutes(1);
    options.run = [this, stop](const trace::Trace& c) {
      if (g_worker_stop || Clock::now() > stop) return runner::RunResult{};
      return check(c, true).value_or(runner::RunResult{});
    };
    std::optional<runner::MinimizeResult> small = runner::minimize(*t, options);
    // Kept only if it fails each of two more runs (a smaller trace may hang
    // on the kernel's timing where the original did not).
    for (int again = 0; small && again < 2; ++again)
      if (runner::failure_signature(small->trace, options.run(small->trace)) != signature)
        small.reset();
    std::string text = header;
    if (small)
      text += "# minimized with the kernel in the loop: " + std::to_string(t->ops.size()) +
              " ops to " + std::to_string(small->trace.ops.size()) + ", " +
              std::to_string(small->runs) + " runs\n";
    text += "# replay: netverify replay " + path + " --engine all";
    for (const std::string& m : config_.mutants) text += " --inject " + m;
    text += "\n" + trace::print(small ? small->trace : *t);
    if (!write_atomically(path, text)) say("failed writing " + path);
    say("found new " + signature);
  }

  void save_flaky(const trace::Trace& t, const std::string& signature, const std::string& origin) {
    const std::string dir = config_.dir + "/flaky";
    mkdir(dir.c_str(), 0755);
    const std::string path = dir + "/" + slug(signature) + "-" + std::to_string(index_) + ".trace";
    if (!write_atomically(path, "# netverify kernel-fuzz: " + signature +
                                    " (not on each of three runs)\n# " + origin + "\n" +
                                    trace::print(t)))
      say("failed writing " + path);
  }

  // One line, written whole (shorter than PIPE_BUF).
  void say(std::string line) {
    if (line.size() > 500) line.resize(500);
    line += '\n';
    while (write(out_, line.data(), line.size()) < 0 && errno == EINTR) {
    }
  }

  const FuzzConfig& config_;
  uint64_t index_;
  const int out_;
};

// The parent's tally of what the workers said.
struct Tally {
  size_t traces = 0, divergences = 0, flaky = 0, failed = 0;
  std::set<std::string> unique;
  std::string last_failure;

  void take(const std::string& line) {
    if (line == "ran") {
      ++traces;
    } else if (line.starts_with("found flaky ")) {
      ++flaky;
    } else if (line.starts_with("found ")) {
      ++divergences;
      unique.insert(line.substr(line.find(' ', 6) + 1));
    } else if (line.starts_with("failed ")) {
      ++failed;
      last_failure = line.substr(7);
    }
  }
};

volatile sig_atomic_t g_parent_stop = 0;
void on_parent_stop(int sig) {
  g_parent_stop = sig;
}

// Whether the kernel engine runs here at all: a trace of no operations.
std::optional<KernelResult> unavailable(const kernel::KernelOptions& options) {
  trace::ParseResult empty = trace::parse("netverify-trace 1\n", runner::registry());
  KernelResult k = kernel::run(empty.trace, options);
  if (k.status == KernelResult::Status::kOk) return std::nullopt;
  return k;
}

bool load_corpus(const std::string& dir, FuzzConfig& config, const Args& args) {
  std::vector<std::string> paths;
  if (!trace_files_under(dir, "kernel-fuzz", &paths)) return false;
  for (const std::string& path : paths) {
    auto file = load_trace_file(path, args.input_limits());
    if (!file) return false;
    std::erase_if(file->trace.ops, [](const trace::Op& op) { return op.spec->expect; });
    // Traces the kernel engine refuses (one that sleeps too long) are left
    // out; their mutations would be too.
    if (!file->trace.ops.empty() && !kernel::refusal(file->trace, config.kernel))
      config.corpus.push_back({path, std::move(file->trace)});
  }
  return true;
}

int run_kernel_fuzz(const Args& args) {
  FuzzConfig config;
  config.dir = args.get("-o", "");
  config.jobs = args.uint("--jobs", 4);
  config.minimize_runs = args.uint("--minimize-runs", 500);
  config.traces = args.uint("--traces", 0);
  config.mutants = args.all("--inject");
  config.kernel = kernel_options(args);
  config.seed = args.has("--seed")
                    ? args.uint("--seed", 0)
                    : uint64_t(std::chrono::system_clock::now().time_since_epoch().count());
  for (const runner::Subsystem& s : runner::subsystems()) {
    if (!s.kernel_gen) continue;
    config.gens.push_back(s.kernel_gen);
    config.shapes.insert(config.shapes.end(), s.fuzz_shapes.begin(), s.fuzz_shapes.end());
  }
  std::error_code ec;
  std::filesystem::create_directories(config.dir, ec);
  if (ec || !std::filesystem::is_directory(config.dir)) {
    std::fprintf(stderr, "netverify kernel-fuzz: -o %s: cannot create the directory%s%s\n",
                 config.dir.c_str(), ec ? ": " : "", ec ? ec.message().c_str() : "");
    return kExitUsage;
  }
  if (args.has("--corpus") && !load_corpus(args.get("--corpus", ""), config, args))
    return kExitUsage;
  if (auto k = unavailable(config.kernel)) {
    if (k->status == KernelResult::Status::kUnavailable)
      std::printf("SKIPPED: the kernel engine cannot run here: %s\n", k->message.c_str());
    else
      std::fprintf(stderr, "netverify kernel-fuzz: the kernel engine failed: %s\n",
                   k->message.c_str());
    return kernel_exit_status(*k);
  }
  const uint64_t seconds = args.uint("--seconds", 0);
  std::printf("kernel-fuzz: seed %llu, %llu jobs, %llu s, %zu corpus traces, into %s\n",
              static_cast<unsigned long long>(config.seed),
              static_cast<unsigned long long>(config.jobs),
              static_cast<unsigned long long>(seconds), config.corpus.size(), config.dir.c_str());
  std::fflush(stdout);
  const Clock::time_point start = Clock::now();
  config.deadline = start + std::chrono::seconds(seconds);

  struct sigaction sa {
  }, old_int{}, old_term{};
  sa.sa_handler = on_parent_stop;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  std::vector<pid_t> pids;
  std::vector<pollfd> fds;
  for (uint64_t w = 0; w < config.jobs; ++w) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) break;
    const pid_t pid = fork();
    if (pid == 0) {
      close(p[0]);
      for (const pollfd& f : fds) close(f.fd);
      Worker(config, w, p[1]).run();
    }
    close(p[1]);
    if (pid < 0) {
      close(p[0]);
      break;
    }
    pids.push_back(pid);
    fds.push_back({.fd = p[0], .events = POLLIN, .revents = 0});
  }
  if (pids.empty()) {
    std::fprintf(stderr, "netverify kernel-fuzz: fork: %s\n", std::strerror(errno));
    return kExitEnvironment;
  }
  Tally tally;
  std::vector<std::string> pending(fds.size());
  size_t open = fds.size();
  bool forwarded = false;
  Clock::time_point next_report = start + std::chrono::seconds(10);
  while (open > 0) {
    if (g_parent_stop && !forwarded) {
      for (pid_t pid : pids) kill(pid, SIGTERM);
      forwarded = true;
    }
    if (poll(fds.data(), fds.size(), 1000) < 0 && errno != EINTR) break;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      char buf[4096];
      const ssize_t n = read(fds[i].fd, buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open;
        continue;
      }
      pending[i].append(buf, size_t(n));
      for (size_t nl; (nl = pending[i].find('\n')) != std::string::npos;) {
        tally.take(pending[i].substr(0, nl));
        pending[i].erase(0, nl + 1);
      }
    }
    if (Clock::now() >= next_report) {
      next_report += std::chrono::seconds(10);
      std::fprintf(
          stderr, "kernel-fuzz: %lld s: %zu traces, %zu divergences (%zu unique)\n",
          static_cast<long long>(
              std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - start).count()),
          tally.traces, tally.divergences, tally.unique.size());
    }
  }
  size_t died = 0;  // workers that did not end by returning
  for (pid_t pid : pids) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    died += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  const double minutes = std::chrono::duration<double>(Clock::now() - start).count() / 60.0;
  for (const std::string& s : tally.unique)
    std::printf("  %s  %s/%s.trace\n", s.c_str(), config.dir.c_str(), slug(s).c_str());
  if (tally.flaky)
    std::printf("kernel-fuzz: %zu flaky failures (not on each of three runs) in %s/flaky\n",
                tally.flaky, config.dir.c_str());
  if (tally.failed)
    std::printf("kernel-fuzz: %zu failures of the kernel engine or of writes (last: %s)\n",
                tally.failed, tally.last_failure.c_str());
  std::printf("kernel-fuzz: %.0f traces/min\n", minutes > 0 ? tally.traces / minutes : 0.0);
  std::printf("kernel-fuzz: %zu traces, %zu divergences (%zu unique)\n", tally.traces,
              tally.divergences, tally.unique.size());
  if (died)
    std::fprintf(stderr, "netverify kernel-fuzz: %zu worker%s died before the end\n", died,
                 died == 1 ? "" : "s");
  if (g_parent_stop) return 128 + g_parent_stop;
  if (tally.divergences) return kExitFinding;
  return tally.failed || died ? kExitEnvironment : kExitOk;
}

}  // namespace

const Command& kernel_fuzz_command() {
  static const Command kCommand{
      .name = "kernel-fuzz",
      .summary = "fuzz the running kernel for divergences from the model",
      .operands = "",
      .help =
          "Generates traces the kernel engine observes (and, with --corpus, mutates\n"
          "that corpus's traces), runs each through model, impl and the running\n"
          "kernel, and compares them. A divergence seen on each of three runs is\n"
          "minimized with the kernel in the loop (its failure signature kept) and\n"
          "written to DIR/SIGNATURE.trace with the command that replays it, once per\n"
          "signature; one that does not come back each time goes to DIR/flaky/.\n"
          "Trace i of a seed is the same trace in every run. Ends with\n"
          "'kernel-fuzz: N traces, M divergences (K unique)'. Exit status: 0 none;\n"
          "1 divergences; 2 bad arguments or corpus; 3 the kernel engine or a worker\n"
          "failed; 77 no privilege to create a network namespace; 128 + N stopped\n"
          "by signal N.",
      .flags =
          reads_input({{.name = "--seconds",
                        .value = "S",
                        .help = "how long to fuzz; minimizing may take a minute more",
                        .type = FlagType::kUint,
                        .required = true},
                       {.name = "-o",
                        .value = "DIR",
                        .help = "write divergences here (created if missing)",
                        .type = FlagType::kText,
                        .required = true},
                       {.name = "--seed",
                        .value = "N",
                        .help = "random seed (default: from the clock; printed)",
                        .type = FlagType::kUint},
                       {.name = "--corpus",
                        .value = "DIR",
                        .help = "also mutate the *.trace files under DIR (e.g. corpora/kernel)",
                        .type = FlagType::kInputPath},
                       {.name = "--jobs",
                        .value = "N",
                        .help = "worker processes (default 4; most of a kernel run is waiting)",
                        .type = FlagType::kUint,
                        .min = 1,
                        .max = 64},
                       {.name = "--traces",
                        .value = "N",
                        .help = "stop after traces 0 to N-1 (a run that does not depend on speed)",
                        .type = FlagType::kUint,
                        .min = 1},
                       {.name = "--minimize-runs",
                        .value = "N",
                        .help = "candidates a minimization may try (default 500)",
                        .type = FlagType::kUint,
                        .min = 1},
                       kInjectFlag,
                       kMaxSleepFlag}),
      .min_positional = 0,
      .max_positional = 0,
      .run = run_kernel_fuzz};
  return kCommand;
}

}  // namespace nv::cli
