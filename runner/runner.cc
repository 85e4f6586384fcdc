#include "runner/runner.h"

#include <algorithm>
#include <array>
#include <deque>
#include <set>
#include <stdexcept>

#include "runner/linearize.h"
#include "runner/subsystem.h"
#include "sched/scheduler.h"
#include "trace/digest.h"
#include "trace/printer.h"

namespace nv::runner {
namespace {

// The engine built so far for a subsystem (engines are made in the order of
// subsystems(), one each), or nullptr.
trace::Engine* built(const std::vector<std::unique_ptr<trace::Engine>>& engines,
                     std::string_view subsystem) {
  for (size_t i = 0; i < engines.size(); ++i)
    if (subsystems()[i].name == subsystem) return engines[i].get();
  return nullptr;
}

// The engines of every subsystem, as one.
class EngineSet final : public trace::Engine {
 public:
  explicit EngineSet(std::vector<std::unique_ptr<trace::Engine>> engines)
      : engines_(std::move(engines)) {}
  void apply(const trace::Op& op, std::vector<trace::Event>& out) override {
    for (auto& e : engines_) e->apply(op, out);
  }
  void settle(std::vector<trace::Event>& out) override {
    for (auto& e : engines_) e->settle(out);
  }
  void snapshot(trace::Snapshot& out) const override {
    for (const auto& e : engines_) e->snapshot(out);
  }
  void snapshot(std::string_view ns, trace::Snapshot& out) const override {
    for (const auto& e : engines_) e->snapshot(ns, out);
  }
  uint64_t digest() const override {
    uint64_t sum = 0;
    for (const auto& e : engines_) sum += e->digest();
    return sum;
  }
  uint64_t digest(std::string_view ns) const override {
    uint64_t sum = 0;
    for (const auto& e : engines_) sum += e->digest(ns);
    return sum;
  }
  std::string describe() const override {
    std::string out;
    for (const auto& e : engines_) out += e->describe();
    return out;
  }
  uint64_t fingerprint() const override {
    trace::Fingerprint f;
    for (const auto& e : engines_) f.add(e->fingerprint());
    return f.value();
  }
  std::unique_ptr<trace::Engine> clone(
      const std::function<trace::Engine*(std::string_view)>&) const override {
    std::vector<std::unique_ptr<trace::Engine>> copies;
    auto deps = [&](std::string_view name) { return built(copies, name); };
    for (const auto& e : engines_) {
      copies.push_back(e->clone(deps));
      if (!copies.back()) return nullptr;
    }
    return std::make_unique<EngineSet>(std::move(copies));
  }

 private:
  std::vector<std::unique_ptr<trace::Engine>> engines_;
};

struct EngineRun {
  std::string name;
  std::unique_ptr<trace::Engine> engine;
  std::vector<trace::Event> history;
  std::vector<trace::Event> section;  // the section's events, kept for a witness
  trace::Snapshot snap;               // valid when !stale
  bool stale = true;

