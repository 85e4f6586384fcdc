// `netverify replay`'s cost, model and impl together, as the runner checks
// them (parse, apply, compare after every op):
//
//   Long:      a long trace of complete datagrams (4 v4 fragments each, every
//              one delivered), per operation
//   Netns/N:   N namespaces, a fragment queue in each, one tick that expires
//              them all, then N `netns del` (each its own cleanup pass); for
//              N = 1000, 2000, 4000, 10000
//
// The closing lines: `rate replay-ops` (operations per second of the long
// trace) and the per-namespace cost at 10000 over that at 1000 (1.00x:
// replay time grows linearly with the namespace count).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <string>

#include "bench/bench_main.h"
#include "runner/runner.h"
#include "runner/subsystem.h"
#include "trace/parser.h"

namespace nv::runner {
namespace {

constexpr int kSweep[] = {1000, 2000, 4000, 10000};

std::string long_trace(int datagrams) {
  std::string t = "netverify-trace 1\n";
  for (int id = 0; id < datagrams; ++id)
    for (int off = 0; off < 64; off += 16)
      t += "frag init v4 id=" + std::to_string(id % 65536) + " off=" + std::to_string(off) +
           " len=16 mf=" + (off + 16 < 64 ? "1" : "0") + "\n";
  return t;
}

std::string netns_trace(int n) {
  std::string t = "netverify-trace 1\n";
  for (int i = 0; i < n; ++i) t += "netns add n" + std::to_string(i) + "\n";
  for (int i = 0; i < n; ++i) t += "frag n" + std::to_string(i) + " v4 id=1 off=0 len=8 mf=1\n";
  t += "tick 31s\n";
  for (int i = 0; i < n; ++i) t += "netns del n" + std::to_string(i) + "\n";
  return t;
}

// Parses and replays `text` once per iteration; fails the benchmark on a
// divergence (the traces are valid and the engines must agree).
void replay(benchmark::State& state, const std::string& text) {
  size_t ops = 0;
  for (auto _ : state) {
    trace::ParseResult r = trace::parse(text, registry());
    if (r.error) {
      state.SkipWithError("generated trace does not parse");
      return;
    }
    ops = r.trace.ops.size();
    if (!run(r.trace, {}).ok()) {
      state.SkipWithError("model and impl disagree");
      return;
    }
  }
  state.counters["ops/s"] =
      benchmark::Counter(double(ops), benchmark::Counter::kIsIterationInvariantRate);
}

// Prints as usual, then the closing lines from this run's times.
class ReplayReporter final : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      seconds_[r.benchmark_name()] = r.GetAdjustedRealTime() / 1e3;  // reported in ms
      if (auto ops = r.counters.find("ops/s"); ops != r.counters.end())
        ops_per_s_[r.benchmark_name()] = double(ops->second);
    }
  }
  void print_summary() const {
    std::printf("\n");
    if (auto it = ops_per_s_.find("Replay/Long"); it != ops_per_s_.end())
      std::printf("rate replay-ops: %.0f/s\n", it->second);
    auto per_netns = [&](int n) {
      auto it = seconds_.find("Replay/Netns/" + std::to_string(n));
      return it == seconds_.end() ? 0.0 : it->second / n;
    };
    for (int n : kSweep)
      if (per_netns(n) > 0) std::printf("rate replay-netns-%d: %.0f/s\n", n, 1 / per_netns(n));
    if (per_netns(1000) > 0 && per_netns(10000) > 0)
      std::printf("ratio replay-per-netns-10000-vs-1000: %.2fx\n",
                  per_netns(10000) / per_netns(1000));
  }

 private:
  std::map<std::string, double> seconds_, ops_per_s_;
};

}  // namespace
}  // namespace nv::runner

int main(int argc, char** argv) {
  using nv::runner::replay;
  static const std::string long_text = nv::runner::long_trace(50000);
  benchmark::RegisterBenchmark("Replay/Long", replay, long_text)->Unit(benchmark::kMillisecond);
  static std::map<int, std::string> sweep;
  for (int n : nv::runner::kSweep) {
    sweep[n] = nv::runner::netns_trace(n);
    benchmark::RegisterBenchmark(("Replay/Netns/" + std::to_string(n)).c_str(), replay, sweep[n])
        ->Unit(benchmark::kMillisecond);
  }
  nv::runner::ReplayReporter reporter;
  return nv::bench::run_benchmarks(argc, argv, &reporter, [&] { reporter.print_summary(); });
}
