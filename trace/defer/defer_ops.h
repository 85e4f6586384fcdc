// The deferred-skb-freeing subsystem's part of the trace language
// (net/core/skbuff.c skb_attempt_defer_free, net/core/dev.c
// skb_defer_free_flush), and what its two engines share: the operations'
// field indices, the thresholds, the sysctl's validation, the events, and
// the state both report (snapshot gauges, digest, describe()).
//
// An skb remembers the CPU that allocated it. A free on another CPU hands it
// back to that CPU's defer list (freed by that CPU's next rx action) unless
// the allocating CPU is offline or its list is full; when the list reaches
// half of net.core.skb_defer_max the owner is kicked once (an IPI raising
// its NET_RX softirq). The trace is the interrupt controller: a kick is an
// event and sets the owner's "IPI scheduled" flag; what the softirq then
// does is the trace's `cpu rx` on that CPU (it handles the pending IPI and
// drains the whole list). docs/design.md, "Deferred skb freeing".
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "trace/event.h"
#include "trace/netns/netns_ops.h"
#include "trace/op.h"
#include "trace/registry.h"

namespace nv::defer {

// Logical CPUs: a fixed small machine (the trace's CPU fields are 0..3).
// CPU 0 is the boot CPU and never goes offline (`cpu down 0` is a trace
// error), so some CPU always runs rx.
inline constexpr uint32_t kNrCpus = 4;

// The vocabulary of the gauges (`expect defer init NAME VALUE`).
inline constexpr std::string_view kVocabGauge = "defer-gauge";

// The name scope of skbs.
inline constexpr std::string_view kScopeSkb = "skb";

// Field indices.
namespace fields {
inline constexpr size_t kSkb = 0, kCpu = 1;  // skb alloc|free SKB cpu=N
inline constexpr size_t kCpuId = 0;          // cpu rx|down|up|steer CPU
}  // namespace fields

// The thresholds, in one place: the seed's design as Linux v5.19 to 6.17
// has it (skb_attempt_defer_free with sd->defer_count and
// sysctl_skb_defer_max). 6.18 moved to per-NUMA-node lock-free lists whose
// count is bumped before the check (a list then holds at most defer_max - 1,
// defers nothing at 1 and never kicks at 2); following it changes these
// two functions and nothing else.
inline constexpr uint32_t kDefaultDeferMax = 64;  // net.core.skb_defer_max
// A remote free is deferred while the owner's list holds fewer than
// defer_max skbs (otherwise the skb is freed at once by the freeing CPU).
constexpr bool may_defer(uint64_t count, uint64_t defer_max) {
  return count < defer_max;
}
// The deferral that finds `count` skbs already queued kicks the owner: one
// per crossing of the half-way mark, since only a drain lowers the count.
constexpr bool kicks(uint64_t count, uint64_t defer_max) {
  return count == (defer_max >> 1);
}

// net.core.skb_defer_max as the trace names it (docs/trace.md).
inline constexpr std::string_view kDeferMaxKey = "core.skb_defer_max";
// Validates a write as the kernel does (proc_dointvec_minmax, extra1 =
// SYSCTL_ZERO, no upper bound but INT_MAX): true and the new value, or false
// when the kernel refuses it. The table is registered for init_net only
// (sysctl_core_init), so a write in any other namespace is refused too.
bool write_defer_max(std::string_view ns, uint64_t value, uint32_t* defer_max);

// The operations as calls: dispatch() decodes an op of this subsystem (or a
// write of its sysctl, validated, a refused one reported) into them, so
// that both engines read the trace the same way.
class DeferOps {
 public:
  virtual ~DeferOps() = default;
  virtual void alloc(const std::string& skb, uint32_t cpu, std::vector<trace::Event>& out) = 0;
  virtual void free(const std::string& skb, uint32_t cpu, std::vector<trace::Event>& out) = 0;
  virtual void rx(uint32_t cpu, std::vector<trace::Event>& out) = 0;
  virtual void set_online(uint32_t cpu, bool online) = 0;
  virtual void set_defer_max(uint32_t defer_max) = 0;
  virtual void set_rx_cpu(uint32_t cpu) = 0;
};
void dispatch(const trace::Op& op, DeferOps& engine, std::vector<trace::Event>& out);

// What another subsystem's engine sees of a defer engine: the CPU packets
// arrive on now (`cpu steer`, where its skbs are allocated) and the free of
// one of its skbs by the receiver on a CPU (skb_attempt_defer_free, as
// `skb free` does). `hold`: the namespace the skb's conntrack reference
// keeps (netns::PernetHost::hold) while it waits on a defer list, put when
// it is really freed; an skb freed at once takes none.
class DeferHost {
 public:
  virtual ~DeferHost() = default;
  virtual uint32_t rx_cpu() const = 0;
  // `cpu`: the rx CPU as the caller read it once (a racing `cpu steer`
  // must not change it half-way through a datagram).
  virtual void free_skb(std::string name, uint32_t alloc_cpu, uint32_t cpu,
                        std::optional<netns::NetId> hold, std::vector<trace::Event>& out) = 0;
};

// Why an skb was freed where it was (event skb-free, field "reason").
inline constexpr std::string_view kFreeLocal = "local";           // on its allocating CPU
inline constexpr std::string_view kFreeOwnerOffline = "offline";  // its allocating CPU is down
inline constexpr std::string_view kFreeFull = "full";             // the owner's list is full
inline constexpr std::string_view kFreeDrain = "drain";           // by its owner's rx action

// Events. Each engine builds them through these helpers.
trace::Event alloc_event(std::string_view skb, uint64_t id, uint32_t cpu);
// `cpu`: where the free ran; `alloc_cpu`: where the skb was allocated.
trace::Event free_event(std::string_view skb, uint64_t id, uint32_t cpu, uint32_t alloc_cpu,
                        std::string_view reason);
// The skb went onto `cpu`'s defer list, which now holds `count`.
trace::Event defer_event(std::string_view skb, uint64_t id, uint32_t cpu, uint64_t count);
trace::Event kick_event(uint32_t cpu);
// `cpu rx` on an offline CPU: its softirq does not run.
trace::Event cpu_offline_event(uint32_t cpu);

// The state both engines report, built by each from its own structures: per
// CPU whether it is online, whether an IPI is scheduled, and its defer list
// (ids, newest first, as the kernel's singly linked list is); skbs allocated
// and not yet freed; the sysctl. Snapshot keys (namespace "init", where the
// sysctl lives): defer.max, skb.live, rx.cpu, cpuN.online, cpuN.defer.
struct DeferState {
  struct Cpu {
    bool online = true;
    bool ipi = false;
    std::vector<uint64_t> list;
  };
  std::array<Cpu, kNrCpus> cpus;
  uint64_t live = 0;
  uint32_t defer_max = kDefaultDeferMax;
  uint32_t rx_cpu = 0;

  void add_to(trace::Snapshot& out) const;
  uint64_t digest() const;  // of what add_to adds
  uint64_t fingerprint() const;
  std::string describe() const;  // identical text for equal states
};

// Adds skb alloc|free, cpu rx|down|up|steer, expect defer, the sysctl key
// and the gauges' names.
void register_ops(trace::Registry& registry);

}  // namespace nv::defer