  const trace::Snapshot& fresh() {
    if (stale) {
      snap.ns.clear();
      engine->snapshot(snap);
      stale = false;
    }
    return snap;
  }
};

// The "counters" event of the JSON stream for one namespace.
trace::Event counters_event(const std::string& ns, const trace::Snapshot& snap) {
  trace::Event e{"counters", {}};
  e.add("ns", ns);
  for (const std::string& name : registry().vocab(trace::kVocabCounter))
    e.add(name, snap.get(ns, name));
  return e;
}

std::vector<std::string> diff_snapshots(const std::vector<EngineRun>& runs) {
  std::vector<std::string> diffs;
  std::set<std::pair<std::string, std::string>> keys;
  for (const EngineRun& r : runs)
    for (const auto& [ns, values] : r.snap.ns)
      for (const auto& [key, value] : values) keys.emplace(ns, key);
  for (const auto& [ns, key] : keys) {
    bool same = true;
    for (const EngineRun& r : runs) same &= r.snap.get(ns, key) == runs[0].snap.get(ns, key);
    if (same) continue;
    std::string line = ns + " " + key + ":";
    for (const EngineRun& r : runs)
      line += " " + r.name + "=" + std::to_string(r.snap.get(ns, key));
    diffs.push_back(line);
  }
  for (const auto& r : runs) {
    if (r.snap.ns.size() != runs[0].snap.ns.size())
      diffs.push_back("namespaces: " + runs[0].name + " has " +
                      std::to_string(runs[0].snap.ns.size()) + ", " + r.name + " has " +
                      std::to_string(r.snap.ns.size()));
  }
  return diffs;
}

}  // namespace

Divergence Divergence::at(size_t op_index, const trace::Op& op) {
  Divergence d;
  d.op_index = op_index;
  d.line = op.line;
  d.op = trace::print(op);
  return d;
}

std::string_view engine_name(EngineKind kind) {
  return kind == EngineKind::kModel ? "model" : "impl";
}

std::string design_of(const Subsystem& s, const std::vector<std::string>& mutants,
                      const Designs& designs) {
  if (auto chosen = designs.find(s.name); chosen != designs.end()) return chosen->second;
  for (const std::string& m : mutants)
    for (const MutantInfo& info : s.mutants)
      if (info.name == m && !info.design.empty()) return info.design;
  return s.designs.empty() ? "" : s.designs[0];
}

std::unique_ptr<trace::Engine> make_engine(EngineKind kind, const std::vector<std::string>& mutants,
                                           trace::DeferredLog* deferred, const Designs& designs) {
  std::vector<std::unique_ptr<trace::Engine>> engines;
  EngineContext ctx;
  ctx.engine = [&](std::string_view name) { return built(engines, name); };
  for (const Subsystem& s : subsystems()) {
    if (kind == EngineKind::kModel) {
      engines.push_back(s.make_model(ctx));
      continue;
    }
    ctx.deferred = deferred;
    std::vector<std::string> own;
    for (const std::string& m : mutants)
      if (subsystem_of_mutant(m) == &s) own.push_back(m);
    ctx.design = design_of(s, mutants, designs);
    engines.push_back(s.make_impl(ctx, own));
  }
  return std::make_unique<EngineSet>(std::move(engines));
}

// Whether every engine reports the same digest of every namespace.
bool same_state(const std::vector<EngineRun>& runs) {
  for (const EngineRun& r : runs)
    if (r.engine->digest() != runs[0].engine->digest()) return false;
  return true;
}

// Whether every engine reports the same digest of each namespace `op` names
// and each namespace an event of `events` names ("ns="), each compared once.
bool same_named_state(const std::vector<EngineRun>& runs, const trace::Op& op,
                      const std::vector<trace::Event>& events) {
  std::array<std::string_view, 8> checked;  // past eight, names may be compared twice
  size_t n = 0;
  auto same = [&](std::string_view ns) {
    if (std::find(checked.begin(), checked.begin() + n, ns) != checked.begin() + n) return true;
    if (n < checked.size()) checked[n++] = ns;
    for (const EngineRun& r : runs)
      if (r.engine->digest(ns) != runs[0].engine->digest(ns)) return false;
    return true;
  };
  for (size_t f = 0; f < op.spec->fields.size(); ++f)
    if (op.spec->fields[f].kind == trace::Kind::kName && op.has(f) && !same(op.name(f)))
      return false;
  for (const trace::Event& e : events) {
    const trace::EventValue* ns = e.get("ns");
    if (const auto* name = ns ? std::get_if<std::string>(ns) : nullptr; name && !same(*name))
      return false;
  }
  return true;
}

namespace {

// One entry of a concurrent section's history: a trace operation started
// with "go", a run of an engine's deferred work (the model's settle()), or
// the end of the section, after every other entry: the system is quiescent
// and in the impl's state (the model has no deferred work left, and its
// digest is the impl's).
struct Entry {
  const trace::Op* op = nullptr;  // nullptr: deferred work or the end
  bool end = false;
  // The end: the impl's state digest and describe() (identical text for
  // engines that agree: queue deadlines and runs, the pernet list), which
  // tell apart orders the events alone do not.
  uint64_t digest = 0;
  std::string description;
  uint32_t thread = 0;
  uint64_t invoke = 0, response = 0;
  std::vector<trace::Event> events;
};

// The impl's deferred work, recorded as history entries while a section
// runs (the JSON stream and the comparison read them afterwards).
class DeferredRecorder final : public trace::DeferredLog {
 public:
  explicit DeferredRecorder(sched::Scheduler& s, uint64_t& clock) : sched_(s), clock_(clock) {}
  std::vector<trace::Event>& begin() override {
    entries.push_back({nullptr, false, 0, {}, sched_.current(), ++clock_, 0, {}});
    open_.push_back(entries.size() - 1);
    return entries.back().events;
  }
  void end() override {
    entries[open_.back()].response = ++clock_;
    open_.pop_back();
  }
  std::vector<Entry> entries;

