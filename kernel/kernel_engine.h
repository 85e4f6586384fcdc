// The kernel engine: a whole trace run against the running Linux kernel's
// fragment reassembly, the oracle the reference model is checked against.
//
// run() forks a child that never returns to the caller. The child moves into
// a fresh network namespace for the trace's "init" (unshare(CLONE_NEWNET):
// the host's namespace is never touched) and one more per `netns add`, and
// runs the trace's operations in order (kernel/netns.h says how):
//   frag       the exact wire bytes (kernel/wire.h) sent on that namespace's
//              lo; reassembled or whole datagrams read from raw sockets bound
//              to each protocol the trace uses there become deliver events;
//   sysctl     written to /proc/sys/net/... in the namespace; a write the
//              kernel refuses (EINVAL) is a sysctl-refused event;
//   tick       sleeps for real (so the kernel's timers run);
//   netns add  a new namespace; netns del: its counters event, then closed.
// Expectations are skipped: the kernel engine only observes. After each
// operation the child reads every live namespace's counters (deltas since
// its creation) and writes the step to a pipe; the parent collects them.
// The child's exit closes every namespace and socket, also on error, and it
// dies with its parent (PR_SET_PDEATHSIG).
//
// What the kernel cannot tell: a v6 raw socket receives the payload without
// the IPv6 and Fragment headers, so a kernel v6 deliver event has no "id";
// drops and kills are not observable, only their counters.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "trace/event.h"
#include "trace/op.h"

namespace nv::kernel {

inline constexpr std::string_view kEngineName = "kernel";

struct KernelOptions {
  // Refuse traces whose ticks add up to more than this (they sleep for real).
  uint64_t max_sleep_ms = 10'000;
  // Non-empty: record what init's lo carries to this pcap file.
  std::string capture_path;
};

// What the kernel showed after one operation (expectations have no step).
struct KernelStep {
  size_t op_index = 0;
  uint32_t line = 0;
  // deliver, sysctl-refused, and for `netns del` the namespace's counters.
  std::vector<trace::Event> events;
  // Every live namespace's counters after the operation, since its creation.
  trace::Snapshot counters;
  friend bool operator==(const KernelStep&, const KernelStep&) = default;
};

struct KernelResult {
  enum class Status : uint8_t {
    kOk,
    kRefused,      // the trace cannot run here (message says why); nothing ran
    kUnavailable,  // no privilege to create a network namespace
    kFailed,       // a system call failed while running
  };
  Status status = Status::kOk;
  std::string message;
  std::vector<KernelStep> steps;
  // A counters event per namespace live at the end of the trace.
  std::vector<trace::Event> end_events;

  // 0, 2, 77, 1: the exit statuses of docs/trace.md.
  int exit_status() const;
};

// Why the kernel engine cannot run this trace (total ticks above the bound,
// a protocol no raw socket can be bound to), or std::nullopt.
std::optional<std::string> refusal(const trace::Trace& trace, const KernelOptions& options);

KernelResult run(const trace::Trace& trace, const KernelOptions& options);

// The "counters" event of one namespace, fields in kFragCounters order.
trace::Event counters_event(const std::string& ns, const trace::Snapshot& snap);

}  // namespace nv::kernel
