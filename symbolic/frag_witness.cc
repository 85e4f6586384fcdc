#include "symbolic/frag_witness.h"

#include <stdexcept>

#include "model/frag/frag_model.h"
#include "trace/frag/frag_ops.h"
#include "trace/parser.h"
#include "trace/printer.h"
#include "trace/registry.h"

namespace nv::symbolic {

using frag::Family;
using frag::rule::Outcome;

namespace {

const trace::Registry& registry() {
  return frag::frag_registry();
}

std::string string_field(const trace::Event& e, std::string_view key) {
  const trace::EventValue* v = e.get(key);
  return v && std::holds_alternative<std::string>(*v) ? std::get<std::string>(*v) : "";
}

uint64_t uint_field(const trace::Event& e, std::string_view key) {
  const trace::EventValue* v = e.get(key);
  return v && std::holds_alternative<uint64_t>(*v) ? std::get<uint64_t>(*v) : 0;
}

}  // namespace

std::string witness_ops(const Witness& w) {
  const int fi = int(w.family);
  const std::string fam = frag::family_name(w.family);
  std::string out;
  if (w.high_thresh) {
    const std::string prefix = fi == 0 ? "ipv4.ipfrag_" : "ipv6.ip6frag_";
    out += "sysctl init " + prefix + "low_thresh 0\n";
    out += "sysctl init " + prefix + "high_thresh " + std::to_string(*w.high_thresh) + "\n";
  }
  for (const FragValues& f : w.frags)
    out += "frag init " + fam + " id=1 off=" + std::to_string(f.off) +
           " len=" + std::to_string(f.len) + " mf=" + (f.mf ? "1" : "0") + "\n";
  return out;
}

Replay replay(const Witness& w) {
  const std::string text = std::string(trace::kTraceHeader) + "\n" + witness_ops(w);
  trace::ParseResult parsed = trace::parse(text, registry());
  if (parsed.error)
    throw std::logic_error("witness does not parse: " +
                           trace::format_diagnostic("witness", *parsed.error) + "\n" + text);
  frag::FragModel model;
  Replay r;
  std::vector<trace::Event> history;
  for (const trace::Op& op : parsed.trace.ops) {
    std::vector<trace::Event> out;
    model.apply(op, out);
    history.insert(history.end(), out.begin(), out.end());
    if (op.spec->name == "frag")
      r.events.push_back(std::move(out));
    else
      r.setup.insert(r.setup.end(), out.begin(), out.end());
  }
  const int fi = int(w.family);
  const std::string fam = frag::family_name(w.family);
  const trace::Event* delivered = nullptr;
  for (const trace::Event& e : history)
    if (e.kind == "deliver") delivered = &e;
  if (delivered)
    r.expectations += "expect deliver init " + fam +
                      " id=1 len=" + std::to_string(uint_field(*delivered, "len")) +
                      " fnv1a64=" + string_field(*delivered, "fnv1a64") + "\n";
  else
    r.expectations += "expect nodeliver init " + fam + " id=1\n";
  trace::Snapshot snap;
  model.snapshot(snap);
  std::vector<std::string_view> counters = {frag::kReasmReqds[fi], frag::kReasmOKs[fi],
                                            frag::kReasmFails[fi], frag::kInHdrErrors[fi]};
  if (w.family == Family::kV4) counters.push_back(frag::kReasmOverlaps);
  for (std::string_view c : counters)
    r.expectations +=
        "expect counter init " + std::string(c) + " " + std::to_string(snap.get("init", c)) + "\n";
  r.expectations +=
      "expect mem init " + fam + " " + std::to_string(snap.get("init", frag::kMemGauge[fi])) + "\n";
  return r;
}

bool events_match(Outcome o, const std::vector<trace::Event>& events) {
  if (o == Outcome::kQueued) return events.empty();
  const bool parameter_problem =
      o == Outcome::kV6Truncated || o == Outcome::kV6TooBig || o == Outcome::kV6BadLen;
  if (parameter_problem && events.size() == 2 && events[1].kind == "icmp")
    return events_match(o, {events[0]});
  if (events.size() != 1) return false;
  const trace::Event& e = events[0];
  const std::string reason = string_field(e, "reason");
  switch (o) {
    case Outcome::kWhole:
    case Outcome::kReassembled:
      return e.kind == "deliver";
    case Outcome::kV6Truncated:
    case Outcome::kMemLimit:
    case Outcome::kV6TooBig:
    case Outcome::kV6BadLen:
    case Outcome::kDup:
      return e.kind == "drop" && reason == frag::rule::outcome_name(o);
    case Outcome::kBadLast:
    case Outcome::kBadBeyond:
      return e.kind == "kill" && reason == "bad-end";
    case Outcome::kZeroLen:
    case Outcome::kOverlap:
    case Outcome::kOversize:
      return e.kind == "kill" && reason == frag::rule::outcome_name(o);
    case Outcome::kQueued:
      break;
  }
  return false;
}

}  // namespace nv::symbolic