 private:
  sched::Scheduler& sched_;
  uint64_t& clock_;
  std::vector<size_t> open_;
};

// The model as the linearizability check tries it: a copy of the model
// engine that applies history entries and compares each one's events with
// the impl's.
class LinModel {
 public:
  LinModel(const trace::Engine& engine, const std::vector<Entry>& entries)
      : engine_(engine.clone({})), entries_(&entries) {}
  LinModel(const LinModel& o) : engine_(o.engine_->clone({})), entries_(o.entries_) {}
  LinModel& operator=(const LinModel& o) {
    engine_ = o.engine_->clone({});
    entries_ = o.entries_;
    return *this;
  }
  bool step(size_t i) {
    const Entry& e = (*entries_)[i];
    std::vector<trace::Event> events;
    apply(e, *engine_, events);
    return events == e.events &&
           (!e.end || (engine_->digest() == e.digest && engine_->describe() == e.description));
  }
  uint64_t hash() const { return engine_->fingerprint(); }
  friend bool operator==(const LinModel& a, const LinModel& b) { return a.hash() == b.hash(); }

  static void apply(const Entry& e, trace::Engine& engine, std::vector<trace::Event>& out) {
    if (e.op)
      engine.apply(*e.op, out);
    else
      engine.settle(out);
  }

 private:
  std::unique_ptr<trace::Engine> engine_;
  const std::vector<Entry>* entries_;
};

// Decisions of the "sched" lines and of the drain that ends a section.
class Drain final : public sched::Strategy {
 public:
  explicit Drain(sched::Strategy* inner) : inner_(inner) {}
  size_t pick(std::span<const sched::ThreadId> runnable, sched::ThreadId current,
              uint64_t step) override {
    return inner_ ? inner_->pick(runnable, current, step) : 0;
  }

 private:
  sched::Strategy* inner_;
};

// The differential run of one trace: engines, the impl's scheduler, and the
// result so far. A trace is a list of sections: one ordinary operation
// (applied, then its deferred work run to the end), or a run of "go" and
// "sched" lines (started on threads, interleaved, drained, then checked
// for linearizability against the model).
class Run {
 public:
  Run(trace::OpSource& ops, const RunOptions& options)
      : ops_(ops),
        options_(options),
        every_namespace_(options.state_check == StateCheck::kEveryNamespace),
        keep_history_(ops.has_expectations()) {
    for (EngineKind kind : options.engines) {
      const bool impl = kind == EngineKind::kImpl;
      runs_.push_back(
          {std::string(engine_name(kind)),
           make_engine(kind, options.mutants, impl ? &recorder_ : nullptr, options.designs),
           {},
           {}});
      if (impl) impl_ = runs_.size() - 1;
    }
    for (const Subsystem& s : subsystems())
      if (s.lacks && impl_ != SIZE_MAX)
        lacks_.push_back({&s, design_of(s, options.mutants, options.designs), pinned(s, options)});
  }
  ~Run() {
    // The scheduler's threads may still reference the engines and the
    // section's entries: end them first.
    sched_.reset();
  }

  // Runs the trace; returns false at the first divergence (or when the
  // named-namespace check must be redone the replay way).
  bool play() {
    for (size_t i = 0; have(i);) {
      release(i);
      const trace::Op& op = op_at(i);
      result.ops_run = i + 1;
      if (op.spec->expect) {
        expect(i++);
        continue;
      }
      // A section: one ordinary op, or a run of go and sched lines.
      const bool threads = op.async || op.spec->runner_only;
      size_t end = i + 1;
      while (threads && have(end) && (op_at(end).async || op_at(end).spec->runner_only)) ++end;
      if (refused(i, end)) return false;
      result.ops_run = end;
      if (!(threads ? concurrent(i, end) : sequential(i))) return false;
      if (!witness(i, end)) return false;
      i = end;
    }
    if (!every_namespace_ && !same_state(runs_)) return rerun();
    if (!witness_finish()) return false;
    if (options_.on_event) {
      for (EngineRun& r : runs_)
        for (const auto& [ns, values] : r.fresh().ns) emit(r, 0, counters_event(ns, r.snap));
    }
    return true;
  }

  RunResult result;
  bool rerun_needed = false;

