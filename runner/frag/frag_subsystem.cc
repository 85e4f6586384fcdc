// The fragment-reassembly subsystem: its ops, engines, generator, mutants,
// fuzz table and what the kernel shows of it.
#include "impl/frag/frag_global_impl.h"
#include "impl/frag/frag_impl.h"
#include "impl/frag/frag_mutants.h"
#include "kernel/snmp.h"
#include "model/frag/frag_model.h"
#include "properties/frag/frag_gen.h"
#include "properties/frag/frag_shapes.h"
#include "runner/kernel_compare.h"
#include "runner/subsystem.h"
#include "trace/frag/frag_ops.h"

namespace nv::runner {
namespace {

// The designs: today's per-namespace tables (FragImpl) and the global table
// before Linux 4.17 (GlobalFragImpl). The eviction policy is a feature of
// the old design only: "policy frag evict" takes a run to it, or is refused
// where the run fixed today's (--design frag=pernet, a mutant of it).
constexpr const char* kPernet = "pernet";
constexpr const char* kGlobal = "global";

std::optional<std::string> lacks(std::string_view design, const trace::Op& op) {
  if (design != kPernet || op.spec->id != trace::op_id("policy frag") ||
      frag::policy_of(op) != frag::Policy::kEvict)
    return std::nullopt;
  return "the pernet design of frag (today's) has no evictor (the global design has)";
}

}  // namespace

Subsystem frag_subsystem() {
  Subsystem s{
      .name = "frag",
      .depends = {"netns", "defer"},
      .register_ops = frag::register_ops,
      .make_model = [](const EngineContext& ctx) -> std::unique_ptr<trace::Engine> {
        return std::make_unique<frag::FragModel>(
            *dynamic_cast<netns::PernetHost*>(ctx.engine("netns")),
            dynamic_cast<defer::DeferHost*>(ctx.engine("defer")));
      },
      .make_impl = [](const EngineContext& ctx,
                      const std::vector<std::string>& mutants) -> std::unique_ptr<trace::Engine> {
        auto* host = dynamic_cast<netns::PernetHost*>(ctx.engine("netns"));
        auto* defer = dynamic_cast<defer::DeferHost*>(ctx.engine("defer"));
        if (ctx.design == kGlobal) return std::make_unique<frag::GlobalFragImpl>(*host, defer);
        frag::MutantSet set;
        for (const std::string& m : mutants) set.set(*frag::frag_mutant_by_name(m));
        return std::make_unique<frag::FragImpl>(*host, set, defer);
      },
      .mutants = {},
      .designs = {kPernet, kGlobal},
      .lacks = lacks,
      .gen = [] { return rc::gen::map(gen::frag_steps(), gen::render); },
      // The table fuzz_frag has decoded since its first release.
      .fuzz_ops = {"netns add", "netns del", "tick", "sysctl", "frag"},
      .fuzz_slot = 0,
      // fuzz_all's second frag table: ECN (a late field of frag) and the
      // eviction policy, both added after the first froze.
      .fuzz_later = {{.ops = {"netns add", "netns del", "tick", "sysctl", "frag+ecn",
                              "policy frag"},
                      .slot = 4},
                     // its third: the list design's reassembly;
                     {.ops = {"policy frag-reasm"}, .slot = 5},
                     // its fourth: v4 DF (a late field of frag);
                     {.ops = {"frag+ecn+df"}, .slot = 6},
                     // its fifth: v6 extension headers and v4 options (two more).
                     {.ops = {"frag+ecn+df+ext+opt"}, .slot = 7}},
      .fuzz_shapes = {gen::frag_complete, gen::frag_past_limit, gen::frag_collide, gen::frag_ecn},
      .kernel_counters = {},
      .kernel_visible = kernel_visible,
      .kernel_expects = {"expect deliver", "expect nodeliver", "expect icmp", "expect noicmp"},
      .kernel_gen = [] { return rc::gen::map(gen::frag_steps({.kernel = true}), gen::render); }};
  for (std::string_view c : kernel::kFragCounters) s.kernel_counters.emplace_back(c);
  for (const auto& m : frag::kFragMutants)
    s.mutants.push_back(
        {std::string(m.name), std::string(m.description),
         m.mutant == frag::FragMutant::kExpireDead || m.mutant == frag::FragMutant::kPreExitOpen
             ? "netns"
         : m.mutant == frag::FragMutant::kDeferKeepsNetnsRef ? "defer"
                                                             : "",
         kPernet,
         m.mutant == frag::FragMutant::kEcnBlind || m.mutant == frag::FragMutant::kDfCleared});
  return s;
}

}  // namespace nv::runner
