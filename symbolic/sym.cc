#include "symbolic/sym.h"

namespace nv::symbolic {

z3::expr Recorder::define(std::string_view name, const z3::expr& value) {
  std::string full = prefix_ + std::string(name);
  for (int n = 2; names_.count(full); ++n)
    full = prefix_ + std::string(name) + "#" + std::to_string(n);
  names_.insert(full);
  z3::expr c = ctx_.constant(full.c_str(), value.get_sort());
  definitions_.push_back(c == value);
  return c;
}

void Recorder::note(std::string_view op, const z3::expr& lhs, const z3::expr& rhs, bool is_signed) {
  if (!recording_) return;
  std::string text = infix(lhs) + " " + std::string(op) + " " + infix(rhs);
  for (const Comparison& c : comparisons_)
    if (c.text == text) return;
  comparisons_.push_back(Comparison{text, lhs, rhs, is_signed, ctx_.bool_val(true)});
}

void Recorder::reached(const z3::expr& open) {
  for (; unreached_ < comparisons_.size(); ++unreached_) comparisons_[unreached_].reached = open;
}

namespace {

std::string numeral(const z3::expr& e) {
  uint64_t v = e.get_numeral_uint64();
  const unsigned width = e.get_sort().bv_size();
  const uint64_t mask = width == 64 ? ~uint64_t{0} : (uint64_t{1} << width) - 1;
  if (v > 0xffff && ((~v & mask) <= 0xffff)) return "~" + std::to_string(~v & mask);
  return std::to_string(v);
}

std::string operand(const z3::expr& e) {
  std::string s = infix(e);
  return e.is_app() && e.num_args() >= 2 ? "(" + s + ")" : s;
}

}  // namespace

std::string infix(const z3::expr& e) {
  if (e.is_numeral()) return numeral(e);
  if (!e.is_app()) return e.to_string();
  if (e.num_args() == 0) return e.decl().name().str();
  const char* op = nullptr;
  switch (e.decl().decl_kind()) {
    case Z3_OP_BADD:
      op = " + ";
      break;
    case Z3_OP_BSUB:
      op = " - ";
      break;
    case Z3_OP_BAND:
      op = " & ";
      break;
    case Z3_OP_BUREM:
    case Z3_OP_BUREM_I:
      op = " % ";
      break;
    case Z3_OP_ZERO_EXT:
      return infix(e.arg(0));
    default:
      return e.to_string();
  }
  std::string s = operand(e.arg(0));
  for (unsigned i = 1; i < e.num_args(); ++i) s += op + operand(e.arg(i));
  return s;
}

SymB operator&&(const SymB& a, const SymB& b) {
  if (a.is_const()) return a.value() ? b : SymB(false);
  if (b.is_const()) return b.value() ? a : SymB(false);
  return SymB(a.rec_ ? a.rec_ : b.rec_, *a.e_ && *b.e_);
}

SymB operator||(const SymB& a, const SymB& b) {
  if (a.is_const()) return a.value() ? SymB(true) : b;
  if (b.is_const()) return b.value() ? SymB(true) : a;
  return SymB(a.rec_ ? a.rec_ : b.rec_, *a.e_ || *b.e_);
}

SymB operator!(const SymB& a) {
  if (a.is_const()) return SymB(!a.value());
  return SymB(a.rec_, !*a.e_);
}

SymU<32> Sym::select(const SymB& c, const SymU<32>& a, const SymU<32>& b) {
  if (c.is_const()) return c.value() ? a : b;
  if (a.is_const() && b.is_const() && a.value() == b.value()) return a;
  // Values made without a Recorder (a proof's own constants) have none.
  z3::context& ctx = c.context();
  Recorder* rec = c.recorder() ? c.recorder() : a.recorder() ? a.recorder() : b.recorder();
  return SymU<32>(rec, z3::ite(c.expr(ctx), a.expr(ctx), b.expr(ctx)));
}

SymU<64> Sym::widen(const SymU<32>& x) {
  if (x.is_const()) return SymU<64>(x.value());
  return SymU<64>(x.recorder(), z3::zext(x.expr(x.context()), 32));
}

void Sym::reached(const SymB& open, const SymB& cond) {
  Recorder* rec = open.recorder() ? open.recorder() : cond.recorder();
  if (rec) rec->reached(open.expr(rec->ctx()));
}

SymU<32> u32_var(Recorder& rec, const std::string& name) {
  return SymU<32>(&rec, rec.ctx().bv_const(name.c_str(), 32));
}

SymU<64> u64_var(Recorder& rec, const std::string& name) {
  return SymU<64>(&rec, rec.ctx().bv_const(name.c_str(), 64));
}

SymB bool_var(Recorder& rec, const std::string& name) {
  return SymB(&rec, rec.ctx().bool_const(name.c_str()));
}

}  // namespace nv::symbolic