 private:
  // Whether an op of [begin, end) is one the impl's designs lack: the run
  // is then refused before the section.
  bool refused(size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i)
      for (const Lack& l : lacks_)
        if (auto why = l.s->lacks(l.design, op_at(i))) {
          result.refusal = Refusal{i, op_at(i).line, *why, {}};
          if (!l.pinned)
            for (const std::string& d : l.s->designs)
              if (!l.s->lacks(d, op_at(i))) {
                result.refusal->design = {l.s->name, d};
                break;
              }
          return true;
        }
    return false;
  }
  // Whether the run must keep s's design: chosen, or one of s's mutants
  // injected (a mutant lives in its design's code).
  static bool pinned(const Subsystem& s, const RunOptions& options) {
    if (options.designs.count(s.name)) return true;
    for (const MutantInfo& info : s.mutants)
      if (std::find(options.mutants.begin(), options.mutants.end(), info.name) !=
          options.mutants.end())
        return true;
    return false;
  }
  void emit(const EngineRun& r, uint32_t line, const trace::Event& e) {
    if (options_.on_event) options_.on_event(r.name, line, e);
  }
  void record(EngineRun& r, uint32_t line, const std::vector<trace::Event>& events) {
    for (const trace::Event& e : events) emit(r, line, e);
    if (&r == &runs_.front())
      for (const trace::Event& e : events) result.deliveries += e.kind == "deliver";
    if (keep_history_) r.history.insert(r.history.end(), events.begin(), events.end());
    if (options_.witness) r.section.insert(r.section.end(), events.begin(), events.end());
    r.stale = true;
  }

  // The witness against the engines after ops [begin, end); the next
  // section's events start afresh.
  bool witness(size_t begin, size_t end) {
    if (!options_.witness) return true;
    std::vector<Observed> observed;
    for (const EngineRun& r : runs_) observed.push_back({r.name, *r.engine, r.section});
    result.divergence = options_.witness->compare(begin, end, op_at(end - 1), observed);
    for (EngineRun& r : runs_) r.section.clear();
    return !result.divergence;
  }
  bool witness_finish() {
    if (!options_.witness || window_.empty()) return true;
    std::vector<Observed> observed;
    const std::vector<trace::Event> none;
    for (const EngineRun& r : runs_) observed.push_back({r.name, *r.engine, none});
    const size_t last = base_ + window_.size() - 1;
    result.divergence = options_.witness->finish(last, op_at(last), observed);
    return !result.divergence;
  }
  bool rerun() {
    rerun_needed = true;
    return false;
  }

  void expect(size_t i) {
    const trace::Op& op = op_at(i);
    for (EngineRun& r : runs_) {
      if (auto msg = op.spec->expect(op, r.history, named_snapshot(r, op)))
        result.expect_failures.push_back({i, op.line, trace::print(op), r.name, *msg});
    }
    if (!options_.witness) return;
    if (auto msg = options_.witness->expect(i, op))
      result.expect_failures.push_back(
          {i, op.line, trace::print(op), std::string(options_.witness->name()), *msg});
  }

  // The snapshot of the namespaces an op names: all an expectation reads.
  static trace::Snapshot named_snapshot(const EngineRun& r, const trace::Op& op) {
    trace::Snapshot out;
    for (size_t f = 0; f < op.spec->fields.size(); ++f)
      if (const trace::FieldSpec& field = op.spec->fields[f];
          field.kind == trace::Kind::kName && field.scope == trace::kScopeNetns && op.has(f))
        r.engine->snapshot(op.name(f), out);
    return out;
  }

  // The JSON stream and expectations see a namespace's final counters when
  // an operation ends its name (netns del).
  void final_counters(const trace::Op& op) {
    if (!options_.on_event && !keep_history_) return;
    for (size_t f = 0; f < op.spec->fields.size(); ++f) {
      const trace::FieldSpec& field = op.spec->fields[f];
      if (field.kind != trace::Kind::kName || field.scope != trace::kScopeNetns ||
          field.ns_use != trace::NsUse::kDestroy)
        continue;
      for (EngineRun& r : runs_) {
        trace::Snapshot snap;
        r.engine->snapshot(op.name(f), snap);
        record(r, op.line, {counters_event(op.name(f), snap)});
      }
    }
  }

  // Runs the impl's threads until none can run (the sched lines' decisions
  // already made); a thread that failed, a deadlock or a livelock is a
  // finding of its own.
  bool drain(size_t op_index, sched::Strategy* strategy) {
    if (impl_ == SIZE_MAX) return true;
    Drain d(strategy);
    const uint64_t before = sched_->steps();
    const sched::RunStatus status = sched_->run(d, options_.max_steps);
    if (strategy) {
      const auto& all = sched_->decisions();
      result.schedule.push_back({op_index, {all.begin() + long(before), all.end()}});
    }
    if (status == sched::RunStatus::kOk) return true;
    Divergence d2 = Divergence::at(op_index, op_at(op_index));
    // "failure: refcount_t: addition on 0; ...": what went wrong first (the
    // signature keeps it), then who and where.
    const auto& failure = sched_->failure();
    d2.thread_failure =
        std::string(sched::status_name(status)) +
        (failure ? ": " + failure->message + "\n  in thread '" + failure->thread_name + "'" : "") +
        "\n" + sched_->describe();
    result.divergence = std::move(d2);
    return false;
  }

