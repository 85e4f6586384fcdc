// Properties of fragment reassembly on generated traces: model == impl, the
// trace grammar round-trips, and the model's own invariants hold.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "kernel/kernel_engine.h"
#include "model/frag/frag_model.h"
#include "properties/differential.h"
#include "properties/frag/frag_gen.h"
#include "runner/runner.h"
#include "runner/subsystem.h"
#include "trace/parser.h"
#include "trace/printer.h"

namespace nv {
namespace {

trace::Trace parse_ok(const std::string& text) {
  trace::ParseResult r = trace::parse(text, runner::registry());
  RC_ASSERT(!r.error.has_value());
  return std::move(r.trace);
}

// Today's design (the default; traces selecting the eviction policy, which
// it lacks, are discarded) and the global table before Linux 4.17, which
// runs both policies.
RC_GTEST_PROP(FragProperties, ModelAndImplAgree, ()) {
  props::differential_property("frag", {});
}
RC_GTEST_PROP(FragProperties, GlobalDesignAgreesWithModel, ()) {
  props::differential_property("frag", {}, {{"frag", "global"}});
}

// kernel-fuzz's traces (Subsystem::kernel_gen): the kernel engine runs
// every one (it refuses none), nothing races or picks an old design, the
// clock moves in at most kKernelTicks ticks of kKernelTickMs, and every
// reassembly timeout written is whole seconds, at least one.
RC_GTEST_PROP(FragProperties, KernelTracesAreTheKernelEngines, ()) {
  const trace::Trace t = parse_ok(*runner::find_subsystem("frag")->kernel_gen());
  RC_ASSERT(!kernel::refusal(t, {}));
  int ticks = 0;
  for (const trace::Op& op : t.ops) {
    RC_ASSERT(!op.async);
    RC_ASSERT(!op.spec->name.starts_with("policy"));
    if (op.spec->name == "tick") {
      ++ticks;
      RC_ASSERT(op.u(trace::core::kTickDuration) == gen::kKernelTickMs);
    }
    if (op.spec->name == "sysctl" && op.word_text(trace::core::kSysctlKey).ends_with("_time"))
      RC_ASSERT(op.u(trace::core::kSysctlValue) >= 1u);
  }
  RC_ASSERT(ticks <= gen::kKernelTicks);
}

// Runs a flood trace (gen::render_flood) through model and impl, the
// impl in `design`; returns the failure report ("" when it passed) and
// counts the model's evictions.
std::string run_flood(const gen::Flood& f, const std::string& design, size_t* evictions) {
  const trace::ParseResult parsed = trace::parse(gen::render_flood(f), runner::registry());
  if (parsed.error) return "invalid flood trace: " + parsed.error->message;
  runner::RunOptions options;
  options.designs = {{"frag", design}};
  *evictions = 0;
  options.on_event = [&](std::string_view engine, uint32_t, const trace::Event& e) {
    if (engine == "model" && e.kind == "kill" && std::get<std::string>(*e.get("reason")) == "evict")
      ++*evictions;
  };
  return runner::format_failure(runner::run(parsed.trace, options));
}

// The behaviour the 2021 fragment-cache denial of service exploited, and
// what the global table's eviction did instead (frags-rhashtable-per-
// netns.txt): a flood of first fragments past high_thresh blocks a later
// datagram until the flood times out when fragments are refused (today's
// policy, in both designs); the evictor drops the flood's oldest queues and
// the later datagram is reassembled at once. The trace's expectations say
// which (gen::render_flood).
RC_GTEST_PROP(FragFlood, RefusalBlocksEvictionLetsThrough, ()) {
  const bool evict = *rc::gen::arbitrary<bool>();
  const gen::Flood f = *gen::flood(evict);
  const std::string design = evict ? "global" : *rc::gen::element<std::string>("pernet", "global");
  size_t evictions = 0;
  const std::string failure = run_flood(f, design, &evictions);
  if (!failure.empty()) RC_FAIL(failure + gen::render_flood(f));
  RC_ASSERT((evict ? evictions > 0 : evictions == 0));
}

// The same at the default thresholds, as the seed tells it: a few thousand
// first fragments.
TEST(FragFlood, DefaultThresholds) {
  const frag::Sysctls defaults;
  for (const bool evict : {false, true}) {
    gen::Flood f{.evict = evict, .v6 = false, .len = 8};
    f.low = defaults.low_thresh[0];
    f.high = defaults.high_thresh[0];
    f.flood = uint32_t(f.high / gen::flood_queue_cost(f) + 40);
    EXPECT_GT(f.flood, 4000u);
    for (const char* design : {"pernet", "global"}) {
      if (evict && std::string(design) == "pernet") continue;  // it has no evictor
      size_t evictions = 0;
      EXPECT_EQ(run_flood(f, design, &evictions), "") << design << " evict=" << evict;
      // The evictor ran once, when the queue one past high_thresh came,
      // down to low_thresh: about a megabyte of queues.
      const uint64_t cost = gen::flood_queue_cost(f);
      EXPECT_EQ(evictions, evict ? f.high / cost + 1 - f.low / cost : 0u);
    }
  }
}

// The default state check (runner::StateCheck::kNamedNamespaces) passes what
// the check of every namespace after every op passes and reports what it
// reports, with or without a mutant.
RC_GTEST_PROP(FragProperties, NamedNamespaceCheckReportsAsReplay, ()) {
  std::vector<std::string> names = {""};
  for (const runner::Subsystem& s : runner::subsystems())
    for (const auto& m : s.mutants) names.push_back(m.name);
  const std::string mutant = *rc::gen::elementOf(names);
  const trace::Trace t = parse_ok(gen::render(*gen::frag_steps()));
  runner::RunOptions every{.state_check = runner::StateCheck::kEveryNamespace};
  if (!mutant.empty()) every.mutants = {mutant};
  runner::RunOptions named = every;
  named.state_check = runner::StateCheck::kNamedNamespaces;
  const runner::RunResult a = runner::run(t, every), b = runner::run(t, named);
  RC_TAG(a.ok() ? "ok" : "fails");
  RC_ASSERT(runner::format_failure(a) == runner::format_failure(b));
  RC_ASSERT(a.ops_run == b.ops_run);
}

RC_GTEST_PROP(FragProperties, PrintParsePrintIsIdentity, ()) {
  const std::string text = gen::render(*gen::frag_steps());
  const std::string once = trace::print(parse_ok(text));
  RC_ASSERT(trace::print(parse_ok(once)) == once);
}

std::string pattern_digest(uint32_t id, uint32_t len) {
  std::vector<uint8_t> bytes(len);
  frag::Fragment f{.id = id, .off = 0, .len = len};
  frag::fill_payload(f, bytes.data());
  frag::Fnv1a64 h;
  h.update(bytes.data(), bytes.size());
  return trace::format_hex64(h.value());
}

// After every operation: each family's accounted memory is the sum of its
// queues' and queued skbs' truesizes (0 when nothing is queued), and every
// delivered payload of a datagram that was only ever sent with its own
// (pattern) bytes is exactly those bytes. Datagrams that also received
// differing (fill) data are not checked here: Linux keeps whichever copy of
// a byte arrived first, so a fill fragment that lands in a hole left by a
// dropped or trimmed fragment is legitimately delivered.
RC_GTEST_PROP(FragModelInvariants, MemoryAndPayload, ()) {
  const std::string text = gen::render(*gen::frag_steps());
  RC_LOG() << text;
  const trace::Trace t = parse_ok(text);
  std::set<std::tuple<std::string, uint64_t, uint64_t>> mixed;  // ns, family, id
  for (const trace::Op& op : t.ops) {
    if (op.spec->name == "frag" && op.has(frag::fields::kData))
      mixed.emplace(op.name(frag::fields::kNs), op.word(frag::fields::kFamily),
                    op.u(frag::fields::kId));
  }
  frag::FragModel model;
  std::vector<trace::Event> events;
  for (const trace::Op& op : t.ops) {
    if (op.spec->expect) continue;
    events.clear();
    model.apply(op, events);
    for (const auto& [name, ns] : model.namespaces()) {
      for (int fi = 0; fi < 2; ++fi) {
        uint64_t sum = 0;
        for (const auto& [key, q] : ns.fam[fi].queues) {
          sum += frag::kQueueTruesize[fi];
          for (const auto& run : q.runs)
            for (const auto& fr : run.frags) sum += fr.truesize;
        }
        RC_ASSERT(ns.fam[fi].mem == sum);
        if (ns.fam[fi].queues.empty()) RC_ASSERT(ns.fam[fi].mem == 0u);
      }
    }
    for (const trace::Event& e : events) {
      if (e.kind != "deliver") continue;
      uint32_t id = uint32_t(std::get<uint64_t>(*e.get("id")));
      uint32_t len = uint32_t(std::get<uint64_t>(*e.get("len")));
      uint64_t family = std::get<std::string>(*e.get("family")) == "v6";
      if (mixed.count({std::get<std::string>(*e.get("ns")), family, id})) continue;
      RC_ASSERT(std::get<std::string>(*e.get("fnv1a64")) == pattern_digest(id, len));
    }
  }
}

// The model's events of a trace, and the memory it accounts after each op
// (every namespace and family): rendered from `steps` with `policy` after
// the header.
struct ModelRun {
  std::vector<std::vector<trace::Event>> events;  // per op
  std::vector<trace::Op> ops;
};
ModelRun run_model(const std::vector<gen::Step>& steps, const std::string& policy,
                   std::vector<uint64_t>* mem = nullptr) {
  std::string text = gen::render(steps);
  text.insert(text.find('\n') + 1, policy + "\n");
  ModelRun r;
  r.ops = parse_ok(text).ops;
  frag::FragModel model;
  for (const trace::Op& op : r.ops) {
    model.apply(op, r.events.emplace_back());
    if (!mem) continue;
    uint64_t total = 0;
    for (const auto& [id, ns] : model.namespaces()) total += ns.fam[0].mem + ns.fam[1].mem;
    mem->push_back(total);
  }
  return r;
}

uint64_t truesize_of(const trace::Event& e) {
  return std::get<uint64_t>(*e.get("truesize"));
}

// Coalescing (docs/trace.md): under the list design a reassembled
// datagram's truesize is what its queue released (the memory the op freed:
// the queue's skbs and struct, less the arriving fragment's charge); under
// coalescing it is at most that. A whole packet
// keeps its own. Deliveries are otherwise the same under both.
RC_GTEST_PROP(FragModelInvariants, DeliveredTruesize, ()) {
  const std::vector<gen::Step> steps = *gen::frag_steps({.perturb = true, .extras = false});
  std::vector<uint64_t> mem;
  const ModelRun list = run_model(steps, "policy frag-reasm list", &mem);
  const ModelRun coalesced = run_model(steps, "policy frag-reasm coalesce");
  RC_ASSERT(list.events.size() == coalesced.events.size());
  for (size_t i = 0; i < list.ops.size(); ++i) {
    RC_ASSERT(list.events[i].size() == coalesced.events[i].size());
    for (size_t k = 0; k < list.events[i].size(); ++k) {
      trace::Event l = list.events[i][k], c = coalesced.events[i][k];
      if (l.kind != "deliver") {
        RC_ASSERT(l == c);
        continue;
      }
      const uint64_t lt = truesize_of(l), ct = truesize_of(c);
      l.fields.pop_back();
      c.fields.pop_back();
      RC_ASSERT(l == c);
      const frag::Fragment f = frag::fragment_of(list.ops[i]);
      const bool whole = f.off == 0 && !f.mf;
      if (whole) {
        RC_ASSERT(lt == frag::frag_truesize(f.family, f.len, f.ext));
        RC_ASSERT(ct == lt);
        continue;
      }
      RC_ASSERT(ct <= lt);
      // (An op whose evictor also killed queues released their memory too.)
      const bool evicted = std::any_of(list.events[i].begin(), list.events[i].end(),
                                       [](const trace::Event& e) { return e.kind == "kill"; });
      const uint64_t released = mem[i - 1] + frag::frag_truesize(f.family, f.len, f.ext) - mem[i];
      if (!evicted) RC_ASSERT(lt + frag::kQueueTruesize[int(f.family)] == released);
    }
  }
}

using Delivery = std::tuple<std::string, std::string, uint64_t, uint64_t, std::string>;

std::multiset<Delivery> deliveries(const std::vector<gen::Step>& steps) {
  // Fragments of many datagrams from one source can hit ipfrag_max_dist,
  // which depends on arrival order by design; switch it off.
  std::string text = gen::render(steps);
  text.insert(text.find('\n') + 1, "sysctl init ipv4.ipfrag_max_dist 0\n");
  frag::FragModel model;
  std::vector<trace::Event> events;
  for (const trace::Op& op : parse_ok(text).ops) model.apply(op, events);
  std::multiset<Delivery> out;
  for (const auto& e : events) {
    if (e.kind != "deliver") continue;
    out.emplace(std::get<std::string>(*e.get("ns")), std::get<std::string>(*e.get("family")),
                std::get<uint64_t>(*e.get("id")), std::get<uint64_t>(*e.get("len")),
                std::get<std::string>(*e.get("fnv1a64")));
  }
  return out;
}

// Fragments that neither overlap nor conflict are delivered the same
// whatever order they arrive in.
RC_GTEST_PROP(FragModelInvariants, DeliveryIndependentOfArrivalOrder, ()) {
  std::vector<gen::Step> steps = *gen::frag_steps({.perturb = false, .extras = false});
  // One queue per datagram: give each datagram its own id.
  for (auto& s : steps) s.id = s.datagram + 1;
  std::vector<gen::Step> in_order = steps;
  std::stable_sort(in_order.begin(), in_order.end(), [](const auto& a, const auto& b) {
    return std::tie(a.datagram, a.off) < std::tie(b.datagram, b.off);
  });
  RC_ASSERT(deliveries(steps) == deliveries(in_order));
}

}  // namespace
}  // namespace nv

