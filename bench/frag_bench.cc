// Fragment reassembly benchmarks: the impl against the model (and plain
// memcpy) on the workloads of docs/design.md "Performance". After the
// benchmarks run, a table of ratios measured in this same run is printed.
//
//   (a) InOrder:     64 KiB v4 datagrams in 1480-byte fragments, in order
//   (b) Shuffled:    the same, fragments in a fixed random order
//   (c) Adversarial: N tiny 8-byte fragments in one queue, each landing in
//                    the rbtree (reverse order, gaps between them), then one
//                    overlapping fragment that discards them all; reported
//                    per fragment for N = 10, 100, 1000, 10000
//   (d) Million:     first fragments of 1,000,000 v6 datagrams, then their
//                    last fragments: one million concurrent queues; ids in
//                    sequence (one sender) and shuffled (many senders)
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <random>
#include <vector>

#include "bench/bench_main.h"
#include "impl/frag/frag_impl.h"
#include "model/frag/frag_model.h"
#include "runner/subsystem.h"
#include "trace/parser.h"

namespace nv::frag {
namespace {

constexpr uint32_t kDatagram = 65512;  // 20 + 65512 <= 65535
constexpr uint32_t kFragLen = 1480;

struct Frags {
  std::vector<Fragment> frags;
  std::vector<uint8_t> bytes;  // the datagram; fragment k's payload at frags[k].off
};

Frags datagram_frags(Family family, bool shuffled) {
  Frags d;
  d.bytes.resize(kDatagram);
  for (uint32_t off = 0; off < kDatagram; off += kFragLen) {
    Fragment f{.ns = "init",
               .family = family,
               .id = 1,
               .off = off,
               .len = std::min(kFragLen, kDatagram - off),
               .mf = off + kFragLen < kDatagram};
    f.src.bytes = {127, 0, 0, 1};
    f.dst = f.src;
    fill_payload(f, d.bytes.data() + off);
    d.frags.push_back(f);
  }
  if (shuffled) std::shuffle(d.frags.begin(), d.frags.end(), std::mt19937(42));
  return d;
}

// Applies sysctl lines to any engine through the trace language.
void configure(trace::Engine& engine, const std::string& lines) {
  trace::ParseResult r = trace::parse(lines, runner::registry());
  std::vector<trace::Event> ignored;
  for (const trace::Op& op : r.trace.ops) engine.apply(op, ignored);
}

const char* const kBigLimits =
    "sysctl init ipv4.ipfrag_high_thresh 1099511627776\n"
    "sysctl init ipv6.ip6frag_high_thresh 1099511627776\n"
    "sysctl init ipv4.ipfrag_max_dist 0\n";

class CountingSink final : public DeliverSink {
 public:
  void deliver(const Fragment&, std::span<const uint8_t> bytes, uint64_t) override {
    delivered += bytes.size();
    benchmark::DoNotOptimize(bytes.data());
  }
  uint64_t delivered = 0;
};

// Runs one fragment through an engine. The impl gets the payload in place
// (as from a NIC ring); the model gets a span over the same bytes.
void feed(FragImpl& impl, const Fragment& f, const uint8_t* payload, CountingSink& sink) {
  impl.receive(f, payload, sink);
}
void feed(FragModel& model, const Fragment& f, const uint8_t* payload, CountingSink& sink) {
  static std::vector<trace::Event> events;
  events.clear();
  model.receive(f, {payload, f.len}, events);
  for (const auto& e : events) sink.delivered += e.kind == "deliver";
}

template <typename Engine>
void BM_Datagrams(benchmark::State& state, bool shuffled) {
  Frags d = datagram_frags(Family::kV4, shuffled);
  Engine engine;
  configure(engine, kBigLimits);
  CountingSink sink;
  uint32_t id = 0;
  for (auto _ : state) {
    id = (id + 1) & 0xffff;
    for (Fragment f : d.frags) {
      f.id = id;
      feed(engine, f, d.bytes.data() + f.off, sink);
    }
  }
  state.SetItemsProcessed(int64_t(state.iterations() * d.frags.size()));
  state.SetBytesProcessed(int64_t(state.iterations() * kDatagram));
}

void BM_Memcpy(benchmark::State& state) {
  std::vector<uint8_t> src(kDatagram, 1), dst(kDatagram);
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), kDatagram);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(int64_t(state.iterations() * kDatagram));
}

template <typename Engine>
void BM_Adversarial(benchmark::State& state) {
  const uint32_t n = uint32_t(state.range(0));
  std::vector<uint8_t> payload(16, 0x5a);
  Engine engine;
  configure(engine, kBigLimits);
  CountingSink sink;
  uint32_t id = 0;
  for (auto _ : state) {
    id = (id + 1) & 0xffff;
    Fragment f{.ns = "init", .family = Family::kV4, .id = id, .len = 8, .mf = true};
    f.src.bytes = {127, 0, 0, 1};
    f.dst = f.src;
    for (uint32_t k = n; k-- > 0;) {  // reverse order, 8-byte gaps: every one a new run
      f.off = 16 * k;
      feed(engine, f, payload.data(), sink);
    }
    f.off = 8;  // straddles the first two runs
    f.len = 16;
    feed(engine, f, payload.data(), sink);
  }
  state.SetItemsProcessed(int64_t(state.iterations() * (n + 1)));
}