  // The impl failed while applying op i in the scheduler's context: as a
  // failed thread is reported, its message first.
  bool failed_in_context(size_t op_index, std::string_view what) {
    constexpr std::string_view kPrefix = "nv::sched: ";
    if (what.starts_with(kPrefix)) what.remove_prefix(kPrefix.size());
    Divergence d = Divergence::at(op_index, op_at(op_index));
    d.thread_failure = std::string(sched::status_name(sched::RunStatus::kFailure)) + ": " +
                       std::string(what) + "\n  in the scheduler's context (the op itself)\n" +
                       sched_->describe();
    result.divergence = std::move(d);
    return false;
  }

  // A tick moves the impl's virtual clock (its scheduler's: delayed work and
  // timers): each timer that falls due fires and what it starts runs to the
  // end before the clock moves on, as it would have in real time.
  bool advance(size_t op_index, uint64_t ms) {
    const uint64_t target = sched_->now_ms() + ms;
    while (auto at = sched_->next_deadline()) {
      if (*at > target) break;
      sched_->advance(*at - sched_->now_ms());
      if (!drain(op_index, nullptr)) return false;
    }
    sched_->advance(target - sched_->now_ms());
    return true;
  }

  // One ordinary operation on every engine, then its deferred work.
  bool sequential(size_t i) {
    const trace::Op& op = op_at(i);
    final_counters(op);
    std::vector<std::vector<trace::Event>> per_engine(runs_.size());
    for (size_t k = 0; k < runs_.size(); ++k) {
      EngineRun& r = runs_[k];
      std::vector<trace::Event>& events = per_engine[k];
      if (k == impl_) {
        recorder_.entries.clear();
        // The impl applies an ordinary op in its scheduler's own context,
        // where a WARN (sched::fail) is a std::logic_error: a finding too.
        try {
          r.engine->apply(op, events);
        } catch (const std::logic_error& e) {
          return failed_in_context(i, e.what());
        }
      } else {
        r.engine->apply(op, events);
      }
      if (k == impl_) {
        if (!drain(i, nullptr)) return false;
        if (op.spec->id == trace::op_id("tick") && !advance(i, op.u(trace::core::kTickDuration)))
          return false;
        for (Entry& e : recorder_.entries)
          events.insert(events.end(), e.events.begin(), e.events.end());
      }
      r.engine->settle(events);
      record(r, op.line, events);
    }
    bool same_events = true;
    for (const auto& ev : per_engine) same_events &= ev == per_engine[0];
    // Digests after every op; full snapshots only to explain a difference.
    const bool same =
        every_namespace_ ? same_state(runs_) : same_named_state(runs_, op, per_engine[0]);
    if (same_events && same) return true;
    if (!every_namespace_) return rerun();
    diverge(i, std::move(per_engine), !same);
    return false;
  }

  void diverge(size_t i, std::vector<std::vector<trace::Event>> events, bool state_differs) {
    const trace::Op& op = op_at(i);
    for (EngineRun& r : runs_) r.fresh();
    std::vector<std::string> diffs = diff_snapshots(runs_);
    if (diffs.empty() && state_differs) diffs.push_back("state digests differ");
    Divergence d = Divergence::at(i, op);
    for (const EngineRun& r : runs_) {
      d.engines.push_back(r.name);
      d.descriptions.push_back(r.engine->describe());
    }
    d.events = std::move(events);
    d.state_diffs = std::move(diffs);
    result.divergence = std::move(d);
  }

