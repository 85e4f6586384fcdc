// The three-way comparison: model and impl against the running kernel
// (kernel/kernel_engine.h), in the differential runner's own loop: the
// kernel's finished run is a Witness (runner/runner.h), so divergences,
// expectations and reports are the runner's.
//
// The kernel shows less than the other engines, so it is compared on what it
// shows, after every section:
//   * the events each subsystem says the kernel shows (Subsystem::
//     kernel_visible: deliver events with every field but truesize, the id
//     included, icmp and sysctl-refused events), as a multiset;
//   * the counters the subsystems say the kernel shows (Subsystem::
//     kernel_counters) of the namespaces the kernel reported after the
//     section (those its ops name; every one after a tick), and of every
//     namespace after the last operation (the kernel's are deltas since the
//     namespace was created; the engines' start at zero).
// Drops, kills and the memory gauges are not compared: the kernel does not
// report them one by one. The first section where the model or the impl
// differs from the kernel is the Divergence.
//
// Expectations are evaluated on the kernel's observations too when it can
// observe them: `expect counter` of a counter it shows, and the
// expectations a subsystem lists in Subsystem::kernel_expects (`expect
// deliver`, `expect nodeliver`, `expect icmp`, `expect noicmp`); the others
// (`expect mem`, `expect defer`, other counters) are listed by
// KernelWitness::unobservable().
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kernel/kernel_engine.h"
#include "runner/runner.h"
#include "trace/op.h"

namespace nv::runner {

// A finished kernel run (status kOk) of a trace, as the runner's witness.
class KernelWitness final : public Witness {
 public:
  explicit KernelWitness(const kernel::KernelResult& kernel);

  std::string_view name() const override { return kernel::kEngineName; }
  std::optional<Divergence> compare(size_t begin, size_t end, const trace::Op& last,
                                    std::span<const Observed> observed) override;
  std::optional<std::string> expect(size_t op_index, const trace::Op& op) override;
  std::optional<Divergence> finish(size_t op_index, const trace::Op& last,
                                   std::span<const Observed> observed) override;

  // The expectations the kernel cannot observe, as "line N: OP", in line
  // order, each once.
  std::vector<std::string> unobservable() const;

 private:
  // The kernel's observations before op_index: its events (history_) and
  // every namespace's latest counters (counters_).
  void observe_until(size_t op_index);

  const kernel::KernelResult& kernel_;
  size_t seen_ = 0;  // steps in history_ and counters_
  std::vector<trace::Event> history_;
  trace::Snapshot counters_;
  std::map<size_t, std::string> unobservable_;  // by op index
};

// Model and impl (with `options`' mutants) run by the runner, with the
// kernel's run of the same trace as its witness.
RunResult compare_with_kernel(const trace::Trace& trace, const kernel::KernelResult& kernel,
                              RunOptions options = {},
                              std::vector<std::string>* unobservable = nullptr);

// An event as the kernel can show it (the fragment subsystem's
// kernel_visible): deliver events pass with every field but truesize, icmp
// and sysctl-refused events with every field; every other kind is
// std::nullopt.
std::optional<trace::Event> kernel_visible(const trace::Event& event);

}  // namespace nv::runner
