// Namespace-teardown benchmark (tracker issue 9, section 4.6): how long
// dropping N namespaces takes until the last is freed, batched (one cleanup
// pass for the whole cleanup list, as Linux since 2.6.33) against one at a
// time (a pass per namespace, each with its own grace period and
// rcu_barrier, as before), in production mode: no sched::Scheduler, so the
// cleanup runs on the "netns" workqueue's real worker thread and RCU is
// liburcu's (real grace periods).
//
// Scenario, per N: register trace pernet operations p0 and p1 (device=1)
// beside the frag subsystem, then create N namespaces, each with three
// devices (one physical) and three fragment queues. All of it is parsed once
// from trace text outside the timed region, and built afresh (untimed) for
// every iteration. Timed: `netns del` of every namespace, then
// NetnsImpl::settle, which returns when every namespace has been freed.
//
// Metrics, per iteration (averaged over iterations):
//   wall_s         the timed region, steady_clock;
//   grace_periods  sched::rcu_stats() delta of synchronize_rcu calls;
//   barriers       sched::rcu_stats() delta of rcu_barrier calls;
//   peak_dying     the most namespaces dying at once: queued by put_net
//                  ("netns-queued", on the deleting thread) and not yet
//                  freed ("netns-free", reported by the worker at the end of
//                  its pass), counted exactly from those events;
//   bytes_per_ns   heap bytes one namespace holds: glibc mallinfo2()
//                  in-use bytes after building the N namespaces minus
//                  before, over N (its Net, devices, pernet data, fragment
//                  queues and their payloads, and its share of the maps);
//   peak_bytes     peak_dying * bytes_per_ns: the heap held by namespaces
//                  that no user can reach any more, at its peak;
//   dying_ns_s     namespace-seconds held dying: the integral over the
//                  timed region of the number of dying namespaces (their
//                  mean del-to-free latency times N).
// The closing lines (ratio / rate) are computed from this run's numbers.
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "bench/bench_main.h"
#include "bench/counter_reporter.h"
#include "impl/frag/frag_impl.h"
#include "impl/netns/netns_impl.h"
#include "runner/subsystem.h"
#include "sched/rcu.h"
#include "trace/parser.h"

namespace nv::netns {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kDevices = 3;     // per namespace; the second one physical
constexpr int kFragQueues = 3;  // per namespace

struct Ops {
  std::vector<trace::Op> setup;     // pernet registrations, namespaces, devices, fragments
  std::vector<trace::Op> teardown;  // netns del of every namespace
};

std::vector<trace::Op> parse_or_die(const std::string& text) {
  trace::ParseResult r = trace::parse(text, runner::registry());
  if (r.error) {
    std::fprintf(stderr, "netns_bench: generated trace line %u: %s\n", r.error->line,
                 r.error->message.c_str());
    std::abort();
  }
  return std::move(r.trace.ops);
}

// One text, parsed once (the parser checks that each name exists where it
// is used), then split where the teardown begins.
Ops make_ops(int n) {
  std::string text = "pernet register p0\npernet register p1 device=1\n";
  for (int i = 0; i < n; ++i) {
    const std::string ns = "n" + std::to_string(i);
    text += "netns add " + ns + "\n";
    for (int d = 0; d < kDevices; ++d)
      text +=
          "dev add " + ns + " " + ns + "d" + std::to_string(d) + (d == 1 ? " phys=1" : "") + "\n";
    for (int q = 0; q < kFragQueues; ++q)
      text += "frag " + ns + " v4 id=" + std::to_string(q + 1) + " off=0 len=64 mf=1\n";
  }
  for (int i = 0; i < n; ++i) text += "netns del n" + std::to_string(i) + "\n";
  std::vector<trace::Op> ops = parse_or_die(text);
  Ops out;
  out.teardown.assign(ops.end() - n, ops.end());
  ops.resize(ops.size() - size_t(n));
  out.setup = std::move(ops);
  return out;
}

// Counts dying namespaces: +1 per netns-queued (the deleting thread), -1 per
// netns-free (the worker, at the end of its pass, through the DeferredLog),
// keeping the peak and the integral over time.
class DyingCounter final : public trace::DeferredLog {
 public:
  std::vector<trace::Event>& begin() override {
    pass_.clear();
    return pass_;
  }
  void end() override {
    int64_t freed = 0;
    for (const trace::Event& e : pass_) freed += e.kind == "netns-free";
    add(-freed);
  }
  void queued(const std::vector<trace::Event>& events) {
    int64_t queued = 0;
    for (const trace::Event& e : events) queued += e.kind == "netns-queued";
    if (queued) add(queued);
  }
  void start() {
    std::lock_guard lock(mu_);
    dying_ = peak_ = 0;
    integral_s_ = 0;
    last_ = Clock::now();
  }
  int64_t dying() const {
    std::lock_guard lock(mu_);
    return dying_;
  }
  int64_t peak() const {
    std::lock_guard lock(mu_);
    return peak_;
  }
  double integral_s() const {
    std::lock_guard lock(mu_);
    return integral_s_;
  }