  // "go" and "sched" lines [begin, end): the impl's threads interleave as
  // the sched lines and then the drain decide; the model must reproduce the
  // impl's history in some order that respects real time (linearizability).
  bool concurrent(size_t begin, size_t end) {
    // A member: when the drain fails, the section's threads live on until
    // ~Run ends the scheduler, and they still write their entries.
    std::vector<Entry>& entries = section_;
    entries.clear();
    entries.reserve(end - begin);
    recorder_.entries.clear();
    if (impl_ != SIZE_MAX) {
      trace::Engine& impl = *runs_[impl_].engine;
      for (size_t i = begin; i < end; ++i) {
        const trace::Op& op = op_at(i);
        if (op.spec->runner_only) {
          sched_->step_k(uint32_t(op.u(trace::core::kSchedK)));
          continue;
        }
        entries.push_back({&op, false, 0, {}, 0, ++clock_, 0, {}});
        Entry* e = &entries.back();
        // "go tick": the impl's clock moves as the line starts; what falls
        // due races with the section's other threads.
        if (op.spec->id == trace::op_id("tick")) sched_->advance(op.u(trace::core::kTickDuration));
        e->thread = sched_->spawn("line " + std::to_string(op.line), [this, &impl, e] {
          impl.apply(*e->op, e->events);
          e->response = ++clock_;
        });
      }
      if (!drain(end - 1, options_.strategy)) return false;
    }
    for (Entry& e : recorder_.entries) entries.push_back(std::move(e));
    recorder_.entries.clear();
    if (impl_ != SIZE_MAX) {
      const uint64_t at = ++clock_;
      const trace::Engine& impl = *runs_[impl_].engine;
      entries.push_back(
          {nullptr, true, impl.digest(), impl.describe(), sched::kNoThread, at, ++clock_, {}});
    }
    if (impl_ == SIZE_MAX) {  // no impl to interleave: the model alone, in line order
      for (size_t i = begin; i < end; ++i) {
        const trace::Op& op = op_at(i);
        if (op.spec->runner_only) continue;
        for (EngineRun& r : runs_) {
          std::vector<trace::Event> events;
          r.engine->apply(op, events);
          record(r, op.line, events);
        }
      }
    }

    // Each engine but the impl: its run of the history in a witness order.
    std::vector<HistoryOp> history;
    for (const Entry& e : entries) history.push_back({e.thread, e.invoke, e.response});
    for (size_t k = 0; k < runs_.size(); ++k) {
      if (k == impl_) continue;
      EngineRun& r = runs_[k];
      LinearizeResult lin =
          linearize(history, LinModel(*r.engine, entries), {.max_states = options_.max_states});
      if (!lin.linearizable) return not_linearizable(begin, end, entries, history, r, lin);
      for (size_t i : lin.order) {
        std::vector<trace::Event> events;
        LinModel::apply(entries[i], *r.engine, events);
        record(r, entries[i].op ? entries[i].op->line : op_at(end - 1).line, events);
      }
    }
    if (impl_ != SIZE_MAX) {
      for (const Entry& e : entries)
        record(runs_[impl_], e.op ? e.op->line : op_at(end - 1).line, e.events);
    }
    return true;
  }

  bool not_linearizable(size_t begin, size_t end, const std::vector<Entry>& entries,
                        const std::vector<HistoryOp>& history, EngineRun& model,
                        const LinearizeResult& lin) {
    // What the model does after the longest linearizable prefix, at the op
    // it could not place (when the budget ran out: the first entry the
    // prefix has not placed, never one it applied already).
    size_t failing = lin.failing_op;
    if (failing == kNoOp) {
      std::vector<bool> placed(entries.size(), false);
      for (size_t i : lin.longest) placed[i] = true;
      failing = size_t(std::find(placed.begin(), placed.end(), false) - placed.begin());
    }
    std::unique_ptr<trace::Engine> copy = model.engine->clone({});
    std::vector<trace::Event> ignored, events;
    for (size_t i : lin.longest) LinModel::apply(entries[i], *copy, ignored);
    LinModel::apply(entries[failing], *copy, events);
    const Entry& f = entries[failing];
    const size_t op_index = f.op ? index_of(f.op) : end - 1;
    Divergence d;
    d.op_index = op_index;
    d.line = op_at(op_index).line;
    d.op = f.op ? trace::print(*f.op) : f.end ? "(the end of the section)" : "(deferred work)";
    d.engines = {model.name, runs_[impl_].name};
    d.events = {events, f.events};
    d.descriptions = {model.engine->describe(), runs_[impl_].engine->describe()};
    d.history = format_history(history, [&](size_t i) {
      std::string text = entries[i].op    ? trace::print(*entries[i].op)
                         : entries[i].end ? "quiescent, in the impl's state"
                                          : "deferred work";
      for (const trace::Event& e : entries[i].events) text += "\n      " + trace::to_text(e);
      return text;
    });
    if (f.end) {  // explain the difference: the impl's state against the model's as it ends
      runs_[impl_].fresh();
      model.snap.ns.clear();
      copy->snapshot(model.snap);
      model.stale = false;
      d.state_diffs = diff_snapshots(runs_);
    }
    d.undecided = lin.budget_exhausted;
    d.state_diffs.push_back(
        lin.budget_exhausted
            ? "linearizability undecided: the search budget ran out"
            : "not linearizable: no order of the concurrent operations of lines " +
                  std::to_string(op_at(begin).line) + "-" + std::to_string(op_at(end - 1).line) +
                  " that respects real time gives the model these observations");
    result.divergence = std::move(d);
    return false;
  }

