// Deferred skb freeing benchmark (tracker issue 11): two real threads, one
// per logical CPU, pinned to two cores when the machine has them. CPU A
// allocates skbs (a 2 KiB buffer each, written as a NIC would) and hands
// them to CPU B through a single-producer ring; B copies each payload out
// (recvmsg) and frees it:
//   * remote:   B frees at once (kfree_skb on the consuming CPU, before
//               5.19: the allocator's remote-free path, the buffer's cache
//               lines pulled back and forth);
//   * deferred: B pushes it on A's DeferList (impl/defer/defer_list.h,
//               skb_defer_max 64); A flushes its list after every batch of
//               64 allocations (the end of net_rx_action), so the frees run
//               on the CPU that allocated (skb_attempt_defer_free). A full
//               list makes B free at once, as the kernel does.
// Metrics per mode: frees_per_s (skbs through the pipeline per second of
// wall time, averaged over iterations) and, where perf_event_open gives
// hardware counters, cache_misses_per_free (both threads, inherited
// counters). The closing line is computed from this run's numbers:
//   ratio defer-free-deferred-vs-remote: VALUEx   (deferred / remote frees/s)
#include <benchmark/benchmark.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_main.h"
#include "impl/defer/defer_list.h"
#include "trace/defer/defer_ops.h"

namespace nv::defer {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kSkbs = 1 << 18;  // per iteration
constexpr size_t kDataLen = 2048;
constexpr size_t kBatch = 64;  // allocations between two rx actions (a NAPI budget)
constexpr size_t kRing = 1024;

struct BenchSkb : DeferSkb {
  uint8_t* data = nullptr;
};

BenchSkb* alloc_skb(uint32_t cpu, uint8_t fill) {
  auto* skb = new BenchSkb;
  skb->alloc_cpu = cpu;
  skb->data = static_cast<uint8_t*>(std::malloc(kDataLen));
  std::memset(skb->data, fill, kDataLen);
  return skb;
}

void kfree_skb(DeferSkb* node) {
  auto* skb = static_cast<BenchSkb*>(node);
  std::free(skb->data);
  delete skb;
}

// Single producer (A), single consumer (B). head_ is written by B only,
// tail_ by A only; the release store of each pairs with the acquire load
// of the other side, so a slot is read only after it was written, and
// reused only after it was read.
class Ring {
 public:
  bool push(BenchSkb* skb) {
    const size_t t = tail_.load(std::memory_order_relaxed);
    if (t - head_.load(std::memory_order_acquire) == kRing) return false;
    slots_[t % kRing] = skb;
    tail_.store(t + 1, std::memory_order_release);
    return true;
  }
  BenchSkb* pop() {
    const size_t h = head_.load(std::memory_order_relaxed);
    if (h == tail_.load(std::memory_order_acquire)) return nullptr;
    BenchSkb* skb = slots_[h % kRing];
    head_.store(h + 1, std::memory_order_release);
    return skb;
  }

 private:
  BenchSkb* slots_[kRing] = {};
  alignas(64) std::atomic<size_t> head_{0};
  alignas(64) std::atomic<size_t> tail_{0};
};

void pin(int core) {
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0 || CPU_COUNT(&allowed) < 2) return;
  int seen = 0;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (!CPU_ISSET(c, &allowed) || seen++ != core) continue;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(c, &one);
    pthread_setaffinity_np(pthread_self(), sizeof one, &one);
    return;
  }
}

// Hardware cache misses of this process's threads created after it opens
// (inherit), or nothing where the machine gives no hardware counters.
class CacheMisses {
 public:
  CacheMisses() {
    perf_event_attr attr{};
    attr.type = PERF_TYPE_HARDWARE;
    attr.size = sizeof attr;
    attr.config = PERF_COUNT_HW_CACHE_MISSES;
    attr.inherit = 1;
    attr.exclude_kernel = 1;
    attr.exclude_hv = 1;
    fd_ = int(syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0));
  }
  ~CacheMisses() {
    if (fd_ >= 0) close(fd_);
  }
  std::optional<uint64_t> read_total() const {
    uint64_t v = 0;
    if (fd_ < 0 || ::read(fd_, &v, sizeof v) != sizeof v) return std::nullopt;
    return v;
  }

 private:
  int fd_ = -1;
};

