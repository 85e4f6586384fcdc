#include "symbolic/frag_proofs.h"

#include <gtest/gtest.h>

#include <set>

#include "model/frag/frag_model.h"
#include "trace/parser.h"
#include "trace/registry.h"

namespace nv::symbolic {
namespace {

using frag::Family;
using frag::rule::Outcome;

TEST(FragProofs, NamesAreUnique) {
  std::set<std::string> names;
  for (const Proof& p : proofs()) EXPECT_TRUE(names.insert(p.name).second) << p.name;
  EXPECT_EQ(names.size(), 7u);
}

TEST(FragProofs, AFalseClaimFailsWithATraceThatReproducesIt) {
  // False: the last fragment [65528, 65535) of a v6 datagram is queued.
  const Proof wrong{"v6-never-ends-at-65535",
                    "no queued v6 fragment ends at 65535",
                    {Family::kV6},
                    1,
                    [](const ProofPoint& p) {
                      const z3::expr end = p.d.end.expr(p.ctx);
                      return std::vector<Claim>{
                          {"queued", p.fired(Outcome::kQueued), end != p.ctx.bv_val(65535, 32)}};
                    }};
  const ProofResult r = prove(wrong);
  EXPECT_FALSE(r.proved);
  EXPECT_EQ(r.report.rfind("FAILED v6-never-ends-at-65535 (queued, v6, ", 0), 0u) << r.report;
  ASSERT_FALSE(r.counterexample_trace.empty());
  trace::Registry registry;
  trace::register_core_ops(registry);
  frag::register_ops(registry);
  const trace::ParseResult parsed = trace::parse(r.counterexample_trace, registry);
  ASSERT_FALSE(parsed.error) << r.counterexample_trace;
  frag::FragModel model;
  std::vector<trace::Event> last;
  for (const trace::Op& op : parsed.trace.ops) {
    last.clear();
    model.apply(op, last);
  }
  EXPECT_TRUE(last.empty()) << "the fragment is queued, silently";
  const trace::Op& f = parsed.trace.ops.back();
  EXPECT_EQ(f.u(frag::fields::kOff) + f.u(frag::fields::kLen), 65535u);
}

TEST(FragProofs, AClaimAboutNothingIsVacuous) {
  const Proof vacuous{
      "oversize-v6", "v6 never reaches rule 14", {Family::kV6}, 1, [](const ProofPoint& p) {
        return std::vector<Claim>{{"oversize", p.fired(Outcome::kOversize), p.ctx.bool_val(false)}};
      }};
  const ProofResult r = prove(vacuous);
  EXPECT_FALSE(r.proved);
  EXPECT_NE(r.report.find("vacuous"), std::string::npos) << r.report;
}

}  // namespace
}  // namespace nv::symbolic
