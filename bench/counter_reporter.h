// CounterReporter: Google Benchmark's console reporter that also keeps each
// run's counters, by benchmark function name and argument, so that a
// benchmark can close with lines computed from its own run (`ratio NAME:
// VALUEx`, `rate NAME: VALUE/s`).
#pragma once

#include <benchmark/benchmark.h>

#include <map>
#include <string>
#include <vector>

namespace nv::bench {

class CounterReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      if (r.error_occurred) continue;
      auto& m = results_[r.run_name.function_name][std::stoi(r.run_name.args)];
      for (const auto& [name, counter] : r.counters) m[name] = double(counter.value);
    }
  }

 protected:
  // A counter of the run of `function` ("Teardown/batched") with argument
  // n, or nullptr.
  const double* find(const std::string& function, int n, const std::string& key) const {
    auto m = results_.find(function);
    if (m == results_.end()) return nullptr;
    auto r = m->second.find(n);
    if (r == m->second.end()) return nullptr;
    auto v = r->second.find(key);
    return v == r->second.end() ? nullptr : &v->second;
  }

  // function name -> argument -> counter -> value.
  std::map<std::string, std::map<int, std::map<std::string, double>>> results_;
};

}  // namespace nv::bench