enum Mode : int64_t { kRemote = 0, kDeferred = 1 };

void BM_FreeAcrossCpus(benchmark::State& state) {
  const bool deferred = state.range(0) == kDeferred;
  state.SetLabel(deferred ? "deferred" : "remote");
  double misses = 0;
  bool have_misses = true;
  for (auto _ : state) {
    Ring ring;
    DeferList list;  // CPU A's
    std::atomic<uint32_t> defer_max{kDefaultDeferMax};
    std::atomic<bool> consumer_done{false};
    CacheMisses counter;  // opened before the threads, so they inherit it
    const auto t0 = Clock::now();
    std::thread cpu_b([&] {
      pin(1);
      std::vector<uint8_t> user(kDataLen);
      uint64_t sum = 0;
      for (size_t n = 0; n < kSkbs;) {
        BenchSkb* skb = ring.pop();
        if (!skb) continue;
        std::memcpy(user.data(), skb->data, kDataLen);  // the copy to user (recvmsg)
        sum += user[n % kDataLen];
        uint64_t count = 0;
        if (!deferred || list.push(skb, defer_max, &count) == DeferList::Push::kFull)
          kfree_skb(skb);
        ++n;
      }
      benchmark::DoNotOptimize(sum);
      consumer_done.store(true, std::memory_order_release);
    });
    std::thread cpu_a([&] {
      pin(0);
      for (size_t n = 0; n < kSkbs;) {
        for (size_t k = 0; k < kBatch && n < kSkbs; ++k, ++n) {
          BenchSkb* skb = alloc_skb(0, uint8_t(n));
          while (!ring.push(skb)) list.flush(kfree_skb);  // rx while the ring is full
        }
        list.flush(kfree_skb);  // the end of net_rx_action
      }
      while (!consumer_done.load(std::memory_order_acquire)) list.flush(kfree_skb);
      list.flush(kfree_skb);
    });
    cpu_a.join();
    cpu_b.join();
    const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
    state.SetIterationTime(elapsed);
    if (auto m = counter.read_total())
      misses += double(*m);
    else
      have_misses = false;
  }
  const double frees = double(state.iterations()) * double(kSkbs);
  state.SetItemsProcessed(int64_t(frees));
  state.counters["frees_per_s"] = benchmark::Counter(frees, benchmark::Counter::kIsRate);
  if (have_misses) state.counters["cache_misses_per_free"] = misses / frees;
}
BENCHMARK(BM_FreeAcrossCpus)
    ->Arg(kRemote)
    ->Arg(kDeferred)
    ->UseManualTime()
    ->Iterations(8)
    ->Unit(benchmark::kMillisecond);

// Prints as usual and keeps each mode's counters for the closing line.
class DeferReporter final : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      if (r.error_occurred) continue;
      for (const auto& [name, counter] : r.counters) results_[r.report_label][name] = counter.value;
    }
  }
  void print_summary() const {
    const double* remote = find("remote", "frees_per_s");
    const double* deferred = find("deferred", "frees_per_s");
    std::printf("\n");
    for (const char* mode : {"remote", "deferred"}) {
      const double* misses = find(mode, "cache_misses_per_free");
      if (const double* rate = find(mode, "frees_per_s"))
        std::printf("  %-8s %12.0f frees/s, cache misses per free: %s\n", mode, *rate,
                    misses ? std::to_string(*misses).c_str()
                           : "n/a (no hardware counters: perf_event_open refused)");
    }
    if (remote && deferred && *remote > 0)
      std::printf("ratio defer-free-deferred-vs-remote: %.2fx\n", *deferred / *remote);
  }

 private:
  const double* find(const std::string& mode, const std::string& key) const {
    auto m = results_.find(mode);
    if (m == results_.end()) return nullptr;
    auto v = m->second.find(key);
    return v == m->second.end() ? nullptr : &v->second;
  }
  std::map<std::string, std::map<std::string, double>> results_;
};

}  // namespace
}  // namespace nv::defer

int main(int argc, char** argv) {
  nv::defer::DeferReporter reporter;
  return nv::bench::run_benchmarks(argc, argv, &reporter, [&] { reporter.print_summary(); });
}
