#include "runner/kernel_compare.h"

#include <algorithm>
#include <set>

#include "runner/subsystem.h"
#include "trace/printer.h"

namespace nv::runner {
namespace {

// The counters the kernel shows, of every subsystem.
const std::vector<std::string>& kernel_counters() {
  static const std::vector<std::string> kCounters = [] {
    std::vector<std::string> out;
    for (const Subsystem& s : subsystems())
      out.insert(out.end(), s.kernel_counters.begin(), s.kernel_counters.end());
    return out;
  }();
  return kCounters;
}

// The part of an event the kernel shows, by the subsystem that knows it.
std::optional<trace::Event> visible(const trace::Event& e) {
  for (const Subsystem& s : subsystems())
    if (s.kernel_visible)
      if (auto v = s.kernel_visible(e)) return v;
  return std::nullopt;
}

// The comparable events, in a canonical order.
std::vector<std::string> visible_texts(const std::vector<trace::Event>& events) {
  std::vector<std::string> out;
  for (const trace::Event& e : events)
    if (auto v = visible(e)) out.push_back(trace::to_text(*v));
  std::sort(out.begin(), out.end());
  return out;
}

// Whether the kernel can observe what an expectation reads.
bool observable(const trace::Op& op) {
  if (op.spec->name == "expect counter") {
    const auto& counters = kernel_counters();
    return std::find(counters.begin(), counters.end(), op.word_text(1)) != counters.end();
  }
  const Subsystem* s = subsystem_of_op(*op.spec);
  return s && std::find(s->kernel_expects.begin(), s->kernel_expects.end(), op.spec->name) !=
                  s->kernel_expects.end();
}

std::string counters_text(const trace::Snapshot& snap) {
  std::string out;
  for (const auto& [ns, values] : snap.ns) {
    out += "\n    " + ns + ":";
    for (const std::string& name : kernel_counters())
      out += " " + name + "=" + std::to_string(snap.get(ns, name));
  }
  return out;
}

// The Divergence `d` (at the section's last op) when `diffs` is not empty:
// the engines' events and states beside the kernel's.
std::optional<Divergence> divergence(Divergence d, std::span<const Observed> observed,
                                     std::vector<trace::Event> kernel_events,
                                     const trace::Snapshot& kernel_counters,
                                     std::vector<std::string> diffs) {
  if (diffs.empty()) return std::nullopt;
  for (const Observed& o : observed) {
    d.engines.emplace_back(o.engine);
    d.events.push_back(o.events);
    d.descriptions.push_back(o.state.describe());
  }
  d.engines.emplace_back(kernel::kEngineName);
  d.events.push_back(std::move(kernel_events));
  d.descriptions.push_back(
      "shows deliveries, refused sysctls and counters only; counters it reported:" +
      counters_text(kernel_counters) + "\n");
  d.state_diffs = std::move(diffs);
  return d;
}

// "init IpReasmFails: model=0 impl=0 kernel=1" for each counter of each
// namespace of `kernel` (or of the engines' `snaps`, when `all`) where an
// engine differs from the kernel.
std::vector<std::string> counter_diffs(std::span<const Observed> observed,
                                       const std::vector<trace::Snapshot>& snaps,
                                       const trace::Snapshot& kernel, bool all) {
  std::set<std::string> names;
  for (const auto& [ns, values] : kernel.ns) names.insert(ns);
  if (all)
    for (const trace::Snapshot& s : snaps)
      for (const auto& [ns, values] : s.ns) names.insert(ns);
  std::vector<std::string> diffs;
  for (const std::string& ns : names) {
    for (const std::string& counter : kernel_counters()) {
      const uint64_t want = kernel.get(ns, counter);
      bool same = true;
      for (const trace::Snapshot& s : snaps) same &= s.get(ns, counter) == want;
      if (same) continue;
      std::string line = ns + " " + counter + ":";
      for (size_t k = 0; k < observed.size(); ++k)
        line +=
            " " + std::string(observed[k].engine) + "=" + std::to_string(snaps[k].get(ns, counter));
      diffs.push_back(line + " kernel=" + std::to_string(want));
    }
  }
  return diffs;
}

}  // namespace

std::optional<trace::Event> kernel_visible(const trace::Event& event) {
  if (event.kind == "sysctl-refused" || event.kind == "icmp") return event;
  if (event.kind != "deliver") return std::nullopt;
  // A delivered datagram's truesize stays in the engines (frag::Reasm).
  trace::Event shown = event;
  std::erase_if(shown.fields, [](const auto& f) { return f.first == "truesize"; });
  return shown;
}

KernelWitness::KernelWitness(const kernel::KernelResult& kernel) : kernel_(kernel) {}

std::optional<Divergence> KernelWitness::compare(size_t begin, size_t end, const trace::Op& last,
                                                 std::span<const Observed> observed) {
  auto step =
      std::lower_bound(kernel_.steps.begin(), kernel_.steps.end(), begin,
                       [](const kernel::KernelStep& s, size_t i) { return s.op_index < i; });
  std::vector<trace::Event> events;
  trace::Snapshot counters;
  size_t reported = 0;
  for (; step != kernel_.steps.end() && step->op_index < end; ++step, ++reported) {
    events.insert(events.end(), step->events.begin(), step->events.end());
    for (const auto& [ns, values] : step->counters.ns) counters.ns[ns] = values;
  }
  std::vector<std::string> diffs;
  if (reported != end - begin) diffs.push_back("the kernel reported nothing for this operation");
  const std::vector<std::string> kernel_events = visible_texts(events);
  for (const Observed& o : observed)
    if (visible_texts(o.events) != kernel_events)
      diffs.push_back("deliveries, ICMP errors or refused sysctls: " + std::string(o.engine) +
                      " and kernel differ");
  std::vector<trace::Snapshot> snaps(observed.size());
  for (size_t k = 0; k < observed.size(); ++k)
    for (const auto& [ns, values] : counters.ns) observed[k].state.snapshot(ns, snaps[k]);
  for (std::string& d : counter_diffs(observed, snaps, counters, false))
    diffs.push_back(std::move(d));
  return divergence(Divergence::at(end - 1, last), observed, std::move(events), counters,
                    std::move(diffs));
}

std::optional<Divergence> KernelWitness::finish(size_t op_index, const trace::Op& last,
                                                std::span<const Observed> observed) {
  trace::Snapshot counters;
  for (const trace::Event& e : kernel_.end_events) {
    const auto* ns = std::get_if<std::string>(e.get("ns"));
    if (!ns) continue;
    auto& values = counters.ns[*ns];
    for (const auto& [key, value] : e.fields)
      if (const auto* n = std::get_if<uint64_t>(&value)) values[key] = *n;
  }
  std::vector<trace::Snapshot> snaps(observed.size());
  for (size_t k = 0; k < observed.size(); ++k) observed[k].state.snapshot(snaps[k]);
  Divergence at_end = Divergence::at(op_index, last);
  at_end.op = "(the end of the trace: every namespace's counters)";
  return divergence(std::move(at_end), observed, kernel_.end_events, counters,
                    counter_diffs(observed, snaps, counters, true));
}

void KernelWitness::observe_until(size_t op_index) {
  if (seen_ > 0 && kernel_.steps[seen_ - 1].op_index >= op_index) {  // the runner started over
    seen_ = 0;
    history_.clear();
    counters_ = {};
  }
  for (; seen_ < kernel_.steps.size() && kernel_.steps[seen_].op_index < op_index; ++seen_) {
    const kernel::KernelStep& step = kernel_.steps[seen_];
    for (const trace::Event& e : step.events)
      // (a delivery without an id is a divergence, found before this)
      if (e.kind != "deliver" || e.get("id")) history_.push_back(e);
    for (const auto& [ns, values] : step.counters.ns) counters_.ns[ns] = values;
  }
}

std::optional<std::string> KernelWitness::expect(size_t op_index, const trace::Op& op) {
  if (!observable(op)) {
    unobservable_[op_index] = "line " + std::to_string(op.line) + ": " + trace::print(op);
    return std::nullopt;
  }
  observe_until(op_index);
  return op.spec->expect(op, history_, counters_);
}

std::vector<std::string> KernelWitness::unobservable() const {
  std::vector<std::string> out;
  for (const auto& [index, text] : unobservable_) out.push_back(text);
  return out;
}

RunResult compare_with_kernel(const trace::Trace& trace, const kernel::KernelResult& kernel,
                              RunOptions options, std::vector<std::string>* unobservable) {
  KernelWitness witness(kernel);
  options.witness = &witness;
  RunResult result = run(trace, options);
  if (unobservable) *unobservable = witness.unobservable();
  return result;
}

}  // namespace nv::runner
