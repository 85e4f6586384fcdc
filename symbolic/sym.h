// The symbolic interpretation of model/frag/frag_rule.h: Z3 bit-vectors and
// booleans behind the operators the rule is written with.
//
// Sym is the T of frag_rule.h's templates. SymU<W> is an unsigned W-bit
// integer, SymB a boolean; each is either a constant (folded as the concrete
// interpretation would compute it, so branches on the family disappear) or a
// z3::expr. Comparisons are unsigned, as on uint32_t and uint64_t; Sym::sgt
// is the one signed comparison (high_thresh is a long).
//
// A Recorder owns what evaluating the rule produces besides its result: the
// definitions of the intermediate values the rule names with T::let ("end",
// "end'", "len'", "meat'": fresh constants equal to their expression, so that
// formulas stay shared and readable), and, while recording, every comparison
// between symbolic values, with its operands and its text as written ("end >
// 65535"). symbolic/frag_cases.h turns each recorded comparison into
// boundary cases.
#pragma once

#include <z3++.h>

#include <concepts>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace nv::symbolic {

// One comparison the rule made between symbolic values.
struct Comparison {
  std::string text;  // "end' <= run0.off", as the rule wrote it, with let names
  z3::expr lhs, rhs;
  bool is_signed = false;
  // When the comparison matters: no rule before the one it was made for
  // fired (Decision::rule reports it through Sym::reached).
  z3::expr reached;
};

class Recorder {
 public:
  explicit Recorder(z3::context& ctx) : ctx_(ctx) {}
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  z3::context& ctx() const { return ctx_; }
  // A fresh constant named prefix + name (made unique), defined equal to
  // `value`. Its definition is in definitions().
  z3::expr define(std::string_view name, const z3::expr& value);
  const std::vector<z3::expr>& definitions() const { return definitions_; }

  // Names given by define() from now on start with `prefix`; comparisons are
  // recorded while `record` is set (and deduplicated by text).
  void scope(std::string prefix, bool record) {
    prefix_ = std::move(prefix);
    recording_ = record;
  }
  void note(std::string_view op, const z3::expr& lhs, const z3::expr& rhs, bool is_signed);
  // The comparisons noted since the previous call are reached when `open`.
  void reached(const z3::expr& open);
  const std::vector<Comparison>& comparisons() const { return comparisons_; }

 private:
  z3::context& ctx_;
  std::string prefix_;
  bool recording_ = false;
  std::set<std::string> names_;
  std::vector<z3::expr> definitions_;
  std::vector<Comparison> comparisons_;
  size_t unreached_ = 0;  // comparisons_[unreached_..] await reached()
};

// `e` in infix, with the names of its constants: "off + len", "end % 8".
std::string infix(const z3::expr& e);

class SymB {
 public:
  SymB() = default;
  template <class Bool>
  requires std::same_as<Bool, bool> SymB(Bool value)
      : value_(value) {}  // NOLINT: constants convert implicitly
  SymB(Recorder* rec, z3::expr e) : rec_(rec), e_(std::move(e)) {}

  bool is_const() const { return !e_; }
  bool value() const { return value_; }  // is_const() only
  z3::expr expr(z3::context& ctx) const { return e_ ? *e_ : ctx.bool_val(value_); }
  z3::context& context() const { return e_->ctx(); }  // !is_const() only
  Recorder* recorder() const { return rec_; }

  friend SymB operator&&(const SymB& a, const SymB& b);
  friend SymB operator||(const SymB& a, const SymB& b);
  friend SymB operator!(const SymB& a);

 private:
  Recorder* rec_ = nullptr;
  std::optional<z3::expr> e_;
  bool value_ = false;
};

template <unsigned W>
class SymU {
  static_assert(W == 32 || W == 64);

 public:
  static constexpr uint64_t kMask = W == 64 ? ~uint64_t{0} : (uint64_t{1} << W) - 1;

  SymU() = default;
  template <std::integral I>
  SymU(I value) : value_(uint64_t(value) & kMask) {}  // NOLINT: constants convert implicitly
  SymU(Recorder* rec, z3::expr e) : rec_(rec), e_(std::move(e)) {}

  bool is_const() const { return !e_; }
  uint64_t value() const { return value_; }  // is_const() only
  z3::expr expr(z3::context& ctx) const { return e_ ? *e_ : ctx.bv_val(value_, W); }
  z3::context& context() const { return e_->ctx(); }  // !is_const() only
  Recorder* recorder() const { return rec_; }

