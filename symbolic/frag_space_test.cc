// The two interpretations of model/frag/frag_rule.h agree: on random points
// near the boundaries, the decision computed on uint32_t/bool, on folded Sym
// constants, and by Z3 on Sym expressions is the same.
#include "symbolic/frag_space.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

namespace nv::symbolic {
namespace {

using frag::Family;
namespace rule = frag::rule;
using rule::Outcome;

struct Point {
  Family family;
  uint32_t off, len;
  bool mf;
  uint64_t high, mem;
  std::vector<std::pair<uint32_t, uint32_t>> runs;
  bool last_in;

  uint32_t qlen() const { return runs.empty() ? 0 : runs.back().second; }
  uint32_t meat() const {
    uint32_t m = 0;
    for (auto [o, e] : runs) m += e - o;
    return m;
  }
  bool first_in() const { return !runs.empty() && runs[0].first == 0; }
};

// A queue satisfying queue_invariant() and a fragment near its boundaries.
Point random_point(std::mt19937& rng) {
  Point p;
  p.family = Family(rng() % 2);
  const int k = int(rng() % 4);
  p.last_in = k > 0 && rng() % 3 == 0;
  uint32_t pos = (rng() % 3) * 8;
  for (int i = 0; i < k; ++i) {
    const uint32_t off = pos;
    uint32_t end = off + 8 * (1 + rng() % 8);
    if (i + 1 == k && p.last_in) end -= rng() % 8;
    p.runs.push_back({off, end});
    pos = end + 8 * (rng() % 3);
  }
  std::vector<uint32_t> marks = {0, 8, 65528, 65535};
  for (auto [o, e] : p.runs) marks.insert(marks.end(), {o, e, o + 8, e + 8});
  const uint32_t start = marks[rng() % marks.size()];
  p.off = rng() % 4 ? start & ~7u : (start + 8 * (rng() % 3)) & ~7u;
  if (p.off > 65528) p.off = 65528;
  const uint32_t target = marks[rng() % marks.size()] + uint32_t(rng() % 3) - 1;
  const uint32_t max_len = max_frag_len(p.family);
  p.len = rng() % 5 == 0 ? rng() % (max_len + 1)
                         : (target > p.off ? std::min(target - p.off, max_len) : rng() % 3);
  p.mf = rng() % 2;
  const uint64_t highs[] = {kDefaultHighThresh, 0, 1, 2000, uint64_t{1} << 63, ~uint64_t{0}};
  p.high = highs[rng() % 6];
  p.mem = rng() % 3 ? rng() % 3000 : 0;
  return p;
}

bool truncated(const Point& p) {
  return p.family == Family::kV6 && p.off == 0 && p.mf && p.len == 0;
}

template <class T>
rule::Decision<T> decide_with(const Point& p) {
  rule::QueueState<T> q;
  for (auto [o, e] : p.runs) q.runs.push_back({o, e});
  q.first_in = p.first_in();
  q.last_in = p.last_in;
  q.len = p.qlen();
  q.meat = p.meat();
  const rule::Input<T> in{p.family, p.off, p.len, p.mf};
  rule::Decision<T> d;
  rule::admit<T>(d, in, typename T::B(truncated(p)), p.high, p.mem);
  rule::queue<T>(d, in, q);
  return d;
}

TEST(FragRule, FoldedSymConstantsDecideAsConcrete) {
  std::mt19937 rng(5);
  std::set<Outcome> seen;
  for (int i = 0; i < 20000; ++i) {
    const Point p = random_point(rng);
    const rule::Decision<rule::Concrete> c = decide_with<rule::Concrete>(p);
    seen.insert(c.outcome());
    const rule::Decision<Sym> s = decide_with<Sym>(p);
    for (int o = 0; o < rule::kOutcomes; ++o) {
      ASSERT_TRUE(s.fired(Outcome(o)).is_const());
      ASSERT_EQ(s.fired(Outcome(o)).value(), c.fired(Outcome(o))) << "point " << i;
    }
    ASSERT_EQ(s.end.value(), c.end);
    ASSERT_EQ(s.len.value(), c.len);
    ASSERT_EQ(s.meat.value(), c.meat);
    for (int k = 0; k < rule::kPlacements; ++k) ASSERT_EQ(s.placed[k].value(), c.placed[k]);
  }
  EXPECT_EQ(seen.size(), size_t(rule::kOutcomes)) << "the points reach every outcome";
}

TEST(FragRule, Z3DecidesAsConcrete) {
  std::mt19937 rng(6);
  for (Family family : {Family::kV4, Family::kV6}) {
    for (int k = 0; k <= kMaxRuns; ++k) {
      z3::context ctx;
      Recorder rec(ctx);
      const rule::QueueState<Sym> q = queue_var(rec, k);
      const SymFragment f = fragment_var(rec, family, "");
      const SymU<64> high = u64_var(rec, "high"), mem = u64_var(rec, "mem");
      const rule::Decision<Sym> d = decide(f, high, mem, q);
      z3::solver s(ctx, "QF_BV");
      for (const z3::expr& def : rec.definitions()) s.add(def);
      for (int n = 0; n < 60;) {
        Point p = random_point(rng);
        if (p.family != family || int(p.runs.size()) != k) continue;
        ++n;
        s.push();
        auto is = [&](const auto& sym, uint64_t v) {
          s.add(sym.expr(ctx) == ctx.bv_val(v, sym.expr(ctx).get_sort().bv_size()));
        };
        is(f.off, p.off);
        is(f.len, p.len);
        s.add(f.mf.expr(ctx) == ctx.bool_val(p.mf));
        is(high, p.high);
        is(mem, p.mem);
        for (int i = 0; i < k; ++i) {
          is(q.runs[i].off, p.runs[i].first);
          is(q.runs[i].end, p.runs[i].second);
        }
        is(q.len, p.qlen());
        is(q.meat, p.meat());
        s.add(q.first_in.expr(ctx) == ctx.bool_val(p.first_in()));
        s.add(q.last_in.expr(ctx) == ctx.bool_val(p.last_in));
        ASSERT_EQ(s.check(), z3::sat);
        const z3::model m = s.get_model();
        const rule::Decision<rule::Concrete> c = decide_with<rule::Concrete>(p);
        for (int o = 0; o < rule::kOutcomes; ++o)
          ASSERT_EQ(truth(m, d.fired(Outcome(o)).expr(ctx)), c.fired(Outcome(o)))
              << frag::family_name(family) << " off=" << p.off << " len=" << p.len;
        ASSERT_EQ(value(m, d.end.expr(ctx)), c.end);
        ASSERT_EQ(value(m, d.len.expr(ctx)), c.len);
        // The point is one queue_invariant() admits.
        s.add(queue_invariant(ctx, family, q));
        ASSERT_EQ(s.check(), z3::sat);
        s.pop();
      }
    }
  }
}

TEST(FragSpace, TabulatedFunctionsEqualTheConcreteOnes) {
  z3::context ctx;
  const z3::expr len = ctx.bv_const("len", 32);
  frag::Fragment first;
  first.family = Family::kV6;
  first.len = max_frag_len(Family::kV6);
  std::vector<uint8_t> bytes(first.len);
  frag::fill_payload(first, bytes.data());
  for (Family family : {Family::kV4, Family::kV6}) {
    const z3::expr ts = truesize(ctx, family, len);
    const z3::expr tr = v6_truncated(ctx, len);
    for (uint32_t n = 0; n <= max_frag_len(family); n += (n < 1200 || n > 65400) ? 1 : 97) {
      const z3::expr at = ctx.bv_val(n, 32);
      z3::expr_vector from(ctx), to(ctx);
      from.push_back(len);
      to.push_back(at);
      EXPECT_EQ(z3::expr(ts).substitute(from, to).simplify().get_numeral_uint64(),
                frag::frag_truesize(family, n))
          << n;
      EXPECT_EQ(z3::expr(tr).substitute(from, to).simplify().is_true(),
                frag::v6_first_fragment_truncated(frag::kDefaultProto, bytes.data(), n))
          << n;
    }
  }
}

}  // namespace
}  // namespace nv::symbolic
