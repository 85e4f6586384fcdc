// DeferImpl: per-CPU deferred skb freeing built the kernel's way (Linux
// v5.19 to 6.17): one DeferList per CPU (impl/defer/defer_list.h) with its
// own spinlock, a lockless length check before it and a lockless emptiness
// check in rx, the kick de-duplicated with a flag, the list detached whole
// and freed outside the lock. The logical CPUs are the threads that run the
// trace's operations (`go skb free ... cpu=1` racing `go cpu rx 0`): fibers
// of the runner's scheduler in tests; bench/defer_bench.cc drives
// DeferList from real threads.
//
// Invariants (find_invariant_violation, after every operation in debug
// builds without mutants): each list is consistent (DeferList::check) and
// holds only skbs allocated on its CPU, not freed, and not live by name;
// live_ counts the skbs allocated and not freed (named or not: an alloc may
// take a name whose former skb is still live, when go'd ops race).
//
// Concurrency:
//   * skbs_lock_ guards by_name_, next_id_ and skbs_ (the name table: an
//     alloc binds a name, a free unbinds it);
//   * each CPU's list: its DeferList's lock (see there);
//   * online (cpu_online_mask), rx_cpu_ and defer_max_ (sysctl_skb_defer_max) are
//     atomics written by the trace's hotplug and sysctl ops and read
//     without a lock (READ_ONCE): relaxed, since they only pick a path and
//     publish no data; live_ is a relaxed counter, read when quiescent.
//   * An skb's fields are written by its alloc before skbs_lock_ is
//     released and only read after: the lock orders them; `hold` is
//     written before the push that publishes it to the owner's drain.
#pragma once

#include <array>
#include <atomic>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "impl/defer/defer_list.h"
#include "impl/defer/defer_mutants.h"
#include "sched/spinlock.h"
#include "trace/defer/defer_ops.h"
#include "trace/engine.h"

namespace nv::defer {

class DeferImpl final : public trace::Engine, public DeferHost, private DeferOps {
 public:
  // `host`: the netns engine whose namespaces deferred skbs may hold (null:
  // none do).
  explicit DeferImpl(MutantSet mutants = {}, netns::PernetHost* host = nullptr)
      : host_(host), mutants_(mutants) {}
  DeferImpl(const DeferImpl&) = delete;
  DeferImpl& operator=(const DeferImpl&) = delete;

  void apply(const trace::Op& op, std::vector<trace::Event>& out) override;
  void snapshot(trace::Snapshot& out) const override;
  uint64_t digest() const override;
  uint64_t digest(std::string_view ns) const override;
  std::string describe() const override;

  std::optional<std::string> find_invariant_violation() const;

  uint32_t rx_cpu() const override { return rx_cpu_.load(std::memory_order_relaxed); }
  void free_skb(std::string name, uint32_t alloc_cpu, uint32_t cpu,
                std::optional<netns::NetId> hold, std::vector<trace::Event>& out) override;

 private:
  struct Skb : DeferSkb {
    std::string name;
    uint64_t id = 0;
    bool freed = false;                // kfree_skb ran (skbs stay in skbs_ until the engine goes)
    std::optional<netns::NetId> hold;  // set while it is deferred holding a namespace
  };
  struct Cpu {
    DeferList defer;
    std::atomic<bool> online{true};
  };

  void alloc(const std::string& name, uint32_t cpu, std::vector<trace::Event>& out) override;
  void free(const std::string& name, uint32_t cpu, std::vector<trace::Event>& out) override;
  void rx(uint32_t cpu, std::vector<trace::Event>& out) override;
  // dev_cpu_dead leaves the defer list alone.
  void set_online(uint32_t cpu, bool online) override {
    cpus_[cpu].online.store(online, std::memory_order_relaxed);
  }
  void set_defer_max(uint32_t defer_max) override {
    defer_max_.store(defer_max, std::memory_order_relaxed);  // WRITE_ONCE by proc_dointvec
  }
  void set_rx_cpu(uint32_t cpu) override { rx_cpu_.store(cpu, std::memory_order_relaxed); }
  // skb_attempt_defer_free of an skb no longer named, on `cpu`; `hold`: the
  // namespace it keeps if it is deferred.
  void release(Skb* skb, uint32_t cpu, std::optional<netns::NetId> hold,
               std::vector<trace::Event>& out);
  // A new skb, numbered; with bind, its name now refers to it (alloc).
  Skb* new_skb(std::string name, uint32_t cpu, bool bind);
  // __kfree_skb: reports the free (a second free of one skb reports again:
  // the differential check sees it).
  void kfree_skb(Skb& skb, uint32_t cpu, std::string_view reason, std::vector<trace::Event>& out);
  DeferState state() const;

  std::array<Cpu, kNrCpus> cpus_;
  netns::PernetHost* const host_;
  std::atomic<uint32_t> defer_max_{kDefaultDeferMax};
  std::atomic<uint32_t> rx_cpu_{0};
  std::atomic<uint64_t> live_{0};
  sched::SpinLock skbs_lock_;
  std::unordered_map<std::string, Skb*> by_name_;  // live by name
  std::deque<Skb> skbs_;                           // every skb allocated (stable addresses)
  uint64_t next_id_ = 1;
  const MutantSet mutants_;
};

}  // namespace nv::defer