  // The ops from the first not yet done: the window holds ops [base_,
  // base_ + window_.size()); play() releases each section's ops once it
  // moves past them (a deque keeps the others where they are: history
  // entries point at them).
  bool have(size_t i) {
    while (base_ + window_.size() <= i && !ended_) {
      trace::Op op;
      if (ops_.next(&op))
        window_.push_back(std::move(op));
      else
        ended_ = true;
    }
    return i < base_ + window_.size();
  }
  const trace::Op& op_at(size_t i) const { return window_[i - base_]; }
  size_t index_of(const trace::Op* op) const {
    for (size_t k = 0; k < window_.size(); ++k)
      if (&window_[k] == op) return base_ + k;
    return base_;
  }
  void release(size_t i) {
    for (; base_ < i && !window_.empty(); ++base_) window_.pop_front();
  }

  trace::OpSource& ops_;
  std::deque<trace::Op> window_;
  size_t base_ = 0;
  bool ended_ = false;
  const RunOptions& options_;
  bool every_namespace_;
  bool keep_history_;
  uint64_t clock_ = 0;  // logical time of invocations and responses
  // The impl's world: its scheduler first, so that the engines made under
  // it run in test mode, and ended (in ~Run) before them.
  std::unique_ptr<sched::Scheduler> sched_ = std::make_unique<sched::Scheduler>(
      sched::Scheduler::Options{.record_events = false, .idle_fires_timers = false});
  DeferredRecorder recorder_{*sched_, clock_};
  std::vector<Entry> section_;  // the history of the concurrent section at hand
  std::vector<EngineRun> runs_;
  size_t impl_ = SIZE_MAX;
  // Each subsystem with a Subsystem::lacks, its design, and whether the
  // run must keep it.
  struct Lack {
    const Subsystem* s;
    std::string design;
    bool pinned;
  };
  std::vector<Lack> lacks_;
};

}  // namespace

RunResult run(trace::OpSource& ops, const RunOptions& options) {
  Run r(ops, options);
  const bool passed = r.play();
  if (const std::optional<Refusal>& refusal = r.result.refusal; refusal && refusal->design) {
    // A line only another design of a subsystem the run left free can run
    // (a policy): the run starts again in that design, and streams only the
    // events of the lines it had not reached.
    RunOptions other = options;
    other.designs[refusal->design->first] = refusal->design->second;
    if (options.on_event)
      other.on_event = [&options, from = refusal->line](std::string_view engine, uint32_t line,
                                                        const trace::Event& e) {
        if (line >= from) options.on_event(engine, line, e);
      };
    ops.rewind();
    RunResult again = run(ops, other);
    again.redesigned.insert(again.redesigned.begin(),
                            {refusal->design->first, refusal->design->second, refusal->line});
    return again;
  }
  if (passed || !r.rerun_needed) return std::move(r.result);
  // A difference kNamedNamespaces found is reported as kEveryNamespace
  // reports it: at the first op after which any namespace differs.
  RunOptions every = options;
  every.state_check = StateCheck::kEveryNamespace;
  every.on_event = nullptr;  // streamed by the first run
  ops.rewind();
  Run again(ops, every);
  again.play();
  return std::move(again.result);
}

RunResult run(const trace::Trace& trace, const RunOptions& options) {
  trace::TraceSource ops(trace);
  return run(ops, options);
}

trace::Trace with_schedule(const trace::Trace& trace, const RunResult& result) {
  trace::Trace out;
  const trace::OpSpec* sched = registry().find("sched");
  size_t next = 0;
  for (size_t i = 0; i < trace.ops.size(); ++i) {
    out.ops.push_back(trace.ops[i]);
    for (; next < result.schedule.size() && result.schedule[next].first == i; ++next) {
      for (uint32_t k : result.schedule[next].second) {
        trace::Op op;
        op.spec = sched;
        op.args.assign(1, trace::Value(uint64_t(k)));
        out.ops.push_back(std::move(op));
      }
    }
  }
  return out;
}