template <typename Engine>
void BM_Million(benchmark::State& state, bool shuffled) {
  constexpr uint32_t kQueues = 1'000'000;
  std::vector<uint8_t> payload(16, 0x5a);
  // Sequential ids are one sender's; many senders' ids arrive in no order.
  std::vector<uint32_t> ids(kQueues);
  for (uint32_t i = 0; i < kQueues; ++i) ids[i] = i;
  if (shuffled) std::shuffle(ids.begin(), ids.end(), std::mt19937(7));
  for (auto _ : state) {
    Engine engine;
    configure(engine, kBigLimits);
    CountingSink sink;
    Fragment f{.ns = "init", .family = Family::kV6, .len = 8};
    f.src.v6 = f.dst.v6 = true;
    f.src.bytes[15] = f.dst.bytes[15] = 1;
    for (int pass = 0; pass < 2; ++pass) {
      f.off = pass * 8;
      f.mf = pass == 0;
      for (uint32_t id : ids) {
        f.id = id;
        feed(engine, f, payload.data(), sink);
      }
    }
    if (sink.delivered == 0) state.SkipWithError("nothing delivered");
  }
  state.SetItemsProcessed(int64_t(state.iterations() * 2 * kQueues));
}

void register_benchmarks() {
  using benchmark::RegisterBenchmark;
  RegisterBenchmark("InOrder/impl", BM_Datagrams<FragImpl>, false);
  RegisterBenchmark("InOrder/model", BM_Datagrams<FragModel>, false);
  RegisterBenchmark("InOrder/memcpy", BM_Memcpy);
  RegisterBenchmark("Shuffled/impl", BM_Datagrams<FragImpl>, true);
  RegisterBenchmark("Shuffled/model", BM_Datagrams<FragModel>, true);
  RegisterBenchmark("Adversarial/impl", BM_Adversarial<FragImpl>)
      ->RangeMultiplier(10)
      ->Range(10, 10000);
  RegisterBenchmark("Adversarial/model", BM_Adversarial<FragModel>)
      ->RangeMultiplier(10)
      ->Range(10, 10000);
  for (bool shuffled : {false, true}) {
    const std::string order = shuffled ? "Shuffled" : "Sequential";
    RegisterBenchmark(("Million" + order + "/impl").c_str(), BM_Million<FragImpl>, shuffled)
        ->Iterations(1)
        ->Unit(benchmark::kMillisecond);
    RegisterBenchmark(("Million" + order + "/model").c_str(), BM_Million<FragModel>, shuffled)
        ->Iterations(1)
        ->Unit(benchmark::kMillisecond);
  }
}

// Prints as usual and keeps each run's rates for the ratio table.
class RatioReporter final : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      auto items = r.counters.find("items_per_second");
      auto bytes = r.counters.find("bytes_per_second");
      rates_[r.benchmark_name()] = {items == r.counters.end() ? 0.0 : double(items->second),
                                    bytes == r.counters.end() ? 0.0 : double(bytes->second)};
    }
  }
  // The table for people, then one "ratio NAME: VALUEx" line per figure
  // (the contract tools read).
  void print_ratios() const {
    std::printf("\nRatios measured in this run:\n");
    std::string lines;
    auto ratio = [&](const std::string& name, const std::string& what, const std::string& a,
                     const std::string& b, bool bytes) {
      auto ia = rates_.find(a), ib = rates_.find(b);
      if (ia == rates_.end() || ib == rates_.end()) return;
      double x = bytes ? ia->second.second : ia->second.first;
      double y = bytes ? ib->second.second : ib->second.first;
      if (y <= 0) return;
      std::printf("  %-52s %10.2fx\n", what.c_str(), x / y);
      char line[128];
      std::snprintf(line, sizeof(line), "ratio %s: %.2fx\n", name.c_str(), x / y);
      lines += line;
    };
    ratio("frag-inorder", "(a) in-order: impl / model fragments/s", "InOrder/impl", "InOrder/model",
          false);
    ratio("frag-inorder-vs-memcpy", "(a) in-order: impl / memcpy bytes/s", "InOrder/impl",
          "InOrder/memcpy", true);
    ratio("frag-shuffled", "(b) shuffled: impl / model fragments/s", "Shuffled/impl",
          "Shuffled/model", false);
    for (const char* n : {"10", "100", "1000", "10000"})
      ratio(std::string("frag-adversarial-") + n,
            std::string("(c) adversarial, ") + n + " per queue: impl / model",
            std::string("Adversarial/impl/") + n, std::string("Adversarial/model/") + n, false);
    ratio("frag-adversarial-impl-10-vs-10000", "(c) impl per-fragment cost, 10000 vs 10 per queue",
          "Adversarial/impl/10", "Adversarial/impl/10000", false);
    ratio("frag-million-sequential", "(d) one million queues, sequential ids: impl / model",
          "MillionSequential/impl/iterations:1", "MillionSequential/model/iterations:1", false);
    ratio("frag-million-shuffled", "(d) one million queues, shuffled ids: impl / model",
          "MillionShuffled/impl/iterations:1", "MillionShuffled/model/iterations:1", false);
    std::printf("\n%s", lines.c_str());
  }

 private:
  std::map<std::string, std::pair<double, double>> rates_;
};

}  // namespace
}  // namespace nv::frag

int main(int argc, char** argv) {
  nv::frag::register_benchmarks();
  nv::frag::RatioReporter reporter;
  return nv::bench::run_benchmarks(argc, argv, &reporter, [&] { reporter.print_ratios(); });
}
