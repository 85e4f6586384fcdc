#include "symbolic/frag_cases.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>

#include "symbolic/frag_space.h"
#include "symbolic/frag_witness.h"
#include "trace/printer.h"

namespace nv::symbolic {

using frag::Family;
namespace rule = frag::rule;
using rule::Outcome;
using rule::Placement;

namespace {

struct Shape {
  const char* name;
  const char* about;
  std::vector<Placement> priors;  // how each earlier fragment is queued
};

const Shape kShapes[] = {
    {"single", "the fragment under test alone", {}},
    {"pair", "one queued fragment, then the fragment under test", {Placement::kFirst}},
    {"run",
     "two fragments queued in order (one run), then the fragment under test",
     {Placement::kFirst, Placement::kAppend}},
    {"two-runs",
     "two fragments, the second queued below the first (two runs, adjacent or not), then the "
     "fragment under test",
     {Placement::kFirst, Placement::kBefore}},
};

bool placed_outcome(Outcome o) {
  return o == Outcome::kQueued || o == Outcome::kReassembled || o == Outcome::kOversize;
}

// An outcome, and for those that queue the fragment, its placement.
struct Label {
  std::string name;
  Outcome outcome;
  std::optional<Placement> placement;
};

std::vector<Label> labels() {
  std::vector<Label> out;
  for (int i = 0; i < rule::kOutcomes; ++i) {
    const Outcome o = Outcome(i);
    if (!placed_outcome(o)) {
      out.push_back({std::string(rule::outcome_name(o)), o, std::nullopt});
      continue;
    }
    for (int p = 0; p < rule::kPlacements; ++p)
      out.push_back({std::string(rule::outcome_name(o)) + "-" +
                         std::string(rule::placement_name(Placement(p))),
                     o, Placement(p)});
  }
  return out;
}

// Decided without looking at the queued runs, so not crossed with relations.
bool ignores_runs(Outcome o) {
  return o == Outcome::kWhole || o == Outcome::kV6Truncated || o == Outcome::kMemLimit ||
         o == Outcome::kV6TooBig || o == Outcome::kV6BadLen;
}

// Allen's interval relations of x = [xo, xe) to y = [yo, ye).
struct Relation {
  const char* name;
  z3::expr (*holds)(const z3::expr& xo, const z3::expr& xe, const z3::expr& yo, const z3::expr& ye);
};

const Relation kAllen[] = {
    {"before", [](auto&, auto& xe, auto& yo, auto&) { return z3::ult(xe, yo); }},
    {"meets", [](auto&, auto& xe, auto& yo, auto&) { return xe == yo; }},
    {"overlaps", [](auto& xo, auto& xe, auto& yo,
                    auto& ye) { return z3::ult(xo, yo) && z3::ult(yo, xe) && z3::ult(xe, ye); }},
    {"starts", [](auto& xo, auto& xe, auto& yo, auto& ye) { return xo == yo && z3::ult(xe, ye); }},
    {"during",
     [](auto& xo, auto& xe, auto& yo, auto& ye) { return z3::ult(yo, xo) && z3::ult(xe, ye); }},
    {"finishes",
     [](auto& xo, auto& xe, auto& yo, auto& ye) { return z3::ult(yo, xo) && xe == ye; }},
    {"equals", [](auto& xo, auto& xe, auto& yo, auto& ye) { return xo == yo && xe == ye; }},
    {"finished-by",
     [](auto& xo, auto& xe, auto& yo, auto& ye) { return z3::ult(xo, yo) && xe == ye; }},
    {"contains",
     [](auto& xo, auto& xe, auto& yo, auto& ye) { return z3::ult(xo, yo) && z3::ult(ye, xe); }},
    {"started-by",
     [](auto& xo, auto& xe, auto& yo, auto& ye) { return xo == yo && z3::ult(ye, xe); }},
    {"overlapped-by",
     [](auto& xo, auto& xe, auto& yo, auto& ye) {
       return z3::ult(yo, xo) && z3::ult(xo, ye) && z3::ult(ye, xe);
     }},
    {"met-by", [](auto& xo, auto&, auto&, auto& ye) { return xo == ye; }},
    {"after", [](auto& xo, auto&, auto&, auto& ye) { return z3::ult(ye, xo); }},
};

// One shape of one family, evaluated symbolically.
struct Scenario {
  Scenario(z3::context& c, Family f, const Shape& s) : ctx(c), rec(c), family(f), shape(s) {}