  friend SymU operator+(const SymU& a, const SymU& b) {
    return arith(
        a, b, [](uint64_t x, uint64_t y) { return x + y; },
        [](const z3::expr& x, const z3::expr& y) { return x + y; });
  }
  friend SymU operator-(const SymU& a, const SymU& b) {
    return arith(
        a, b, [](uint64_t x, uint64_t y) { return x - y; },
        [](const z3::expr& x, const z3::expr& y) { return x - y; });
  }
  friend SymU operator&(const SymU& a, const SymU& b) {
    return arith(
        a, b, [](uint64_t x, uint64_t y) { return x & y; },
        [](const z3::expr& x, const z3::expr& y) { return x & y; });
  }
  friend SymU operator%(const SymU& a, const SymU& b) {
    return arith(
        a, b, [](uint64_t x, uint64_t y) { return y == 0 ? x : x % y; },
        [](const z3::expr& x, const z3::expr& y) { return z3::urem(x, y); });
  }

  friend SymB operator<(const SymU& a, const SymU& b) {
    return compare(
        "<", a, b, [](uint64_t x, uint64_t y) { return x < y; },
        [](const z3::expr& x, const z3::expr& y) { return z3::ult(x, y); });
  }
  friend SymB operator<=(const SymU& a, const SymU& b) {
    return compare(
        "<=", a, b, [](uint64_t x, uint64_t y) { return x <= y; },
        [](const z3::expr& x, const z3::expr& y) { return z3::ule(x, y); });
  }
  friend SymB operator>(const SymU& a, const SymU& b) {
    return compare(
        ">", a, b, [](uint64_t x, uint64_t y) { return x > y; },
        [](const z3::expr& x, const z3::expr& y) { return z3::ugt(x, y); });
  }
  friend SymB operator>=(const SymU& a, const SymU& b) {
    return compare(
        ">=", a, b, [](uint64_t x, uint64_t y) { return x >= y; },
        [](const z3::expr& x, const z3::expr& y) { return z3::uge(x, y); });
  }
  friend SymB operator==(const SymU& a, const SymU& b) {
    return compare(
        "==", a, b, [](uint64_t x, uint64_t y) { return x == y; },
        [](const z3::expr& x, const z3::expr& y) { return x == y; });
  }
  friend SymB operator!=(const SymU& a, const SymU& b) {
    return compare(
        "!=", a, b, [](uint64_t x, uint64_t y) { return x != y; },
        [](const z3::expr& x, const z3::expr& y) { return x != y; });
  }
  friend SymB signed_gt(const SymU& a, const SymU& b) {
    return compare(
        "> (signed)", a, b, [](uint64_t x, uint64_t y) { return int64_t(x) > int64_t(y); },
        [](const z3::expr& x, const z3::expr& y) { return z3::sgt(x, y); }, true);
  }

 private:
  template <class F, class G>
  static SymU arith(const SymU& a, const SymU& b, F f, G g) {
    if (a.is_const() && b.is_const()) return SymU(f(a.value_, b.value_) & kMask);
    Recorder* rec = a.rec_ ? a.rec_ : b.rec_;
    z3::context& ctx = a.e_ ? a.e_->ctx() : b.e_->ctx();
    return SymU(rec, g(a.expr(ctx), b.expr(ctx)));
  }
  template <class F, class G>
  static SymB compare(std::string_view op, const SymU& a, const SymU& b, F f, G g,
                      bool is_signed = false) {
    if (a.is_const() && b.is_const()) return SymB(bool(f(a.value_, b.value_)));
    Recorder* rec = a.rec_ ? a.rec_ : b.rec_;
    z3::context& ctx = a.e_ ? a.e_->ctx() : b.e_->ctx();
    const z3::expr x = a.expr(ctx), y = b.expr(ctx);
    if (rec) rec->note(op, x, y, is_signed);
    return SymB(rec, g(x, y));
  }

  Recorder* rec_ = nullptr;
  std::optional<z3::expr> e_;
  uint64_t value_ = 0;
};

// The T of frag_rule.h.
struct Sym {
  using U32 = SymU<32>;
  using U64 = SymU<64>;
  using B = SymB;

  static U32 select(const B& c, const U32& a, const U32& b);
  static B sgt(const U64& a, const U64& b) { return signed_gt(a, b); }
  static U64 widen(const U32& x);
  static void reached(const B& open, const B& cond);
  template <class V>
  static V let(std::string_view name, const V& v) {
    if (v.is_const() || !v.recorder()) return v;
    return V(v.recorder(), v.recorder()->define(name, v.expr(v.recorder()->ctx())));
  }
};

// Inputs: fresh named constants.
SymU<32> u32_var(Recorder& rec, const std::string& name);
SymU<64> u64_var(Recorder& rec, const std::string& name);
SymB bool_var(Recorder& rec, const std::string& name);

}  // namespace nv::symbolic
