// The scheduler's speed. A decision is one pick of a runnable thread and
// running it to its next scheduling point (two fiber switches).
//
//   TestMode/Yield4:          4 fibers, each a loop of sched::yield(); random
//                             strategy; events not recorded (decisions are)
//   TestMode/MutexPingPong:   2 fibers taking one nv::sched::Mutex in turn,
//                             yielding inside the critical section
//   Production/MutexPingPong: the same body on 2 std::threads (real
//                             std::mutex behind nv::sched::Mutex); ops/s
//   Production/UncontendedMutex: lock+unlock on one thread: what the mode
//                             check (one TLS load and a branch) costs next to
//                             StdMutex
//
// After the run the headline figures are printed, one line each, the last
// being "rate sched-decisions: VALUE/s" (TestMode/Yield4).
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>

#include "bench/bench_main.h"
#include "sched/mutex.h"
#include "sched/random_strategy.h"
#include "sched/scheduler.h"

namespace nv::sched {
namespace {

// Decisions and seconds of every iteration, for the headline line.
struct Rate {
  double decisions = 0;
  double seconds = 0;
  double per_second() const { return seconds > 0 ? decisions / seconds : 0; }
};
Rate yield_rate;
Rate mutex_rate;

constexpr int kLoops = 25000;

uint64_t run_once(int threads, bool mutex_body) {
  Mutex mu;
  uint64_t counter = 0;
  Scheduler s({.record_events = false});
  for (int t = 0; t < threads; ++t) {
    s.spawn("t" + std::to_string(t), [&] {
      for (int i = 0; i < kLoops; ++i) {
        if (mutex_body) {
          std::lock_guard lock(mu);
          yield();
          ++counter;
        } else {
          yield();
        }
      }
    });
  }
  RandomStrategy random(42);
  if (s.run(random, UINT64_MAX) != RunStatus::kOk) std::abort();
  return s.steps();
}

void BM_TestMode(benchmark::State& state, int threads, bool mutex_body, Rate* rate) {
  uint64_t decisions = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    const uint64_t d = run_once(threads, mutex_body);
    rate->seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    rate->decisions += double(d);
    decisions += d;
  }
  state.counters["decisions/s"] =
      benchmark::Counter(double(decisions), benchmark::Counter::kIsRate);
}

void BM_ProductionPingPong(benchmark::State& state) {
  for (auto _ : state) {
    Mutex mu;
    uint64_t counter = 0;
    std::thread a([&] {
      for (int i = 0; i < kLoops; ++i) {
        std::lock_guard lock(mu);
        yield();
        ++counter;
      }
    });
    for (int i = 0; i < kLoops; ++i) {
      std::lock_guard lock(mu);
      yield();
      ++counter;
    }
    a.join();
    benchmark::DoNotOptimize(counter);
  }
  state.counters["ops/s"] =
      benchmark::Counter(2.0 * kLoops, benchmark::Counter::kIsIterationInvariantRate);
}

template <class M>
void BM_Uncontended(benchmark::State& state) {
  M mu;
  for (auto _ : state) {
    mu.lock();
    mu.unlock();
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
}

}  // namespace
}  // namespace nv::sched

int main(int argc, char** argv) {
  using namespace nv::sched;
  benchmark::RegisterBenchmark("TestMode/Yield4", BM_TestMode, 4, false, &yield_rate)
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("TestMode/MutexPingPong", BM_TestMode, 2, true, &mutex_rate)
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("Production/MutexPingPong", BM_ProductionPingPong)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  benchmark::RegisterBenchmark("Production/UncontendedMutex", BM_Uncontended<Mutex>);
  benchmark::RegisterBenchmark("Production/UncontendedStdMutex", BM_Uncontended<std::mutex>);
  return nv::bench::run_benchmarks(argc, argv, nullptr, [] {
    if (mutex_rate.seconds > 0)
      std::printf("rate sched-decisions-mutex: %.0f/s\n", mutex_rate.per_second());
    if (yield_rate.seconds > 0)
      std::printf("rate sched-decisions: %.0f/s\n", yield_rate.per_second());
  });
}
