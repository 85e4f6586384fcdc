// The kernel engine: a whole trace run against the running Linux kernel's
// fragment reassembly, the oracle the reference model is checked against.
//
// run() forks a child that never returns to the caller. The child moves into
// a fresh network namespace for the trace's "init" (unshare(CLONE_NEWNET):
// the host's namespace is never touched) and one more per `netns add`, and
// runs the trace's operations in order (kernel/netns.h says how):
//   frag       the exact wire bytes (kernel/wire.h) sent on that namespace's
//              lo; reassembled or whole datagrams read from raw sockets bound
//              to each protocol the trace uses there become deliver events,
//              and the ICMP errors reassembly sends, caught on raw ICMP
//              sockets, icmp events (also after a tick: expiry sends them);
//   sysctl     written to /proc/sys/net/... in the namespace; a write the
//              kernel refuses (EINVAL) is a sysctl-refused event;
//   tick       sleeps for real (so the kernel's timers run);
//   netns add  a new namespace; netns del: its counters event, then closed.
// Expectations are skipped: the kernel engine only observes (the comparison,
// runner/kernel_compare.h, evaluates them on what it observed). After each
// operation the child reads the counters of the namespaces the operation
// names (after a tick: of every live one; deltas since the namespace's
// creation) and writes the step to a pipe; the parent collects them as they
// come. The cost of an operation so does not grow with the number of live
// namespaces, except a tick's.
//
// Ending: the child closes every namespace and socket before it reports its
// end, also on error, many at once (closing a packet socket waits for an RCU
// grace period: one at a time, 1,000 namespaces took 24 s), and it dies with
// its parent (PR_SET_PDEATHSIG). SIGINT or SIGTERM during run() stops the
// child the same way (run() forwards SIGTERM to it and waits): the result is
// kInterrupted, and no namespace of the run is left.
//
// A v6 raw socket receives the payload without the IPv6 and Fragment headers,
// so the id of a v6 delivery is the id of the fragment whose sending made the
// kernel deliver it (the line that completed the datagram). Drops and kills
// are not observable, only their counters.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "trace/event.h"
#include "trace/op.h"

namespace nv::kernel {

inline constexpr std::string_view kEngineName = "kernel";

struct KernelStep;

struct KernelOptions {
  // Refuse traces whose ticks add up to more than this (they sleep for real).
  uint64_t max_sleep_ms = 10'000;
  // Non-empty: record what init's lo carries to this pcap file.
  std::string capture_path;
  // Called in the parent for each step as the child reports it (progress).
  std::function<void(const KernelStep&)> on_step;
};

// What the kernel showed after one operation (expectations have no step).
struct KernelStep {
  size_t op_index = 0;
  uint32_t line = 0;
  // deliver, sysctl-refused, and for `netns del` the namespace's counters.
  std::vector<trace::Event> events;
  // The counters after the operation, since each namespace's creation, of
  // the namespaces the operation names (of every live one after a tick).
  trace::Snapshot counters;
  friend bool operator==(const KernelStep&, const KernelStep&) = default;
};

struct KernelResult {
  enum class Status : uint8_t {
    kOk,
    kRefused,      // the trace cannot run here (message says why); nothing ran
    kUnavailable,  // no privilege to create a network namespace
    kFailed,       // a system call failed while running
    kInterrupted,  // SIGINT or SIGTERM stopped it (`signal` says which)
  };
  Status status = Status::kOk;
  std::string message;
  int signal = 0;  // kInterrupted: the signal
  std::vector<KernelStep> steps;
  // A counters event per namespace live at the end of the trace.
  std::vector<trace::Event> end_events;

  // 0, 2, 77, 1, 128 + signal: the exit statuses of docs/trace.md.
  int exit_status() const;
};

// Why the kernel engine cannot run a trace: at `line` (0: the whole trace),
// in the field `field` ("" : the line as a whole).
struct Refusal {
  uint32_t line = 0;
  std::string field;
  std::string message;
  std::string text() const;  // "line 3: message"
};

// Why the kernel engine cannot run this trace, or std::nullopt: ticks that
// add up to more than the bound; a protocol no raw socket receives; an
// address the kernel never delivers to or from (undeliverable()); the
// eviction policy of kernels before 4.17 ("policy frag evict"); a
// reassembly timeout of 0 (the kernel expires the queue at its next jiffy,
// between operations the model runs at one instant; kernel-fuzz's
// mutations found it).
std::optional<Refusal> refusal(const trace::Trace& trace, const KernelOptions& options);

// Why the kernel never delivers a datagram with this source (`src`) or
// destination address received on lo, or std::nullopt. Measured on Linux
// 6.18: v4 destinations in 0.0.0.0/8, in 240.0.0.0/4 but the limited
// broadcast, and multicast but 224.0.0.1 (the only group lo is in); v4
// sources 0.0.0.0, multicast and 255.255.255.255; v6 destinations :: and
// multicast; v6 multicast sources.
std::optional<std::string> undeliverable(const trace::Addr& addr, bool src);

KernelResult run(const trace::Trace& trace, const KernelOptions& options);

// The "counters" event of one namespace, fields in kFragCounters order.
trace::Event counters_event(const std::string& ns, const trace::Snapshot& snap);

}  // namespace nv::kernel