 private:
  void add(int64_t delta) {
    std::lock_guard lock(mu_);
    const Clock::time_point now = Clock::now();
    integral_s_ += double(dying_) * std::chrono::duration<double>(now - last_).count();
    last_ = now;
    dying_ += delta;
    peak_ = std::max(peak_, dying_);
  }

  std::vector<trace::Event> pass_;  // the worker's only
  mutable std::mutex mu_;           // guards the fields below
  int64_t dying_ = 0;
  int64_t peak_ = 0;
  double integral_s_ = 0;
  Clock::time_point last_;
};

void apply_all(NetnsImpl& impl, frag::FragImpl& frag, const std::vector<trace::Op>& ops,
               std::vector<trace::Event>& events) {
  for (const trace::Op& op : ops) {
    events.clear();
    if (op.spec->subsystem == "frag")
      frag.apply(op, events);
    else
      impl.apply(op, events);
  }
}

void BM_Teardown(benchmark::State& state, Cleanup cleanup) {
  const int n = int(state.range(0));
  const Ops ops = make_ops(n);
  std::vector<trace::Event> events;
  events.reserve(64);
  double wall_s = 0, grace_periods = 0, barriers = 0, peak = 0, dying_s = 0, bytes = 0,
         peak_bytes = 0;
  for (auto _ : state) {
    DyingCounter counter;
    const size_t heap_before = mallinfo2().uordblks;
    NetnsImpl impl({}, &counter, cleanup);
    frag::FragImpl frag(impl, {});
    apply_all(impl, frag, ops.setup, events);
    const double bytes_per_ns = double(mallinfo2().uordblks - heap_before) / n;

    const sched::RcuStats rcu_before = sched::rcu_stats();
    counter.start();
    const Clock::time_point t0 = Clock::now();
    for (const trace::Op& op : ops.teardown) {
      events.clear();
      impl.apply(op, events);
      counter.queued(events);
    }
    events.clear();
    impl.settle(events);
    const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
    const sched::RcuStats rcu_after = sched::rcu_stats();

    state.SetIterationTime(elapsed);
    if (counter.dying() != 0 || counter.peak() == 0) {
      state.SkipWithError("settle returned with namespaces still dying");
      break;
    }
    wall_s += elapsed;
    grace_periods += double(rcu_after.grace_periods - rcu_before.grace_periods);
    barriers += double(rcu_after.barriers - rcu_before.barriers);
    peak += double(counter.peak());
    bytes += bytes_per_ns;
    peak_bytes += double(counter.peak()) * bytes_per_ns;
    dying_s += counter.integral_s();
  }
  const double it = double(state.iterations());
  state.counters["wall_s"] = wall_s / it;
  state.counters["grace_periods"] = grace_periods / it;
  state.counters["barriers"] = barriers / it;
  state.counters["peak_dying"] = peak / it;
  state.counters["bytes_per_ns"] = bytes / it;
  state.counters["peak_bytes"] = peak_bytes / it;
  state.counters["dying_ns_s"] = dying_s / it;
  state.SetItemsProcessed(int64_t(state.iterations()) * n);
}

constexpr int kSizes[] = {256, 1024, 4096, 16384};

const char* mode_name(Cleanup c) {
  return c == Cleanup::kBatched ? "batched" : "one-at-a-time";
}

void register_benchmarks() {
  for (Cleanup c : {Cleanup::kBatched, Cleanup::kOneAtATime})
    for (int n : kSizes)
      benchmark::RegisterBenchmark((std::string("Teardown/") + mode_name(c)).c_str(), BM_Teardown,
                                   c)
          ->Arg(n)
          ->UseManualTime()
          // About as many namespaces for every N; fewer one at a time, where
          // each namespace waits for an rcu_barrier (its fragment state is
          // freed by call_rcu, and liburcu's callback thread batches for
          // about 10 ms): 4096 namespaces take about a minute.
          ->Iterations(c == Cleanup::kBatched ? std::max(5, 65536 / n) : std::max(1, 4096 / n))
          ->Unit(benchmark::kMillisecond);
}

// Prints as usual and keeps each run's counters for the closing table.
class TeardownReporter final : public bench::CounterReporter {
 public:
  void print_summary() const {
    std::printf("\nGrowth, measured in this run (per namespace = wall time / N):\n");
    std::printf("  %-14s %6s %10s %10s %9s %9s %10s %12s %12s\n", "cleanup", "N", "wall ms",
                "us/netns", "GPs", "barriers", "peak dying", "peak MiB", "dying ns*s");
    for (const auto& [mode, by_n] : results_)
      for (const auto& [n, m] : by_n)
        std::printf("  %-14s %6d %10.1f %10.2f %9.0f %9.0f %10.0f %12.2f %12.2f\n",
                    mode.substr(mode.find('/') + 1).c_str(), n, m.at("wall_s") * 1e3,
                    m.at("wall_s") / n * 1e6, m.at("grace_periods"), m.at("barriers"),
                    m.at("peak_dying"), m.at("peak_bytes") / (1 << 20), m.at("dying_ns_s"));
    std::printf("\n");
    auto ratio = [&](const std::string& what, const std::string& key, int n) {
      const double* one = find("Teardown/one-at-a-time", n, key);
      const double* batched = find("Teardown/batched", n, key);
      if (one && batched && *batched > 0)
        std::printf("ratio %s-%d: %.2fx\n", what.c_str(), n, *one / *batched);
    };
    auto rate = [&](const std::string& mode, int n) {
      if (const double* wall = find("Teardown/" + mode, n, "wall_s"); wall && *wall > 0)
        std::printf("rate netns-teardown-%s-%d: %.0f/s\n", mode.c_str(), n, n / *wall);
    };
    for (const char* mode : {"batched", "one-at-a-time"})
      for (int n : kSizes) rate(mode, n);
    // Linear growth keeps the per-namespace time flat: the time per
    // namespace at 16384 over that at 256 (1.00x: perfectly linear).
    for (const char* mode : {"batched", "one-at-a-time"}) {
      const double* big = find(std::string("Teardown/") + mode, 16384, "wall_s");
      const double* small = find(std::string("Teardown/") + mode, 256, "wall_s");
      if (big && small && *small > 0)
        std::printf("ratio netns-teardown-%s-per-netns-16384-vs-256: %.2fx\n", mode,
                    (*big / 16384) / (*small / 256));
    }
    ratio("netns-teardown-dying-ns-seconds", "dying_ns_s", 4096);
    ratio("netns-teardown-barriers", "barriers", 4096);
    ratio("netns-teardown-grace-periods", "grace_periods", 4096);
    ratio("netns-teardown", "wall_s", 4096);
  }
};

}  // namespace
}  // namespace nv::netns

int main(int argc, char** argv) {
  nv::netns::register_benchmarks();
  nv::netns::TeardownReporter reporter;
  return nv::bench::run_benchmarks(argc, argv, &reporter, [&] { reporter.print_summary(); });
}
