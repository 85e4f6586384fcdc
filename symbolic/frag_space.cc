#include "symbolic/frag_space.h"

#include <vector>

namespace nv::symbolic {

using frag::Family;
namespace rule = frag::rule;

namespace {

// The step function f over 0..max as an ite chain on x: equal to f(x) for
// every x <= max (and to f(max) above).
template <class F>
z3::expr tabulate(z3::context& ctx, const z3::expr& x, uint32_t max, F f, unsigned width) {
  struct Step {
    uint32_t last;
    uint64_t value;
  };
  std::vector<Step> steps;
  for (uint32_t v = 0; v <= max; ++v) {
    const uint64_t y = f(v);
    if (!steps.empty() && steps.back().value == y)
      steps.back().last = v;
    else
      steps.push_back({v, y});
  }
  auto val = [&](uint64_t y) { return width == 1 ? ctx.bool_val(y != 0) : ctx.bv_val(y, width); };
  z3::expr r = val(steps.back().value);
  for (size_t i = steps.size() - 1; i-- > 0;)
    r = z3::ite(z3::ule(x, ctx.bv_val(steps[i].last, 32)), val(steps[i].value), r);
  return r;
}

}  // namespace

z3::expr truesize(z3::context& ctx, Family f, const z3::expr& len) {
  return tabulate(
      ctx, len, max_frag_len(f), [f](uint32_t n) { return frag::frag_truesize(f, n); }, 64);
}

z3::expr v6_truncated(z3::context& ctx, const z3::expr& len) {
  const uint32_t max = max_frag_len(Family::kV6);
  frag::Fragment first;
  first.family = Family::kV6;
  first.len = max;
  std::vector<uint8_t> bytes(max);
  frag::fill_payload(first, bytes.data());
  return tabulate(
      ctx, len, max,
      [&](uint32_t n) {
        return uint64_t(frag::v6_first_fragment_truncated(frag::kDefaultProto, bytes.data(), n));
      },
      1);
}

z3::expr SymFragment::well_formed(z3::context& ctx) const {
  const z3::expr o = off.expr(ctx), l = len.expr(ctx);
  return z3::urem(o, ctx.bv_val(8, 32)) == 0 && z3::ule(o, ctx.bv_val(kMaxOff, 32)) &&
         z3::ule(l, ctx.bv_val(max_frag_len(family), 32));
}

SymFragment fragment_var(Recorder& rec, Family f, const std::string& prefix) {
  return {f, u32_var(rec, prefix + "off"), u32_var(rec, prefix + "len"),
          bool_var(rec, prefix + "mf")};
}

rule::QueueState<Sym> queue_var(Recorder& rec, int runs) {
  rule::QueueState<Sym> q;
  for (int i = 0; i < runs; ++i) {
    const std::string r = "run" + std::to_string(i) + ".";
    q.runs.push_back({u32_var(rec, r + "off"), u32_var(rec, r + "end")});
  }
  q.first_in = bool_var(rec, "q.first_in");
  q.last_in = bool_var(rec, "q.last_in");
  q.len = u32_var(rec, "q.len");
  q.meat = u32_var(rec, "q.meat");
  return q;
}

z3::expr queue_invariant(z3::context& ctx, Family f, const rule::QueueState<Sym>& q) {
  auto bv = [&](uint64_t v) { return ctx.bv_val(v, 32); };
  const z3::expr first_in = q.first_in.expr(ctx), last_in = q.last_in.expr(ctx);
  const z3::expr len = q.len.expr(ctx), meat = q.meat.expr(ctx);
  const uint32_t max_end = f == Family::kV4 ? kMaxOff + max_frag_len(f) : 65535;
  z3::expr inv = ctx.bool_val(true);
  if (q.runs.empty()) return !first_in && !last_in && len == 0 && meat == 0;
  z3::expr sum = bv(0);
  for (size_t i = 0; i < q.runs.size(); ++i) {
    const z3::expr off = q.runs[i].off.expr(ctx), end = q.runs[i].end.expr(ctx);
    const bool last = i + 1 == q.runs.size();
    inv = inv && z3::urem(off, bv(8)) == 0 && z3::ule(off, bv(kMaxOff)) && z3::ult(off, end) &&
          z3::ule(end, bv(max_end));
    inv = inv && (z3::urem(end, bv(8)) == 0 || (last ? last_in : ctx.bool_val(false)));
    if (!last) inv = inv && z3::ule(end, q.runs[i + 1].off.expr(ctx));
    sum = sum + (end - off);
  }
  return inv && len == q.runs.back().end.expr(ctx) && first_in == (q.runs[0].off.expr(ctx) == 0) &&
         meat == sum;
}

rule::Decision<Sym> decide(const SymFragment& f, const SymU<64>& high_thresh, const SymU<64>& mem,
                           const rule::QueueState<Sym>& q) {
  Recorder* rec = f.off.recorder();
  const SymB truncated = f.family == Family::kV6
                             ? SymB(rec, v6_truncated(rec->ctx(), f.len.expr(rec->ctx())))
                             : SymB(false);
  rule::Decision<Sym> d;
  rule::admit<Sym>(d, f.input(), truncated, high_thresh, mem);
  rule::queue<Sym>(d, f.input(), q);
  return d;
}

uint64_t value(const z3::model& m, const z3::expr& e) {
  return m.eval(e, true).get_numeral_uint64();
}

bool truth(const z3::model& m, const z3::expr& e) {
  return m.eval(e, true).is_true();
}

}  // namespace nv::symbolic