std::string format_failure(const RunResult& result) {
  std::string out;
  if (const auto& r = result.refusal)
    out += "REFUSED at line " + std::to_string(r->line) + ": " + r->message + "\n";
  if (const auto& d = result.divergence; d && !d->thread_failure.empty()) {
    out += "IMPL THREAD FAILURE after line " + std::to_string(d->line) + ": " + d->op + "\n  " +
           d->thread_failure + "\n";
  } else if (d) {
    out += "DIVERGENCE at line " + std::to_string(d->line) + ": " + d->op + "\n";
    if (!d->history.empty()) out += "  history (impl):\n" + d->history;
    for (size_t e = 0; e < d->engines.size(); ++e) {
      out += "  " + d->engines[e] + " observed:";
      if (d->events[e].empty()) out += " nothing";
      out += "\n";
      for (const auto& ev : d->events[e]) out += "    " + trace::to_text(ev) + "\n";
    }
    if (!d->state_diffs.empty()) {
      out += "  state differs:\n";
      for (const auto& s : d->state_diffs) out += "    " + s + "\n";
    }
    for (size_t e = 0; e < d->engines.size(); ++e)
      out += "  " + d->engines[e] + " state: " + d->descriptions[e];
  }
  for (const auto& f : result.expect_failures) {
    out += "EXPECTATION FAILED at line " + std::to_string(f.line) + " (" + f.engine + "): " + f.op +
           "\n    " + f.message + "\n";
  }
  return out;
}

namespace {

// "kind", or "kind.reason" for events that give a reason; "none" past the end.
std::string event_label(const std::vector<trace::Event>& events, size_t k) {
  if (k >= events.size()) return "none";
  const trace::Event& e = events[k];
  const trace::EventValue* reason = e.get("reason");
  const auto* text = reason ? std::get_if<std::string>(reason) : nullptr;
  return text ? e.kind + "." + *text : e.kind;
}

// The events of `a` that `b` lacks, counted as multisets, in a's order.
std::vector<trace::Event> missing_from(const std::vector<trace::Event>& a,
                                       std::vector<trace::Event> b) {
  std::vector<trace::Event> out;
  for (const trace::Event& e : a) {
    auto it = std::find(b.begin(), b.end(), e);
    if (it == b.end())
      out.push_back(e);
    else
      b.erase(it);
  }
  return out;
}

// What the first engine observed against what the first engine that
// disagrees with it observed: "deliver/kill.overlap", "kill.timeout/none",
// or "deliver[len]" when the events are of one kind and reason and differ in
// a field. Events both observed are set aside first, so an unrelated event
// of the same op (another queue expiring in the same tick) does not change
// it; when the two observed the same events in another order, it is taken
// at their first differing position ("pernet-exit[op]").
std::string events_signature(const std::vector<std::vector<trace::Event>>& events) {
  size_t other = 1;
  while (other < events.size() && events[other] == events[0]) ++other;
  std::vector<trace::Event> a = missing_from(events[0], events[other]);
  std::vector<trace::Event> b = missing_from(events[other], events[0]);
  size_t k = 0;
  if (a.empty() && b.empty()) {  // the same events in another order
    a = events[0];
    b = events[other];
    while (a[k] == b[k]) ++k;
  }
  const std::string la = event_label(a, k), lb = event_label(b, k);
  if (la != lb) return la + "/" + lb;
  for (size_t f = 0; f < a[k].fields.size() && f < b[k].fields.size(); ++f)
    if (a[k].fields[f] != b[k].fields[f]) return la + "[" + a[k].fields[f].first + "]";
  return la + "[fields]";
}

}  // namespace

std::string failure_signature(const trace::Trace& trace, const RunResult& result) {
  if (const auto& r = result.refusal) return "refused:" + trace.ops[r->op_index].spec->name;
  if (const auto& d = result.divergence) {
    const std::string prefix = "divergence:" + trace.ops[d->op_index].spec->name + ":";
    if (!d->thread_failure.empty())  // "failure: line 3: refcount_t: ...; ..." -> up to ';'
      return prefix +
             "thread:" + d->thread_failure.substr(0, d->thread_failure.find_first_of(";\n"));
    bool events_differ = false;
    for (const auto& ev : d->events) events_differ |= ev != d->events[0];
    if (events_differ) return prefix + events_signature(d->events);
    // "init mem.v4: model=0 impl=832": the first differing key, without
    // its namespace.
    const std::string diff = d->state_diffs.empty() ? "" : d->state_diffs[0];
    if (diff.find(':') == std::string::npos) return prefix + "state:digest";
    const std::string key = diff.substr(0, diff.find(':'));
    return prefix + "state:" + key.substr(key.find(' ') + 1);
  }
  if (!result.expect_failures.empty())
    return "expect:" + trace.ops[result.expect_failures[0].op_index].spec->name;
  return "";
}

}  // namespace nv::runner