  z3::context& ctx;
  Recorder rec;
  Family family;
  const Shape& shape;
  std::vector<SymFragment> frags;  // earlier fragments, then the one under test
  SymU<64> high;
  z3::expr base = ctx.bool_val(true);
  rule::QueueState<Sym> state;  // what the fragment under test finds
  std::optional<rule::Decision<Sym>> last;
  std::vector<SymU<32>> run_joints;  // for "run": where its two fragments meet
};

void build(Scenario& sc) {
  z3::context& ctx = sc.ctx;
  Recorder& rec = sc.rec;
  rec.scope("", false);
  sc.high = u64_var(rec, "high");
  rule::QueueState<Sym> q;
  SymU<64> mem = 0;
  for (size_t i = 0; i < sc.shape.priors.size(); ++i) {
    const std::string name = "p" + std::to_string(i + 1) + ".";
    SymFragment p = fragment_var(rec, sc.family, name);
    sc.base = sc.base && p.well_formed(ctx);
    rec.scope(name, false);
    const rule::Decision<Sym> d = decide(p, sc.high, mem, q);
    const Placement where = sc.shape.priors[i];
    sc.base = sc.base && d.fired(Outcome::kQueued).expr(ctx) && d.placed[int(where)].expr(ctx);
    mem = mem + (i == 0 ? frag::kQueueTruesize[int(sc.family)] : 0) +
          SymU<64>(&rec, truesize(ctx, sc.family, p.len.expr(ctx)));
    const rule::Run<Sym> run{p.off, d.end};
    switch (where) {
      case Placement::kFirst:
      case Placement::kAfter:
        q.runs.push_back(run);
        break;
      case Placement::kAppend:
        sc.run_joints.push_back(q.runs.back().end);
        q.runs.back().end = d.end;
        break;
      case Placement::kBefore:  // shapes place it below a single run
        q.runs.insert(q.runs.begin(), run);
        break;
    }
    q.first_in = d.first_in;
    q.last_in = d.last_in;
    q.len = d.len;
    q.meat = d.meat;
    sc.frags.push_back(p);
  }
  // Name what the fragment under test finds, for the comparisons' texts.
  rec.scope("", false);
  for (size_t i = 0; i < q.runs.size(); ++i) {
    const std::string r = "run" + std::to_string(i) + ".";
    sc.state.runs.push_back(
        {Sym::let(r + "off", q.runs[i].off), Sym::let(r + "end", q.runs[i].end)});
  }
  sc.state.first_in = Sym::let("q.first_in", q.first_in);
  sc.state.last_in = Sym::let("q.last_in", q.last_in);
  sc.state.len = Sym::let("q.len", q.len);
  sc.state.meat = Sym::let("q.meat", q.meat);
  mem = Sym::let("mem", mem);
  SymFragment f = fragment_var(rec, sc.family, "");
  sc.base = sc.base && f.well_formed(ctx);
  sc.frags.push_back(f);
  rec.scope("", true);
  sc.last = decide(f, sc.high, mem, sc.state);
  rec.scope("", false);
  for (const z3::expr& def : rec.definitions()) sc.base = sc.base && def;
}

struct Case {
  std::string name;
  z3::expr constraint;
  bool free_high;  // otherwise high_thresh is the default
};

z3::expr label_holds(const Scenario& sc, const Label& l) {
  z3::expr e = sc.last->fired(l.outcome).expr(sc.ctx);
  if (l.placement) e = e && sc.last->placed[int(*l.placement)].expr(sc.ctx);
  return e;
}

// The relations the shape distinguishes, each with its constraint.
std::vector<std::pair<std::string, z3::expr>> relations(const Scenario& sc) {
  z3::context& ctx = sc.ctx;
  const z3::expr xo = sc.frags.back().off.expr(ctx), xe = sc.last->end.expr(ctx);
  std::vector<std::pair<std::string, z3::expr>> out;
  const auto& runs = sc.state.runs;
  auto allen = [&](const Relation& r, size_t i) {
    return r.holds(xo, xe, runs[i].off.expr(ctx), runs[i].end.expr(ctx));
  };
  if (runs.size() == 1) {
    for (const Relation& r : kAllen) {
      out.emplace_back(r.name, allen(r, 0));
      if (sc.run_joints.empty()) continue;
      const z3::expr joint = sc.run_joints[0].expr(ctx);
      out.emplace_back(std::string(r.name) + "-straddling",
                       allen(r, 0) && z3::ult(xo, joint) && z3::ult(joint, xe));
    }
  } else if (runs.size() == 2) {
    for (const Relation& r0 : kAllen)
      for (const Relation& r1 : kAllen)
        out.emplace_back(std::string(r0.name) + "-" + r1.name, allen(r0, 0) && allen(r1, 1));
  }
  return out;
}

// Boundaries of one comparison: its operands equal, the left one less, one
// more; for "x % m" against a constant, x a multiple of m, one more, one
// short.
std::vector<std::pair<std::string, z3::expr>> boundaries(const Comparison& c) {
  const z3::expr& a = c.lhs;
  const z3::expr& b = c.rhs;
  if (a.is_app() &&
      (a.decl().decl_kind() == Z3_OP_BUREM || a.decl().decl_kind() == Z3_OP_BUREM_I) &&
      a.arg(1).is_numeral()) {
    const z3::expr x = a.arg(0), m = a.arg(1);
    return {{"multiple", z3::urem(x, m) == 0},
            {"one-above", z3::urem(x, m) == 1},
            {"one-short", z3::urem(x, m) == m - 1}};
  }
  if (c.is_signed)
    return {{"equal", a == b},
            {"one-below", a + 1 == b && z3::slt(a, b)},
            {"one-above", a == b + 1 && z3::sgt(a, b)}};
  return {{"equal", a == b},
          {"one-below", a + 1 == b && z3::ult(a, b)},
          {"one-above", a == b + 1 && z3::ugt(a, b)}};
}

std::string slug(const std::string& text) {
  std::string out;
  std::string word;
  auto flush = [&] {
    if (word.empty()) return;
    static const std::map<std::string, std::string> kOps = {
        {"<", "lt"},  {"<=", "le"},  {">", "gt"},    {">=", "ge"}, {"==", "eq"},
        {"!=", "ne"}, {"+", "plus"}, {"-", "minus"}, {"%", "mod"}, {"(signed)", "signed"}};
    auto it = kOps.find(word);
    std::string w = it != kOps.end() ? it->second : word;
    for (char& ch : w)
      if (ch == '\'') ch = 'p';
    std::string clean;
    for (char ch : w)
      if (std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_') clean += ch;
    if (!out.empty()) out += '-';
    out += clean;
    word.clear();
  };
  for (char ch : text) {
    if (ch == ' ' || ch == '(' || ch == ')') {
      if (ch == ')' && word == "signed") word = "(signed)";
      flush();
    } else {
      word += ch;
    }
  }
  flush();
  return out;
}

std::vector<Case> boundary_cases(const Scenario& sc) {
  std::vector<Case> out;
  std::set<std::pair<std::string, std::string>> seen;
  for (const Comparison& c : sc.rec.comparisons()) {
    std::string a = infix(c.lhs), b = infix(c.rhs);
    if (!seen.insert(std::minmax(a, b)).second) continue;
    const bool mentions_high =
        a.find("high") != std::string::npos || b.find("high") != std::string::npos;
    for (auto& [side, e] : boundaries(c))
      out.push_back({"boundary-" + slug(c.text) + "-" + side, c.reached && e, mentions_high});
  }
  return out;
}

struct Solved {
  Witness witness;
  Outcome outcome;
  std::optional<Placement> placement;
  uint32_t end = 0;  // the fragment under test's end after trimming
};

// Solves cases with one incremental bit-blasting solver ("QF_BV": the
// scenario is bit-blasted once, each case adds a few clauses in a scope).
class Solver {
 public:
  explicit Solver(Scenario& sc) : sc_(sc), s_(sc.ctx, "QF_BV") { s_.add(sc.base); }

  // The lexicographically smallest witness of the case (off, len, then mf
  // false before true, of each fragment in arrival order, then
  // high_thresh), or nothing when the case is infeasible. Each input is
  // fixed bit by bit from the most significant, a 1 kept only if 0 is
  // infeasible, so the answer does not depend on the solver's search.
  std::optional<Solved> solve(const Case& c) {
    z3::context& ctx = sc_.ctx;
    s_.push();
    s_.add(constraint(c));
    if (s_.check() != z3::sat) {
      s_.pop();
      return std::nullopt;
    }
    z3::model m = s_.get_model();
    unsigned scopes = 0;
    auto pin = [&](const z3::expr& c) {
      s_.push();
      s_.add(c);
      ++scopes;
    };
    // Pins `c` if the case stays feasible with it.
    auto try_pin = [&](const z3::expr& c) {
      s_.push();
      s_.add(c);
      if (s_.check() == z3::sat) {
        m = s_.get_model();
        ++scopes;
        return true;
      }
      s_.pop();
      return false;
    };
    auto fix = [&](const z3::expr& x) {
      if (x.is_bool()) {
        if (!truth(m, x))
          pin(!x);
        else if (!try_pin(!x))
          pin(x);
        return;
      }
      // Often the smallest value is 0. Otherwise from the top bit down: a 0
      // in the current model is kept, a 1 only if 0 there is infeasible.
      if (value(m, x) == 0) return pin(x == 0);
      if (try_pin(x == 0)) return;
      for (unsigned k = x.get_sort().bv_size(); k-- > 0;) {
        const z3::expr zero = x.extract(k, k) == ctx.bv_val(0, 1);
        if (((value(m, x) >> k) & 1) == 0)
          pin(zero);
        else if (!try_pin(zero))
          pin(!zero);
      }
    };
    for (const SymFragment& f : sc_.frags) {
      fix(f.off.expr(ctx));
      fix(f.len.expr(ctx));
      fix(f.mf.expr(ctx));
    }
    if (c.free_high) fix(sc_.high.expr(ctx));  // otherwise the case pins it
    s_.pop(scopes + 1);

    Solved out;
    out.witness.family = sc_.family;
    if (c.free_high) out.witness.high_thresh = value(m, sc_.high.expr(ctx));
    for (const SymFragment& f : sc_.frags)
      out.witness.frags.push_back({uint32_t(value(m, f.off.expr(ctx))),
                                   uint32_t(value(m, f.len.expr(ctx))), truth(m, f.mf.expr(ctx))});
    for (int i = 0; i < rule::kOutcomes; ++i)
      if (truth(m, sc_.last->fired(Outcome(i)).expr(ctx))) out.outcome = Outcome(i);
    if (placed_outcome(out.outcome))
      for (int p = 0; p < rule::kPlacements; ++p)
        if (truth(m, sc_.last->placed[p].expr(ctx))) out.placement = Placement(p);
    out.end = uint32_t(value(m, sc_.last->end.expr(ctx)));
    return out;
  }

  bool feasible(const Case& c) {
    s_.push();
    s_.add(constraint(c));
    const bool sat = s_.check() == z3::sat;
    s_.pop();
    return sat;
  }

 private:
  z3::expr constraint(const Case& c) const {
    if (c.free_high) return c.constraint;
    return c.constraint && sc_.high.expr(sc_.ctx) == sc_.ctx.bv_val(kDefaultHighThresh, 64);
  }

  Scenario& sc_;
  z3::solver s_;
};

struct Entry {
  std::string path;
  std::string family, shape, about;
  Solved solved;
  Replay replayed;
  std::vector<std::string> cases;
};

std::string render(const Entry& e) {
  std::string out = std::string(trace::kTraceHeader) + "\n";
  out += "# netverify z3-cases (" + e.family + ", " + e.shape + "): " + e.about + ".\n";
  const FragValues& f = e.solved.witness.frags.back();
  out += "# Under test: off=" + std::to_string(f.off) + " len=" + std::to_string(f.len) +
         " mf=" + (f.mf ? "1" : "0") + ", end after trimming " + std::to_string(e.solved.end) +
         "; frag_rule.h decides " + std::string(rule::outcome_name(e.solved.outcome));
  if (e.solved.placement)
    out += " (placement " + std::string(rule::placement_name(*e.solved.placement)) + ")";
  out += ".\n# Witnesses:\n";
  for (const std::string& c : e.cases) out += "#   " + c + "\n";
  out += witness_ops(e.solved.witness);
  out += e.replayed.expectations;
  return out;
}

}  // namespace

std::string Cases::summary() const {
  std::map<std::string, std::pair<int, int>> counts;  // family/shape -> feasible, infeasible
  for (const CaseResult& c : cases) {
    auto& [yes, no] = counts[c.family + " " + c.shape];
    (c.file.empty() ? no : yes)++;
  }
  std::string out;
  int yes_total = 0, no_total = 0;
  for (const auto& [key, n] : counts) {
    out += "  " + key + ": " + std::to_string(n.first) + " feasible, " + std::to_string(n.second) +
           " infeasible\n";
    yes_total += n.first;
    no_total += n.second;
  }
  out += std::to_string(cases.size()) + " cases: " + std::to_string(yes_total) + " feasible (" +
         std::to_string(files.size()) + " distinct traces), " + std::to_string(no_total) +
         " infeasible\n";
  return out;
}

std::string Cases::index() const {
  std::string out =
      "# netverify z3-cases: every case, with the trace that witnesses it or \"infeasible\".\n";
  for (const CaseResult& c : cases)
    out += c.family + " " + c.shape + " " + c.name + ": " +
           (c.file.empty() ? std::string("infeasible") : c.file) + "\n";
  return out;
}

namespace {

// One family and shape: its cases, and the distinct witnesses in order.
struct ScenarioResult {
  std::vector<CaseResult> cases;
  std::vector<std::pair<std::string, std::string>> files;  // path, text
  std::string error;  // set: FragModel disagreed with the symbolic evaluation
};

ScenarioResult run_scenario(Family family, const Shape& shape) {
  const std::string fam = frag::family_name(family);
  z3::context ctx;
  Scenario sc(ctx, family, shape);
  build(sc);
  Solver solver(sc);
  ScenarioResult result;
  std::map<std::string, Entry> entries;  // by the trace's operations
  std::vector<std::string> order;
  // Solves a case; returns whether it is feasible.
  auto run = [&](const Case& c) {
    CaseResult r{fam, shape.name, c.name, ""};
    const std::optional<Solved> s = solver.solve(c);
    if (s) {
      const std::string ops = witness_ops(s->witness);
      auto it = entries.find(ops);
      if (it == entries.end()) {
        Entry e{fam + "/" + shape.name + "/" + c.name + ".trace",
                fam,
                shape.name,
                shape.about,
                *s,
                replay(s->witness),
                {}};
        // The concrete interpretation must decide what the symbolic one did.
        bool ok = e.replayed.setup.empty() && events_match(s->outcome, e.replayed.events.back());
        for (size_t j = 0; j + 1 < e.replayed.events.size(); ++j)
          ok = ok && e.replayed.events[j].empty();
        if (!ok && result.error.empty())
          result.error = "FragModel does not decide " +
                         std::string(rule::outcome_name(s->outcome)) + " for\n" + ops;
        it = entries.emplace(ops, std::move(e)).first;
        order.push_back(ops);
      }
      it->second.cases.push_back(c.name);
      r.file = it->second.path;
    }
    result.cases.push_back(r);
    return s.has_value();
  };
  // Outcomes first: relations are crossed only with the outcomes this shape
  // can reach at all.
  std::vector<Label> reachable;
  for (const Label& l : labels())
    if (run({"outcome-" + l.name, label_holds(sc, l), l.outcome == Outcome::kMemLimit}) &&
        !ignores_runs(l.outcome))
      reachable.push_back(l);
  for (const auto& [rel, holds] : relations(sc)) {
    if (!solver.feasible({rel, holds, false})) {
      result.cases.push_back({fam, shape.name, "relation-" + rel, ""});
      continue;
    }
    for (const Label& l : reachable) run({rel + "-" + l.name, holds && label_holds(sc, l), false});
  }
  for (const Case& c : boundary_cases(sc)) run(c);
  for (const std::string& ops : order) {
    const Entry& e = entries.at(ops);
    result.files.emplace_back(e.path, render(e));
  }
  return result;
}

}  // namespace

Cases enumerate_cases(unsigned threads) {
  // Scenarios are independent (each has its own Z3 context); the largest
  // first, so that they spread evenly over the threads.
  std::vector<std::pair<Family, const Shape*>> work;
  for (Family family : {Family::kV4, Family::kV6})
    for (const Shape& shape : kShapes) work.emplace_back(family, &shape);
  std::vector<size_t> by_size(work.size());
  for (size_t i = 0; i < work.size(); ++i) by_size[i] = i;
  std::stable_sort(by_size.begin(), by_size.end(), [&](size_t a, size_t b) {
    return work[a].second->priors.size() > work[b].second->priors.size();
  });
  std::vector<ScenarioResult> results(work.size());
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i; (i = next.fetch_add(1)) < work.size();)
      results[by_size[i]] = run_scenario(work[by_size[i]].first, *work[by_size[i]].second);
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < std::max(1u, threads); ++t) pool.emplace_back(worker);
  worker();
  for (std::thread& t : pool) t.join();

  Cases out;
  for (ScenarioResult& r : results) {
    if (!r.error.empty()) throw std::logic_error("z3-cases: " + r.error);
    out.cases.insert(out.cases.end(), r.cases.begin(), r.cases.end());
    for (auto& [path, text] : r.files) out.files[path] = std::move(text);
  }
  return out;
}

}  // namespace nv::symbolic
