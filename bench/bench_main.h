// run_benchmarks: what every benchmark binary's main does once it has
// registered its benchmarks. It runs those the command line selects
// (Google Benchmark's flags; an unknown one is an error, exit 1) through
// `reporter` (null: the console's), then prints the headline figures the
// run measured (`figures`: the `ratio NAME: VALUEx` and `rate NAME:
// VALUE/s` lines tools read).
#pragma once

#include <benchmark/benchmark.h>

#include <functional>

namespace nv::bench {

inline int run_benchmarks(int argc, char** argv, benchmark::BenchmarkReporter* reporter,
                          const std::function<void()>& figures) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  if (reporter)
    benchmark::RunSpecifiedBenchmarks(reporter);
  else
    benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  figures();
  return 0;
}

}  // namespace nv::bench