namespace nv {
namespace {

// No delivered datagram is built from fragments that overlapped: the
// fragments the model accepted for a queue (those it reported neither
// dropped nor discarded) are pairwise disjoint and tile [0, len) exactly
// when the datagram is delivered. Checked from the event stream alone, so
// the model's run bookkeeping is checked from outside.
RC_GTEST_PROP(FragModelInvariants, DeliveredFragmentsNeverOverlap, ()) {
  std::vector<gen::Step> steps = *gen::frag_steps();
  for (auto& s :
       steps) {  // one datagram per (ns, family, id): one protocol each (the v4 key has it)
    s.id = s.datagram + 1;
    s.proto = 253;
  }
  const std::string text = gen::render(steps);
  RC_LOG() << text;
  using Key = std::tuple<std::string, std::string, uint64_t>;
  std::map<Key, std::vector<std::pair<uint32_t, uint32_t>>> accepted;
  auto key_of = [](const trace::Event& e) {
    return Key{std::get<std::string>(*e.get("ns")), std::get<std::string>(*e.get("family")),
               std::get<uint64_t>(*e.get("id"))};
  };
  frag::FragModel model;
  std::vector<trace::Event> events;
  for (const trace::Op& op : parse_ok(text).ops) {
    if (op.spec->expect) continue;
    events.clear();
    model.apply(op, events);
    if (op.spec->name == "netns del") {
      std::erase_if(accepted, [&](const auto& kv) { return std::get<0>(kv.first) == op.name(0); });
      continue;
    }
    bool queued = op.spec->name == "frag";
    for (const trace::Event& e : events) {
      if (e.kind == "drop") queued = false;
      if (e.kind != "kill") continue;
      accepted.erase(key_of(e));
      // ip_frag_reinit empties the queue, and the evictor (the eviction
      // policy) other queues, then the arriving fragment is queued.
      const std::string& reason = std::get<std::string>(*e.get("reason"));
      if (reason != "too-far" && reason != "evict") queued = false;
    }
    if (!queued) continue;
    const frag::Fragment f = frag::fragment_of(op);
    if (f.off == 0 && !f.mf) continue;  // not reassembled
    uint32_t end = f.off + f.len;
    if (f.family == frag::Family::kV4 && f.mf) end &= ~7u;
    const Key key{std::string(f.ns), frag::family_name(f.family), f.id};
    auto& runs = accepted[key];
    runs.emplace_back(f.off, end);
    for (const trace::Event& e : events) {
      if (e.kind != "deliver") continue;
      std::sort(runs.begin(), runs.end());
      uint32_t covered = 0;
      for (const auto& [off, e_end] : runs) {
        RC_ASSERT(off == covered);  // disjoint, no hole
        covered = e_end;
      }
      RC_ASSERT(uint64_t(covered) == std::get<uint64_t>(*e.get("len")));
      accepted.erase(key);
    }
  }
}

}  // namespace
}  // namespace nv
