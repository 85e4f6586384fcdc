#include "runner/runner.h"

#include <algorithm>
#include <array>
#include <set>

#include "runner/subsystem.h"
#include "trace/printer.h"

namespace nv::runner {
namespace {

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

 private:
  std::vector<std::unique_ptr<trace::Engine>> engines_;
};

struct EngineRun {
  std::string name;
  std::unique_ptr<trace::Engine> engine;
  std::vector<trace::Event> history;
  trace::Snapshot snap;  // valid when !stale
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

std::string_view engine_name(EngineKind kind) {
  return kind == EngineKind::kModel ? "model" : "impl";
}

std::unique_ptr<trace::Engine> make_engine(EngineKind kind,
                                           const std::vector<std::string>& mutants) {
  std::vector<std::unique_ptr<trace::Engine>> engines;
  EngineContext ctx;
  ctx.engine = [&](std::string_view name) -> trace::Engine* {
    for (size_t i = 0; i < engines.size(); ++i)
      if (subsystems()[i].name == name) return engines[i].get();
    return nullptr;
  };
  for (const Subsystem& s : subsystems()) {
    if (kind == EngineKind::kModel) {
      engines.push_back(s.make_model(ctx));
      continue;
    }
    std::vector<std::string> own;
    for (const std::string& m : mutants)
      if (subsystem_of_mutant(m) == &s) own.push_back(m);
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

RunResult run(const trace::Trace& trace, const RunOptions& options) {
  // The JSON stream (on_event) is written as the run goes: always checked
  // the replay way, as a rerun would write it twice.
  const bool every_namespace =
      options.state_check == StateCheck::kEveryNamespace || options.on_event;
  // A difference kNamedNamespaces finds is reported as kEveryNamespace
  // reports it: at the first op after which any namespace differs.
  auto rerun_checking_every_namespace = [&] {
    RunOptions every = options;
    every.state_check = StateCheck::kEveryNamespace;
    return run(trace, every);
  };
  RunResult result;
  std::vector<EngineRun> runs;
  for (EngineKind kind : options.engines)
    runs.push_back({std::string(engine_name(kind)), make_engine(kind, options.mutants), {}, {}});
  auto emit = [&](const EngineRun& r, uint32_t line, const trace::Event& e) {
    if (options.on_event) options.on_event(r.name, line, e);
  };

  // Event histories serve expectations only; fuzzed traces have none.
  bool keep_history = false;
  for (const trace::Op& op : trace.ops) keep_history |= bool(op.spec->expect);

  // Each engine's events for the current op; buffers reused across ops.
  std::vector<std::vector<trace::Event>> per_engine(runs.size());
  for (size_t i = 0; i < trace.ops.size(); ++i) {
    const trace::Op& op = trace.ops[i];
    result.ops_run = i + 1;
    if (op.spec->expect) {
      for (EngineRun& r : runs) {
        if (auto msg = op.spec->expect(op, r.history, r.fresh()))
          result.expect_failures.push_back({i, op.line, trace::print(op), r.name, *msg});
      }
      continue;
    }
    // The JSON stream and expectations see a namespace's final counters
    // when an operation ends its name (netns del).
    if (options.on_event || keep_history) {
      for (size_t f = 0; f < op.spec->fields.size(); ++f) {
        const trace::FieldSpec& field = op.spec->fields[f];
        if (field.kind != trace::Kind::kName || field.scope != trace::kScopeNetns ||
            field.ns_use != trace::NsUse::kDestroy)
          continue;
        for (EngineRun& r : runs) {
          trace::Event e = counters_event(op.name(f), r.fresh());
          emit(r, op.line, e);
          r.history.push_back(std::move(e));
        }
      }
    }
    for (size_t k = 0; k < runs.size(); ++k) {
      EngineRun& r = runs[k];
      std::vector<trace::Event>& events = per_engine[k];
      events.clear();
      r.engine->apply(op, events);
      r.engine->settle(events);
      r.stale = true;
      for (const trace::Event& e : events) emit(r, op.line, e);
      if (keep_history) r.history.insert(r.history.end(), events.begin(), events.end());
      if (k == 0)
        for (const trace::Event& e : events) result.deliveries += e.kind == "deliver";
    }
    bool same_events = true;
    for (const auto& ev : per_engine) same_events &= ev == per_engine[0];
    // Digests after every op; full snapshots only to explain a difference.
    const bool same =
        every_namespace ? same_state(runs) : same_named_state(runs, op, per_engine[0]);
    if (!every_namespace && (!same_events || !same)) return rerun_checking_every_namespace();
    if (!same_events || !same) {
      for (EngineRun& r : runs) r.fresh();
      std::vector<std::string> diffs = diff_snapshots(runs);
      if (diffs.empty() && !same) diffs.push_back("state digests differ");
      Divergence d;
      d.op_index = i;
      d.line = op.line;
      d.op = trace::print(op);
      for (const EngineRun& r : runs) {
        d.engines.push_back(r.name);
        d.descriptions.push_back(r.engine->describe());
      }
      d.events = std::move(per_engine);
      d.state_diffs = std::move(diffs);
      result.divergence = std::move(d);
      return result;
    }
  }
  if (!every_namespace && !same_state(runs)) return rerun_checking_every_namespace();
  if (options.on_event) {
    for (EngineRun& r : runs)
      for (const auto& [ns, values] : r.fresh().ns) emit(r, 0, counters_event(ns, r.snap));
  }
  return result;
}

std::string format_failure(const RunResult& result) {
  std::string out;
  if (const auto& d = result.divergence) {
    out += "DIVERGENCE at line " + std::to_string(d->line) + ": " + d->op + "\n";
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

// What the first engine observed against what the first engine that
// disagrees with it observed, at their first differing event:
// "deliver/kill.overlap", "kill.timeout/none", or "deliver[len]" when the
// events are of one kind and reason and differ in a field.
std::string events_signature(const std::vector<std::vector<trace::Event>>& events) {
  size_t other = 1;
  while (other < events.size() && events[other] == events[0]) ++other;
  const auto& a = events[0];
  const auto& b = events[other];
  size_t k = 0;
  while (k < a.size() && k < b.size() && a[k] == b[k]) ++k;
  const std::string la = event_label(a, k), lb = event_label(b, k);
  if (la != lb) return la + "/" + lb;
  for (size_t f = 0; f < a[k].fields.size() && f < b[k].fields.size(); ++f)
    if (a[k].fields[f] != b[k].fields[f]) return la + "[" + a[k].fields[f].first + "]";
  return la + "[fields]";
}

}  // namespace

std::string failure_signature(const trace::Trace& trace, const RunResult& result) {
  if (const auto& d = result.divergence) {
    const std::string prefix = "divergence:" + trace.ops[d->op_index].spec->name + ":";
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
