// The differential runner: applies a trace's operations to every engine,
// compares their observations, and evaluates the trace's expectations
// against each engine.
//
// A trace is a list of sections. An ordinary operation is a section of its
// own: every engine applies it, then runs the deferred work it queued (the
// model's settle(); the impl's worker threads, run to the end by its
// scheduler), and the engines must report the same events (deliveries with
// their digests, drops and kills with their reasons, refused sysctls,
// namespace lifecycle) and the same snapshot (counters and gauges per
// namespace). A run of "go OP" and "sched K" lines is a concurrent section:
// the impl starts each go'd op on a thread of its own (sched/), the sched
// lines make scheduling decisions, the rest is drained (RunOptions::strategy
// picks, or the first runnable thread); then the impl's history (each op
// and each run of deferred work, with its events and its invocation and
// response times) must be linearizable against the model (runner/
// linearize.h), and both must end in the same state. The first difference
// stops the run and is reported as a Divergence: the trace line, the
// operation, what each engine observed, where their states differ, the
// impl's history for a concurrent section, and a short description of each
// engine's state; an impl thread that fails (a refcount WARN, a broken
// invariant), deadlocks or livelocks is one too. Expectations ("expect
// ...") are checked against every engine; a failed one is reported and the
// run goes on. A Witness (RunOptions::witness: the running kernel) is
// compared with the engines in the same loop, after each section they
// agree on, and evaluates the expectations it can observe. There is no
// table of accepted divergences.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runner/subsystem.h"
#include "sched/strategy.h"
#include "trace/engine.h"
#include "trace/op.h"

namespace nv::runner {

enum class EngineKind : uint8_t { kModel, kImpl };
std::string_view engine_name(EngineKind kind);

// One engine per subsystem, applied in order, as a single engine. An impl
// reports its deferred work's runs to `deferred` (null: nowhere).
// The impl of a subsystem with several designs is built in the one
// `designs` names, else in the one its injected mutants belong to, else in
// its default.
std::unique_ptr<trace::Engine> make_engine(EngineKind kind,
                                           const std::vector<std::string>& mutants = {},
                                           trace::DeferredLog* deferred = nullptr,
                                           const Designs& designs = {});

// The design `make_engine` builds a subsystem's impl in (empty: it has one).
std::string design_of(const Subsystem& s, const std::vector<std::string>& mutants,
                      const Designs& designs);

// Which engine state the runner compares after each operation.
enum class StateCheck : uint8_t {
  // Every namespace's digest, after every op.
  kEveryNamespace,
  // The namespaces the op names and those its events name (a tick's
  // timeouts), and every namespace after the last op. A difference found so
  // is reported by re-running the trace with kEveryNamespace, so the report
  // is the one kEveryNamespace gives. What it misses: a difference in a
  // namespace that neither the op nor its events name and that heals before
  // that namespace is compared again. The default: the cost per op does not
  // grow with the namespace count (a trace with 10,000 namespaces replays in
  // linear time), and replay and the fuzz harness check alike, so whatever
  // fuzzing finds, replay finds.
  kNamedNamespaces,
};

class Witness;

struct RunOptions {
  std::vector<EngineKind> engines = {EngineKind::kModel, EngineKind::kImpl};
  StateCheck state_check = StateCheck::kNamedNamespaces;
  std::vector<std::string> mutants;  // injected into the impl; names must exist
  Designs designs;  // the impl's design per subsystem (runner/subsystem.h); names must exist
  // Called for every event of every engine, in order (the JSON stream). When
  // kNamedNamespaces finds a difference, the events streamed so far stand
  // (the re-run that locates it streams nothing), so they may go past the
  // op the divergence names.
  std::function<void(std::string_view engine, uint32_t line, const trace::Event&)> on_event;
  // Who decides, once a concurrent section's sched lines are used up (null:
  // the first runnable thread). Its decisions are kept in RunResult::schedule
  // so that with_schedule() turns the run into a trace that replays it.
  sched::Strategy* strategy = nullptr;
  // Compared with the engines as they run (null: none). Called again from
  // the start when kNamedNamespaces re-runs the trace.
  Witness* witness = nullptr;
  uint64_t max_steps = 100000;    // decisions per section before it is a livelock
  uint64_t max_states = 1000000;  // the linearizability search's budget
};

struct Divergence {
  size_t op_index = 0;
  uint32_t line = 0;
  std::string op;                                 // the operation as trace text
  std::vector<std::string> engines;               // engine names
  std::vector<std::vector<trace::Event>> events;  // each engine's events for the op
  std::vector<std::string> state_diffs;           // "init IpReasmFails: model=1 impl=0"
  std::vector<std::string> descriptions;          // each engine's describe()
  std::string history;         // a concurrent section's impl history, when not linearizable
  bool undecided = false;      // the linearizability search ran out of RunOptions::max_states
  std::string thread_failure;  // an impl thread failed, deadlocked or livelocked: how

