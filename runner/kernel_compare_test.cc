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

// What a kernel that behaves exactly like the model would report.
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
      for (std::string_view c : kernel::kFragCounters)
        s.counters.ns[ns][std::string(c)] = snap.get(ns, c);
    k.steps.push_back(std::move(s));
  }
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
  // v6 deliveries carry no id, drops are invisible.
  EXPECT_EQ(k.steps[3].events.at(0).get("id"), nullptr);
  EXPECT_TRUE(k.steps[4].events.empty());
  EXPECT_FALSE(compare_with_kernel(t, k));
}

TEST(KernelCompare, MissingDeliveryIsADivergence) {
  trace::Trace t = parse(kTrace);
  kernel::KernelResult k = as_kernel_would(t);
  k.steps[1].events.clear();
  auto d = compare_with_kernel(t, k);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->line, 2u);
  EXPECT_EQ(d->engines, (std::vector<std::string>{"model", "impl", "kernel"}));
  EXPECT_EQ(d->state_diffs.at(0), "deliveries or refused sysctls: model and kernel differ");
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
  auto d = compare_with_kernel(t, k);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->line, 5u);
}

TEST(KernelCompare, CounterDifferenceNamesTheCounter) {
  trace::Trace t = parse(kTrace);
  kernel::KernelResult k = as_kernel_would(t);
  for (size_t i = 4; i < k.steps.size(); ++i) k.steps[i].counters.ns["init"]["Ip6ReasmFails"] = 1;
  auto d = compare_with_kernel(t, k);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->line, 6u);
  EXPECT_EQ(d->state_diffs,
            (std::vector<std::string>{"init Ip6ReasmFails: model=0 impl=0 kernel=1"}));
}

TEST(KernelCompare, RefusedSysctlMustMatch) {
  trace::Trace t = parse(kTrace);
  kernel::KernelResult k = as_kernel_would(t);
  k.steps.back().events.clear();
  auto d = compare_with_kernel(t, k);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->line, 7u);
}

TEST(KernelCompare, MissingStepIsADivergence) {
  trace::Trace t = parse(kTrace);
  kernel::KernelResult k = as_kernel_would(t);
  k.steps.pop_back();
  auto d = compare_with_kernel(t, k);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->state_diffs.at(0), "the kernel reported nothing for this operation");
}

TEST(KernelCompare, MutantInTheImplIsCaught) {
  // The impl is compared with the kernel too, not only the model.
  trace::Trace t = parse(
      "frag init v4 id=1 off=0 len=16 mf=1\n"
      "frag init v4 id=1 off=8 len=16 mf=1\n"
      "frag init v4 id=1 off=16 len=8 mf=0\n");
  kernel::KernelResult k = as_kernel_would(t);
  auto d = compare_with_kernel(t, k, {"frag-overlap-accept"});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->line, 2u);  // the impl does not count the overlap Linux (here: the model) counts
  EXPECT_EQ(d->state_diffs,
            (std::vector<std::string>{"init IpReasmFails: model=1 impl=0 kernel=1",
                                      "init IpExtReasmOverlaps: model=1 impl=0 kernel=1"}));
}

TEST(KernelCompare, VisibleEvents) {
  trace::Event drop{"drop", {}};
  EXPECT_FALSE(kernel_visible(drop));
  trace::Event v4{"deliver", {}};
  v4.add("family", std::string("v4")).add("id", uint64_t{3});
  EXPECT_EQ(kernel_visible(v4)->get("id") != nullptr, true);
  trace::Event v6{"deliver", {}};
  v6.add("family", std::string("v6")).add("id", uint64_t{3}).add("len", uint64_t{8});
  EXPECT_EQ(kernel_visible(v6)->get("id"), nullptr);
  EXPECT_EQ(kernel_visible(v6)->fields.size(), 2u);
}

}  // namespace
}  // namespace nv::runner
