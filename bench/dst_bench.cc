// dst garbage-collection benchmark (issue 10): with N = 10^4, 10^5 and 10^6
// live entries, the longest time the collector's list lock is held and the
// total time of the collector's runs, for the softirq timer's full scan
// (before 2007) and the workqueue worker (the 2007 seed), and what today's
// RCU design costs per put instead. Production mode: no sched::Scheduler,
// real threads (the collector's workqueue), real locks, liburcu.
//
// Scenario, per design and N (untimed setup): one device; N entries
// allocated on it, each held once and freed, so that all N wait for the
// collector with a reference held (the seed's hosts: tens of thousands of
// entries "delayed", less than 1% freed per run). Measured:
//   lock_hold_us  the longest section of the collector's list lock
//                 (CountedLock, steady_clock) over kRuns collector runs and
//                 then the N puts that drop the last references;
//   gc_ms         the kRuns runs' total wall time (run_now: queued and
//                 waited for);
//   put_ns        the N puts' wall time over N (for RCU: each last put
//                 queues the destruction after a grace period);
//   destroy_ms    the collection that destroys the N unreferenced entries
//                 (RCU: rcu_barrier).
// The closing lines, measured in this run: `ratio
// dst-gc-worst-lock-hold-1eK: VALUEx` (timer / worker) for K = 4, 5, 6, and
// `rate dst-rcu-put-1eK: VALUE/s`.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "bench/bench_main.h"
#include "bench/counter_reporter.h"
#include "impl/dst/dst_impl.h"
#include "impl/netns/netns_impl.h"
#include "runner/subsystem.h"
#include "sched/rcu.h"
#include "trace/parser.h"

namespace nv::dst {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kRuns = 3;
constexpr int kSizes[] = {10000, 100000, 1000000};

double seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// One parsed op per kind; the bench renames its fields per entry.
struct Templates {
  std::vector<trace::Op> ops;  // dev add, dst alloc, dst hold, dst put, dst free
  Templates() {
    trace::ParseResult r =
        trace::parse("dev add init eth0\ndst alloc e eth0\ndst hold e r\ndst put r\ndst free e\n",
                     runner::registry());
    if (r.error) {
      std::fprintf(stderr, "dst_bench: %s\n", r.error->message.c_str());
      std::abort();
    }
    ops = std::move(r.trace.ops);
  }
  trace::Op named(size_t kind, size_t field, const std::string& name) const {
    trace::Op op = ops[kind];
    op.args[field] = trace::Value(name);
    return op;
  }
};

void BM_Gc(benchmark::State& state, Design design) {
  const int n = int(state.range(0));
  static const Templates t;
  for (auto _ : state) {
    netns::NetnsImpl host;
    DstImpl dst(host, design);
    std::vector<trace::Event> ignored;
    host.apply(t.ops[0], ignored);
    for (int i = 0; i < n; ++i) {
      const std::string e = "e" + std::to_string(i), r = "r" + std::to_string(i);
      dst.apply(t.named(1, fields::kAllocDst, e), ignored);
      trace::Op hold = t.named(2, fields::kHoldDst, e);
      hold.args[fields::kHoldRef] = trace::Value(r);
      dst.apply(hold, ignored);
      dst.apply(t.named(4, fields::kFreeDst, e), ignored);
    }
    Collector& c = dst.collector();
    c.lock().measure(true);
    const auto gc_start = Clock::now();
    for (int k = 0; k < kRuns; ++k) c.run_now();
    const double gc_s = seconds(Clock::now() - gc_start);
    const auto put_start = Clock::now();
    for (int i = 0; i < n; ++i)
      dst.apply(t.named(3, fields::kPutRef, "r" + std::to_string(i)), ignored);
    const double put_s = seconds(Clock::now() - put_start);
    const auto destroy_start = Clock::now();
    c.run_now();
    const double destroy_s = seconds(Clock::now() - destroy_start);
    c.lock().measure(false);
    if (c.destroyed() != uint64_t(n)) state.SkipWithError("not every entry was destroyed");
    state.SetIterationTime(gc_s);
    state.counters["lock_hold_us"] = double(c.lock().longest_ns()) / 1e3;
    state.counters["gc_ms"] = gc_s * 1e3;
    state.counters["put_ns"] = put_s * 1e9 / n;
    state.counters["destroy_ms"] = destroy_s * 1e3;
  }
}

// Prints as usual and keeps each run's counters for the closing lines.
class GcReporter final : public bench::CounterReporter {
 public:
  void print_summary() const {
    std::printf("\nMeasured in this run:\n  %-12s %8s %14s %10s %10s %12s\n", "design", "N",
                "lock hold us", "gc ms", "put ns", "destroy ms");
    for (const auto& [design, by_n] : results_)
      for (const auto& [n, m] : by_n)
        std::printf("  %-12s %8d %14.2f %10.2f %10.1f %12.2f\n", design.c_str(), n,
                    m.at("lock_hold_us"), m.at("gc_ms"), m.at("put_ns"), m.at("destroy_ms"));
    std::printf("\n");
    for (int k = 4; k <= 6; ++k) {
      const int n = kSizes[k - 4];
      const double* timer = find("Gc/timer", n, "lock_hold_us");
      const double* worker = find("Gc/worker", n, "lock_hold_us");
      if (timer && worker && *worker > 0)
        std::printf("ratio dst-gc-worst-lock-hold-1e%d: %.1fx\n", k, *timer / *worker);
    }
    for (int k = 4; k <= 6; ++k)
      if (const double* put = find("Gc/rcu", kSizes[k - 4], "put_ns"); put && *put > 0)
        std::printf("rate dst-rcu-put-1e%d: %.0f/s\n", k, 1e9 / *put);
  }
};

void register_benchmarks() {
  for (Design d : {Design::kTimer, Design::kWorker, Design::kRcu}) {
    auto* b = benchmark::RegisterBenchmark(("Gc/" + std::string(kDesignNames[size_t(d)])).c_str(),
                                           BM_Gc, d);
    for (int n : kSizes) b->Arg(n);
    b->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);
  }
}

}  // namespace
}  // namespace nv::dst

int main(int argc, char** argv) {
  nv::sched::RcuThread rcu;  // the puts queue call_rcu from this thread
  nv::dst::register_benchmarks();
  nv::dst::GcReporter reporter;
  return nv::bench::run_benchmarks(argc, argv, &reporter, [&] { reporter.print_summary(); });
}