  // One at op `op_index` (`op`: its line, and its text), nothing else yet.
  static Divergence at(size_t op_index, const trace::Op& op);
};

struct ExpectFailure {
  size_t op_index = 0;
  uint32_t line = 0;
  std::string op;
  std::string engine;
  std::string message;
};

// A run the chosen impl designs cannot make (Subsystem::lacks): at this
// op, why. Not a finding: the trace is for another design.
struct Refusal {
  size_t op_index = 0;
  uint32_t line = 0;
  std::string message;
  // {subsystem, design}: a design that has what the line asks for, when the
  // run did not fix the subsystem's design (no --design, no mutant of it).
  // run() then runs the trace again in it, and no refusal is left.
  std::optional<std::pair<std::string, std::string>> design;
};

// A subsystem that a line took to another design (Refusal::design).
struct Redesign {
  std::string subsystem, design;
  uint32_t line = 0;
};

struct RunResult {
  size_t ops_run = 0;
  size_t deliveries = 0;  // of the first engine
  // RunOptions::strategy's decisions: after the op of each index, the sched
  // lines that reproduce them.
  std::vector<std::pair<size_t, std::vector<uint32_t>>> schedule;
  std::optional<Divergence> divergence;
  std::vector<ExpectFailure> expect_failures;
  std::optional<Refusal> refusal;  // the run stopped before this op
  std::vector<Redesign> redesigned;

  bool ok() const { return !refusal && !divergence && expect_failures.empty(); }
  int exit_status() const { return refusal ? 2 : ok() ? 0 : 1; }
};

// What one engine observed in a section (one operation, or a concurrent
// section), as a Witness sees it.
struct Observed {
  std::string_view engine;
  const trace::Engine& state;
  const std::vector<trace::Event>& events;
};

// An engine the runner does not drive but compares with the engines it
// drives: one that ran the trace already and shows only part of what they
// do (the running kernel: runner/kernel_compare.h). The runner consults it
// after every section the engines agree on, at every expectation, and
// after the last operation, and reports what it finds as its own findings.
class Witness {
 public:
  virtual ~Witness() = default;
  virtual std::string_view name() const = 0;
  // Operations [begin, end) are done; `observed` is what each engine saw.
  virtual std::optional<Divergence> compare(size_t begin, size_t end, const trace::Op& last,
                                            std::span<const Observed> observed) = 0;
  // The expectation at op_index against what the witness observed before
  // it: a failure's message, or std::nullopt (it holds, or the witness
  // cannot observe it).
  virtual std::optional<std::string> expect(size_t op_index, const trace::Op& op) = 0;
  // After the last operation (op_index, `last`): each engine's final state.
  virtual std::optional<Divergence> finish(size_t op_index, const trace::Op& last,
                                           std::span<const Observed> observed) = 0;
};

RunResult run(const trace::Trace& trace, const RunOptions& options);
// The same, taking the ops as it goes (a trace parsed as it runs: `netverify
// replay`), keeping only those of the section at hand; rewinds `ops` to
// re-run the trace when a difference must be located, or in the design a
// line asks for (Refusal::design).
RunResult run(trace::OpSource& ops, const RunOptions& options);

// The trace with the strategy's decisions of `result` written in as sched
// lines: replayed without a strategy, it runs exactly as `result` did.
trace::Trace with_schedule(const trace::Trace& trace, const RunResult& result);

// Multi-line human report of what went wrong ("" when ok).
std::string format_failure(const RunResult& result);

// A short signature of a failure: which check failed on which operation
// kind, and how, without namespace names or values that padding changes
// ("divergence:frag:deliver/kill.overlap" what the first engine observed
// against what another did; "divergence:frag:deliver[len]" same kind,
// different field; "divergence:frag:state:mem.v4" the first differing
// counter when the events agree; "expect:expect counter"); "" when ok.
std::string failure_signature(const trace::Trace& trace, const RunResult& result);

}  // namespace nv::runner
