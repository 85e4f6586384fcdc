// The fuzz harness body's speed: what one libFuzzer or AFL++ execution of
// the fragment target costs, without the fuzzer's own work and without
// coverage instrumentation (the campaign report gives those exec/s).
//
//   Seeds:    every input of corpora/fuzz/frag (hand-written and Z3 traces)
//   Random4K: 500 byte strings of 1..4096 random bytes from a fixed seed;
//             every byte string decodes to a valid trace (fuzz/byte_trace.h)
//
// Reported per input (executions/s) and per decoded operation.
#include <benchmark/benchmark.h>

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <vector>

#include "bench/bench_main.h"
#include "fuzz/byte_trace.h"
#include "fuzz/harness.h"
#include "runner/subsystem.h"

namespace nv::fuzz {
namespace {

using Inputs = std::vector<std::vector<uint8_t>>;

Inputs seed_inputs() {
  Inputs out;
  for (const auto& e :
       std::filesystem::recursive_directory_iterator(NV_SOURCE_DIR "/corpora/fuzz/frag")) {
    std::ifstream in(e.path(), std::ios::binary);
    out.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return out;
}

Inputs random_inputs() {
  std::mt19937_64 rng(20261123);
  Inputs out(500);
  for (auto& in : out) {
    in.resize(std::uniform_int_distribution<size_t>(1, 4096)(rng));
    for (uint8_t& b : in) b = uint8_t(rng());
  }
  return out;
}

void BM_Harness(benchmark::State& state, const Inputs& inputs) {
  const Harness harness({.target = "frag"});
  const Codec codec(runner::registry(), *target_options("frag"));
  size_t ops = 0;
  for (const auto& in : inputs) ops += codec.decode(in).ops.size();
  for (auto _ : state)
    for (const auto& in : inputs) harness.run_one(in.data(), in.size());
  state.counters["exec/s"] =
      benchmark::Counter(double(inputs.size()), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["ops/s"] =
      benchmark::Counter(double(ops), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["ops/input"] = double(ops) / double(inputs.size());
}

// Prints as usual, then one "rate NAME: VALUE/s" line per harness run (the
// contract tools read): executions per second.
class RateReporter final : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      auto execs = r.counters.find("exec/s");
      if (execs == r.counters.end()) continue;
      std::string name = r.benchmark_name();
      for (char& c : name) c = c == '/' ? '-' : char(std::tolower(c));
      char line[128];
      std::snprintf(line, sizeof(line), "rate fuzz-%s: %.0f/s\n", name.c_str(),
                    double(execs->second));
      lines_ += line;
    }
  }
  void print_rates() const { std::printf("\n%s", lines_.c_str()); }

 private:
  std::string lines_;
};

}  // namespace
}  // namespace nv::fuzz

int main(int argc, char** argv) {
  static const nv::fuzz::Inputs seeds = nv::fuzz::seed_inputs();
  static const nv::fuzz::Inputs random = nv::fuzz::random_inputs();
  benchmark::RegisterBenchmark("Harness/Seeds", nv::fuzz::BM_Harness, seeds)
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("Harness/Random4K", nv::fuzz::BM_Harness, random)
      ->Unit(benchmark::kMillisecond);
  nv::fuzz::RateReporter reporter;
  return nv::bench::run_benchmarks(argc, argv, &reporter, [&] { reporter.print_rates(); });
}
