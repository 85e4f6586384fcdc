#include "runner/kernel_compare.h"

#include <algorithm>
#include <set>

#include "kernel/snmp.h"
#include "trace/printer.h"

namespace nv::runner {
namespace {

// The comparable events of an operation, in a canonical order.
std::vector<std::string> visible(const std::vector<trace::Event>& events) {
  std::vector<std::string> out;
  for (const trace::Event& e : events)
    if (auto v = kernel_visible(e)) out.push_back(trace::to_text(*v));
  std::sort(out.begin(), out.end());
  return out;
}

std::string counters_text(const trace::Snapshot& snap) {
  std::string out;
  for (const auto& [ns, values] : snap.ns) {
    out += "\n    " + ns + ":";
    for (std::string_view name : kernel::kFragCounters)
      out += " " + std::string(name) + "=" + std::to_string(snap.get(ns, name));
  }
  return out;
}

}  // namespace

std::optional<trace::Event> kernel_visible(const trace::Event& event) {
  if (event.kind == "sysctl-refused") return event;
  if (event.kind != "deliver") return std::nullopt;
  const trace::EventValue* family = event.get("family");
  const bool v6 = family && *family == trace::EventValue(std::string("v6"));
  trace::Event out{event.kind, {}};
  for (const auto& field : event.fields)
    if (!(v6 && field.first == "id")) out.fields.push_back(field);
  return out;
}

std::optional<Divergence> compare_with_kernel(const trace::Trace& trace,
                                              const kernel::KernelResult& kernel,
                                              const std::vector<std::string>& mutants) {
  struct Run {
    std::string name;
    std::unique_ptr<trace::Engine> engine;
    std::vector<trace::Event> events;
    trace::Snapshot snap;
  };
  Run runs[2] = {{"model", make_engine(EngineKind::kModel), {}, {}},
                 {"impl", make_engine(EngineKind::kImpl, mutants), {}, {}}};
  auto step = kernel.steps.begin();
  for (size_t i = 0; i < trace.ops.size(); ++i) {
    const trace::Op& op = trace.ops[i];
    if (op.spec->expect) continue;
    for (Run& r : runs) {
      r.events.clear();
      r.engine->apply(op, r.events);
      r.engine->settle(r.events);
      r.snap = {};
      r.engine->snapshot(r.snap);
    }
    static const kernel::KernelStep kMissing;
    const bool missing = step == kernel.steps.end() || step->op_index != i;
    const kernel::KernelStep& k = missing ? kMissing : *step++;

    std::vector<std::string> diffs;
    if (missing) diffs.push_back("the kernel reported nothing for this operation");
    const std::vector<std::string> kernel_events = visible(k.events);
    for (const Run& r : runs)
      if (visible(r.events) != kernel_events)
        diffs.push_back("deliveries or refused sysctls: " + r.name + " and kernel differ");
    std::set<std::string> names;
    for (const Run& r : runs)
      for (const auto& [ns, values] : r.snap.ns) names.insert(ns);
    for (const auto& [ns, values] : k.counters.ns) names.insert(ns);
    for (const std::string& ns : names) {
      for (std::string_view counter : kernel::kFragCounters) {
        const uint64_t want = k.counters.get(ns, counter);
        if (runs[0].snap.get(ns, counter) == want && runs[1].snap.get(ns, counter) == want)
          continue;
        std::string line = ns + " " + std::string(counter) + ":";
        for (const Run& r : runs)
          line += " " + r.name + "=" + std::to_string(r.snap.get(ns, counter));
        diffs.push_back(line + " kernel=" + std::to_string(want));
      }
    }
    if (diffs.empty()) continue;
    Divergence d;
    d.op_index = i;
    d.line = op.line;
    d.op = trace::print(op);
    for (Run& r : runs) {
      d.engines.push_back(r.name);
      d.events.push_back(r.events);
      d.descriptions.push_back(r.engine->describe());
    }
    d.engines.emplace_back(kernel::kEngineName);
    d.events.push_back(k.events);
    d.descriptions.push_back(
        "shows deliveries, refused sysctls and counters only; counters after the operation:" +
        counters_text(k.counters) + "\n");
    d.state_diffs = std::move(diffs);
    return d;
  }
  return std::nullopt;
}

}  // namespace nv::runner
