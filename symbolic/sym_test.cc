#include "symbolic/sym.h"

#include <gtest/gtest.h>

#include <random>

namespace nv::symbolic {
namespace {

TEST(Sym, ConstantsFoldAsConcreteIntegersDo) {
  std::mt19937 rng(1);
  for (int i = 0; i < 2000; ++i) {
    const uint32_t a = rng() >> (rng() % 32), b = rng() >> (rng() % 32);
    const SymU<32> x = a, y = b;
    EXPECT_EQ((x + y).value(), uint32_t(a + b));
    EXPECT_EQ((x - y).value(), uint32_t(a - b));
    EXPECT_EQ((x & y).value(), a & b);
    if (b != 0) {
      EXPECT_EQ((x % y).value(), a % b);
    }
    EXPECT_EQ((x < y).value(), a < b);
    EXPECT_EQ((x <= y).value(), a <= b);
    EXPECT_EQ((x > y).value(), a > b);
    EXPECT_EQ((x >= y).value(), a >= b);
    EXPECT_EQ((x == y).value(), a == b);
    EXPECT_EQ((x != y).value(), a != b);
    const uint64_t c = (uint64_t(rng()) << 32) | rng(), d = (uint64_t(rng()) << 32) | rng();
    EXPECT_EQ(Sym::sgt(SymU<64>(c), SymU<64>(d)).value(), int64_t(c) > int64_t(d));
    EXPECT_EQ(Sym::widen(x).value(), uint64_t(a));
  }
}

TEST(Sym, SymbolicMatchesConcreteUnderAModel) {
  z3::context ctx;
  Recorder rec(ctx);
  const SymU<32> x = u32_var(rec, "x"), y = u32_var(rec, "y");
  const SymU<64> w = u64_var(rec, "w"), v = u64_var(rec, "v");
  const z3::expr sum = (x + y).expr(ctx), masked = (x & ~7u).expr(ctx);
  const z3::expr lt = (x < y).expr(ctx), sg = Sym::sgt(w, v).expr(ctx);
  const z3::expr sel = Sym::select(x > y, x, y).expr(ctx);
  std::mt19937 rng(2);
  for (int i = 0; i < 200; ++i) {
    const uint32_t a = rng(), b = rng();
    const uint64_t c = (uint64_t(rng()) << 32) | rng(), d = (uint64_t(rng()) << 32) | rng();
    z3::solver s(ctx);
    s.add(x.expr(ctx) == ctx.bv_val(a, 32) && y.expr(ctx) == ctx.bv_val(b, 32) &&
          w.expr(ctx) == ctx.bv_val(c, 64) && v.expr(ctx) == ctx.bv_val(d, 64));
    ASSERT_EQ(s.check(), z3::sat);
    const z3::model m = s.get_model();
    EXPECT_EQ(m.eval(sum, true).get_numeral_uint64(), uint32_t(a + b));
    EXPECT_EQ(m.eval(masked, true).get_numeral_uint64(), a & ~7u);
    EXPECT_EQ(m.eval(lt, true).is_true(), a < b);
    EXPECT_EQ(m.eval(sg, true).is_true(), int64_t(c) > int64_t(d));
    EXPECT_EQ(m.eval(sel, true).get_numeral_uint64(), a > b ? a : b);
  }
}

TEST(Sym, BooleansFoldAroundConstants) {
  z3::context ctx;
  Recorder rec(ctx);
  const SymB p = bool_var(rec, "p");
  EXPECT_TRUE((SymB(false) && p).is_const());
  EXPECT_FALSE((SymB(false) && p).value());
  EXPECT_TRUE((SymB(true) || p).value());
  EXPECT_FALSE((SymB(true) && p).is_const());
  EXPECT_TRUE((!SymB(true)).is_const());
}

TEST(Sym, RecordsComparisonsWhileRecordingWithTheirText) {
  z3::context ctx;
  Recorder rec(ctx);
  const SymU<32> off = u32_var(rec, "off"), len = u32_var(rec, "len");
  (void)(off + len > 65535);  // not recorded: recording is off
  rec.scope("", true);
  const SymU<32> end = Sym::let("end", off + len);
  (void)(end > 65535);
  (void)(end % 8 != 0);
  (void)(end > 65535);      // recorded once
  (void)(SymU<32>(3) < 4);  // constants fold, nothing to record
  ASSERT_EQ(rec.comparisons().size(), 2u);
  EXPECT_EQ(rec.comparisons()[0].text, "end > 65535");
  EXPECT_EQ(rec.comparisons()[1].text, "end % 8 != 0");
  ASSERT_EQ(rec.definitions().size(), 1u);
  EXPECT_EQ(infix(rec.definitions()[0].arg(1)), "off + len");
  EXPECT_EQ(infix((end & ~7u).expr(ctx)), "end & ~7");
}

TEST(Sym, LetNamesAreUniqueWithinAScope) {
  z3::context ctx;
  Recorder rec(ctx);
  const SymU<32> x = u32_var(rec, "x");
  rec.scope("p1.", false);
  EXPECT_EQ(infix(Sym::let("end", x + 1).expr(ctx)), "p1.end");
  EXPECT_EQ(infix(Sym::let("end", x + 2).expr(ctx)), "p1.end#2");
  EXPECT_TRUE(Sym::let("end", SymU<32>(5)).is_const());
}

TEST(Sym, ReachedMarksTheComparisonsSinceThePreviousRule) {
  z3::context ctx;
  Recorder rec(ctx);
  rec.scope("", true);
  const SymU<32> x = u32_var(rec, "x");
  const SymB first = x == 0;
  Sym::reached(true, first);
  const SymB open = !first;
  const SymB second = x > 8;
  Sym::reached(open, second);
  ASSERT_EQ(rec.comparisons().size(), 2u);
  EXPECT_TRUE(rec.comparisons()[0].reached.is_true());
  EXPECT_TRUE(z3::eq(rec.comparisons()[1].reached, open.expr(ctx)));
}

}  // namespace
}  // namespace nv::symbolic
