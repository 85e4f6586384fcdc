// The reference model of per-CPU deferred skb freeing (net/core/skbuff.c
// skb_attempt_defer_free and net/core/dev.c skb_defer_free_flush, Linux
// v5.19 to 6.17), written to be checked by eye against the kernel.
//
// State is plain values: the live skbs by name (identity and allocating
// CPU), per CPU whether it is online, its defer list (a vector, newest
// last) and whether a kick is pending, and net.core.skb_defer_max. Each step
// is one numbered rule naming the kernel function it mirrors:
//
//   1. napi_alloc_skb: skb->alloc_cpu is the CPU it was allocated on.
//   2. skb_attempt_defer_free, freed at once (event reason): on its
//      allocating CPU (local); its allocating CPU offline (offline); or the
//      owner's list already holds defer_max skbs (full, may_defer()).
//   3. skb_attempt_defer_free, deferred: pushed on the owner's list; the
//      deferral that finds half of defer_max queued kicks the owner
//      (kicks()), unless a kick is still pending (defer_ipi_scheduled).
//   4. net_rx_action on an online CPU: the pending kick is handled
//      (trigger_rx_softirq clears defer_ipi_scheduled) and the whole list is
//      freed, newest first (skb_defer_free_flush). On an offline CPU it does
//      not run (event cpu-offline).
//   5. CPU hotplug: a CPU going down keeps its list (dev_cpu_dead does not
//      drain it); frees to it are immediate until it comes back up.
//   6. net.core.skb_defer_max: validated by write_defer_max(); a refused
//      write changes nothing (event sysctl-refused).
//   7. Another subsystem's skb (DeferHost::free_skb: a reassembled
//      datagram's fragments, consumed on the CPU packets arrive on) is
//      freed by rules 2 and 3; deferred with a namespace reference, it
//      holds the namespace (netns hold) until its owner's rx frees it.
//
// Invariants (find_invariant_violation; after every operation in debug
// builds): no list
// holds an skb twice or one that is live by name; a list grew only while it
// held fewer than defer_max skbs (rule 2), so its length is at most the
// largest defer_max in force since it was last drained; the live count is
// the skbs live by name and on lists.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "trace/defer/defer_ops.h"
#include "trace/engine.h"

namespace nv::defer {

class DeferModel final : public trace::Engine, public DeferHost, private DeferOps {
 public:
  // `host`: the netns engine whose namespaces deferred skbs may hold (null:
  // none do).
  explicit DeferModel(netns::PernetHost* host = nullptr) : host_(host) {}

  uint32_t rx_cpu() const override { return rx_cpu_; }
  void free_skb(std::string name, uint32_t alloc_cpu, uint32_t cpu,
                std::optional<netns::NetId> hold, std::vector<trace::Event>& out) override;

  void apply(const trace::Op& op, std::vector<trace::Event>& out) override;
  void snapshot(trace::Snapshot& out) const override;
  uint64_t digest() const override;
  uint64_t digest(std::string_view ns) const override;
  std::string describe() const override;
  std::unique_ptr<trace::Engine> clone(
      const std::function<trace::Engine*(std::string_view)>& deps) const override;
  uint64_t fingerprint() const override;

  std::optional<std::string> find_invariant_violation() const;

 private:
  struct Skb {
    std::string name;
    uint64_t id = 0;
    uint32_t alloc_cpu = 0;
    std::optional<netns::NetId> hold;  // the namespace it keeps while deferred
  };
  struct Cpu {
    bool online = true;
    bool ipi_scheduled = false;
    std::vector<Skb> defer_list;  // oldest first
    uint64_t high_water = 0;      // the largest defer_max in force since the last drain
  };

  void alloc(const std::string& name, uint32_t cpu, std::vector<trace::Event>& out) override;
  void free(const std::string& name, uint32_t cpu, std::vector<trace::Event>& out) override;
  void rx(uint32_t cpu, std::vector<trace::Event>& out) override;
  void set_online(uint32_t cpu, bool online) override;
  void set_defer_max(uint32_t defer_max) override;
  void set_rx_cpu(uint32_t cpu) override { rx_cpu_ = cpu; }
  // Rules 2 and 3 for an skb no longer named: freed on `cpu`.
  void release(Skb s, uint32_t cpu, std::vector<trace::Event>& out);
  DeferState state() const;

  netns::PernetHost* host_;
  std::map<std::string, Skb> skbs_;  // allocated, not yet freed by the trace
  std::array<Cpu, kNrCpus> cpus_;
  uint32_t defer_max_ = kDefaultDeferMax;
  uint64_t next_id_ = 1;
  uint64_t live_ = 0;  // allocated and not yet really freed (deferred ones included)
  uint32_t rx_cpu_ = 0;
};

}  // namespace nv::defer
