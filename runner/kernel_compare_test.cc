// The three-way comparison, on kernel results made up from the model's own
// observations (no namespace needed): agreeing ones pass, every kind of
// difference is a Divergence at the right line.
#include "runner/kernel_compare.h"

#include <gtest/gtest.h>

#include "kernel/snmp.h"
#include "runner/subsystem.h"
#include "trace/parser.h"

namespace nv::runner {
namespace {

trace::Trace parse(const std::string& text) {
  trace::ParseResult r = trace::parse(text, registry());
  EXPECT_FALSE(r.error) << (r.error ? r.error->message : "");
  return std::move(r.trace);
}

// What a kernel that behaves exactly like the model would report: after
// each op, the counters of the namespaces it names (all after a tick).
kernel::KernelResult as_kernel_would(const trace::Trace& t) {
  kernel::KernelResult k;
  auto model = make_engine(EngineKind::kModel);
  for (size_t i = 0; i < t.ops.size(); ++i) {
    if (t.ops[i].spec->expect) continue;
    kernel::KernelStep s;
    s.op_index = i;
    s.line = t.ops[i].line;
    std::vector<trace::Event> events;
    model->apply(t.ops[i], events);
    for (const auto& e : events)
      if (auto v = kernel_visible(e)) s.events.push_back(*v);
    trace::Snapshot snap;
    model->snapshot(snap);
    for (const auto& [ns, values] : snap.ns)
      if (t.ops[i].spec->name == "tick" || t.ops[i].name(0) == ns)
        for (std::string_view c : kernel::kFragCounters)
          s.counters.ns[ns][std::string(c)] = snap.get(ns, c);
    k.steps.push_back(std::move(s));
  }
  trace::Snapshot snap;
  model->snapshot(snap);
  for (const auto& [ns, values] : snap.ns) k.end_events.push_back(kernel::counters_event(ns, snap));
  return k;
}

const char* kTrace =
    "frag init v4 id=1 off=0 len=16 mf=1\n"
    "frag init v4 id=1 off=16 len=8 mf=0\n"
    "expect deliver init v4 id=1\n"
    "frag init v6 id=2 off=0 len=8 mf=1\n"
    "frag init v6 id=2 off=8 len=8 mf=0\n"
    "frag init v6 id=2 off=0 len=8 mf=1\n"
    "sysctl init ipv4.ipfrag_high_thresh 1\n";

TEST(KernelCompare, AgreeingKernelPasses) {
  trace::Trace t = parse(kTrace);
  kernel::KernelResult k = as_kernel_would(t);
  ASSERT_EQ(k.steps.size(), 6u);
  // Drops are invisible.
  EXPECT_TRUE(k.steps[4].events.empty());
  RunResult r = compare_with_kernel(t, k);
  EXPECT_TRUE(r.ok()) << format_failure(r);
}

TEST(KernelCompare, MissingDeliveryIsADivergence) {
  trace::Trace t = parse(kTrace);
  kernel::KernelResult k = as_kernel_would(t);
  k.steps[1].events.clear();
  auto d = compare_with_kernel(t, k).divergence;
  ASSERT_TRUE(d);
  EXPECT_EQ(d->line, 2u);
  EXPECT_EQ(d->engines, (std::vector<std::string>{"model", "impl", "kernel"}));
  EXPECT_EQ(d->state_diffs.at(0),
            "deliveries, ICMP errors or refused sysctls: model and kernel differ");
  RunResult shown;
  shown.divergence = d;
  EXPECT_NE(format_failure(shown).find("DIVERGENCE at line 2: frag init v4 id=1 off=16"),
            std::string::npos);
}

TEST(KernelCompare, DifferentDigestIsADivergence) {
  trace::Trace t = parse(kTrace);
  kernel::KernelResult k = as_kernel_would(t);
  for (auto& [key, value] : k.steps[3].events.at(0).fields)
    if (key == "fnv1a64") value = std::string("0000000000000000");
  auto d = compare_with_kernel(t, k).divergence;
  ASSERT_TRUE(d);
  EXPECT_EQ(d->line, 5u);
}

TEST(KernelCompare, CounterDifferenceNamesTheCounter) {
  trace::Trace t = parse(kTrace);
  kernel::KernelResult k = as_kernel_would(t);
  for (size_t i = 4; i < k.steps.size(); ++i) k.steps[i].counters.ns["init"]["Ip6ReasmFails"] = 1;
  auto d = compare_with_kernel(t, k).divergence;
  ASSERT_TRUE(d);
  EXPECT_EQ(d->line, 6u);
  EXPECT_EQ(d->state_diffs,
            (std::vector<std::string>{"init Ip6ReasmFails: model=0 impl=0 kernel=1"}));
}

TEST(KernelCompare, RefusedSysctlMustMatch) {
  trace::Trace t = parse(kTrace);
  kernel::KernelResult k = as_kernel_would(t);
  k.steps.back().events.clear();
  auto d = compare_with_kernel(t, k).divergence;
  ASSERT_TRUE(d);
  EXPECT_EQ(d->line, 7u);
}

TEST(KernelCompare, MissingStepIsADivergence) {
  trace::Trace t = parse(kTrace);
  kernel::KernelResult k = as_kernel_would(t);
  k.steps.pop_back();
  auto d = compare_with_kernel(t, k).divergence;
  ASSERT_TRUE(d);
  EXPECT_EQ(d->state_diffs.at(0), "the kernel reported nothing for this operation");
}

TEST(KernelCompare, MutantInTheImplIsCaught) {
  // The impl is compared with the kernel too, not only with the model: run
  // alone, it differs from the kernel.
  trace::Trace t = parse(
      "frag init v4 id=1 off=0 len=16 mf=1\n"
      "frag init v4 id=1 off=8 len=16 mf=1\n"
      "frag init v4 id=1 off=16 len=8 mf=0\n");
  kernel::KernelResult k = as_kernel_would(t);
  auto d = compare_with_kernel(t, k,
                               {.engines = {EngineKind::kImpl}, .mutants = {"frag-overlap-accept"}})
               .divergence;
  ASSERT_TRUE(d);
  EXPECT_EQ(d->line, 2u);  // the impl does not count the overlap Linux (here: the model) counts
  EXPECT_EQ(d->engines, (std::vector<std::string>{"impl", "kernel"}));
  EXPECT_EQ(d->state_diffs, (std::vector<std::string>{"init IpReasmFails: impl=0 kernel=1",
                                                      "init IpExtReasmOverlaps: impl=0 kernel=1"}));
  // With the model, the runner finds the impl's difference first, in the
  // same loop.
  d = compare_with_kernel(t, k, {.mutants = {"frag-overlap-accept"}}).divergence;
  ASSERT_TRUE(d);
  EXPECT_EQ(d->line, 2u);
  EXPECT_EQ(d->engines, (std::vector<std::string>{"model", "impl"}));
}

TEST(KernelCompare, IcmpErrorsAreCompared) {
  // The first fragment's queue expires: Time Exceeded about it.
  trace::Trace t = parse("frag init v4 id=1 off=0 len=16 mf=1\ntick 30s\n");
  kernel::KernelResult k = as_kernel_would(t);
  ASSERT_EQ(k.steps[1].events.size(), 1u);
  EXPECT_EQ(trace::to_text(k.steps[1].events[0]),
            "icmp ns=init family=v4 src=127.0.0.1 dst=127.0.0.1 proto=253 id=1 type=11 code=1");
  EXPECT_FALSE(compare_with_kernel(t, k).divergence);
  k.steps[1].events.clear();  // a kernel that sent none
  auto d = compare_with_kernel(t, k).divergence;
  ASSERT_TRUE(d);
  EXPECT_EQ(d->line, 2u);
}

TEST(KernelCompare, VisibleEvents) {
  trace::Event drop{"drop", {}};
  EXPECT_FALSE(kernel_visible(drop));
  trace::Event v6{"deliver", {}};
  v6.add("family", std::string("v6")).add("id", uint64_t{3}).add("len", uint64_t{8});
  EXPECT_EQ(kernel_visible(v6), v6);  // every field, the id included
  // but the delivered truesize, which the kernel engine does not observe.
  trace::Event with_truesize = v6;
  with_truesize.add("truesize", uint64_t{832});
  EXPECT_EQ(kernel_visible(with_truesize), v6);
}

TEST(KernelCompare, V6DeliveryWithoutItsIdDiffers) {
  trace::Trace t = parse(kTrace);
  kernel::KernelResult k = as_kernel_would(t);
  auto& fields = k.steps[3].events.at(0).fields;
  std::erase_if(fields, [](const auto& f) { return f.first == "id"; });
  auto d = compare_with_kernel(t, k).divergence;
  ASSERT_TRUE(d);
  EXPECT_EQ(d->line, 5u);
}

TEST(KernelCompare, CountersOfAnUnnamedNamespaceAreComparedAtTheEnd) {
  trace::Trace t = parse(
      "netns add a\nfrag a v4 id=1 off=0 len=8 mf=1\nfrag init v4 id=2 "
      "off=0 len=8 mf=1\n");
  kernel::KernelResult k = as_kernel_would(t);
  for (auto& [key, value] : k.end_events.at(0).fields)
    if (key == "IpReasmReqds") value = uint64_t{5};  // a's, found only at the end
  auto d = compare_with_kernel(t, k).divergence;
  ASSERT_TRUE(d);
  EXPECT_EQ(d->line, 3u);
  EXPECT_EQ(d->op, "(the end of the trace: every namespace's counters)");
  EXPECT_EQ(d->state_diffs, (std::vector<std::string>{"a IpReasmReqds: model=1 impl=1 kernel=5"}));
}

TEST(KernelCompare, ExpectationsAreEvaluatedOnTheKernelsObservations) {
  trace::Trace t = parse(
      "frag init v6 id=2 off=0 len=8 mf=0\n"
      "expect deliver init v6 id=2 len=8\n"
      "expect counter init Ip6ReasmOKs 1\n"
      "expect mem init v6 0\n");
  kernel::KernelResult k = as_kernel_would(t);
  std::vector<std::string> blind;
  RunResult ok = compare_with_kernel(t, k, {}, &blind);
  EXPECT_TRUE(ok.ok()) << format_failure(ok);
  // Memory is not observable: said, not evaluated.
  EXPECT_EQ(blind, (std::vector<std::string>{"line 4: expect mem init v6 0"}));

  // A kernel that reassembled nothing: both observable expectations fail
  // for the kernel alone (the counters step agrees, as the kernel says so
  // after the op; the expectation reads it).
  k.steps[0].counters.ns["init"]["Ip6ReasmOKs"] = 0;
  k.end_events.clear();
  for (auto& [ns, values] : k.steps[0].counters.ns) values["Ip6ReasmOKs"] = 0;
  KernelWitness witness(k);
  EXPECT_TRUE(witness.expect(3, t.ops[3]) == std::nullopt);
  EXPECT_TRUE(witness.expect(1, t.ops[1]) == std::nullopt);  // the delivery is there
  auto counter = witness.expect(2, t.ops[2]);
  ASSERT_TRUE(counter);
  EXPECT_EQ(*counter, "Ip6ReasmOKs is 0");
  k.steps[0].events.clear();
  KernelWitness empty(k);
  EXPECT_EQ(empty.expect(1, t.ops[1]), "no such delivery");
}

}  // namespace
}  // namespace nv::runner
