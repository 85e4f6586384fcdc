#include "symbolic/frag_proofs.h"

#include <map>
#include <optional>

#include "symbolic/frag_witness.h"
#include "trace/event.h"
#include "trace/printer.h"

namespace nv::symbolic {

using frag::Family;
namespace rule = frag::rule;
using rule::Outcome;
using rule::Placement;

namespace {

z3::expr bv32(z3::context& ctx, uint64_t v) {
  return ctx.bv_val(v, 32);
}

// Exactly one of `xs` holds.
z3::expr exactly_one(z3::context& ctx, const std::vector<z3::expr>& xs) {
  z3::expr any = ctx.bool_val(false), two = ctx.bool_val(false);
  for (size_t i = 0; i < xs.size(); ++i) {
    any = any || xs[i];
    for (size_t j = i + 1; j < xs.size(); ++j) two = two || (xs[i] && xs[j]);
  }
  return any && !two;
}

z3::expr any_of(const ProofPoint& p, std::initializer_list<Outcome> os) {
  z3::expr e = p.ctx.bool_val(false);
  for (Outcome o : os) e = e || p.fired(o);
  return e;
}

z3::expr queued(const ProofPoint& p) {
  return any_of(p, {Outcome::kQueued, Outcome::kReassembled, Outcome::kOversize});
}

// Reached the queue: not decided by rules 1-4.
z3::expr admitted(const ProofPoint& p) {
  return !any_of(p, {Outcome::kWhole, Outcome::kV6Truncated, Outcome::kMemLimit});
}

std::vector<Claim> datagram_fits(const ProofPoint& p) {
  z3::context& c = p.ctx;
  const z3::expr len = z3::zext(p.d.len.expr(c), 32) + c.bv_val(frag::header_len(p.family), 64);
  return {{"reassembled", p.fired(Outcome::kReassembled),
           z3::ule(len, c.bv_val(65535, 64)) && p.d.meat.expr(c) == p.d.len.expr(c) &&
               p.d.first_in.expr(c) && p.d.last_in.expr(c)},
          {"oversize", p.fired(Outcome::kOversize), z3::ugt(len, c.bv_val(65535, 64))}};
}

std::vector<Claim> trim_keeps_order(const ProofPoint& p) {
  z3::context& c = p.ctx;
  const z3::expr off = p.f.off.expr(c), len = p.f.len.expr(c), end = p.d.end.expr(c);
  const z3::expr reaches_10 =
      !any_of(p, {Outcome::kWhole, Outcome::kV6Truncated, Outcome::kMemLimit, Outcome::kV6TooBig,
                  Outcome::kBadLast, Outcome::kV6BadLen});
  return {{"reaches rule 10", reaches_10,
           z3::ule(off, end) && z3::ule(end, off + len) &&
               z3::implies(p.f.mf.expr(c), z3::urem(end, bv32(c, 8)) == 0)},
          {"queued", queued(p), z3::ult(off, end)}};
}

std::vector<Claim> decision_total(const ProofPoint& p) {
  z3::context& c = p.ctx;
  std::vector<z3::expr> outcomes, placements;
  for (int o = 0; o < rule::kOutcomes; ++o) outcomes.push_back(p.fired(Outcome(o)));
  for (int k = 0; k < rule::kPlacements; ++k) placements.push_back(p.d.placed[k].expr(c));
  // inet_frag_queue_insert itself, on the fragment as rule 12 sees it.
  const rule::Insert<Sym> ins = rule::insert<Sym>(p.f.off, p.d.end, p.q.runs);
  std::vector<z3::expr> insert = {ins.dup.expr(c), ins.overlap.expr(c)};
  for (int k = 0; k < rule::kPlacements; ++k) insert.push_back(ins.placed[k].expr(c));
  return {{"any fragment", c.bool_val(true), exactly_one(c, outcomes)},
          {"non-empty insert", z3::ult(p.f.off.expr(c), p.d.end.expr(c)), exactly_one(c, insert)},
          {"queued", queued(p), exactly_one(c, placements)}};
}

std::vector<Claim> memory_bound(const ProofPoint& p) {
  z3::context& c = p.ctx;
  const z3::expr qsize = c.bv_val(frag::kQueueTruesize[int(p.family)], 64);
  const z3::expr ts = truesize(c, p.family, p.f.len.expr(c));
  const z3::expr zero = c.bv_val(0, 64);
  const z3::expr mem = p.mem.expr(c), high = p.high.expr(c);
  const z3::expr after =
      mem + z3::ite(p.created.expr(c), qsize, zero) + z3::ite(queued(p), ts, zero);
  const z3::expr refused_all = high == zero || z3::uge(high, c.bv_val(uint64_t{1} << 63, 64));
  return {{"admitted", admitted(p), z3::ule(after, high + qsize + ts) && z3::uge(after, mem)},
          {"high_thresh 0 or negative",
           refused_all && !any_of(p, {Outcome::kWhole, Outcome::kV6Truncated}),
           p.fired(Outcome::kMemLimit)}};
}

// RFC 8200 section 4.5 and RFC 5722, for a v6 fragment of proto 253 (no
// extension headers; Linux asks a first fragment for one byte of an
// upper-layer header it does not know), against runs of queued fragments.
std::vector<Claim> v6_rfc(const ProofPoint& p) {
  z3::context& c = p.ctx;
  const z3::expr off = p.f.off.expr(c), len = p.f.len.expr(c), mf = p.f.mf.expr(c);
  const z3::expr end = off + len;
  const z3::expr qlen = p.q.len.expr(c), last_in = p.q.last_in.expr(c);
  const z3::expr atomic = off == 0 && !mf;                                  // RFC 6946
  const z3::expr param_problem = (mf && z3::urem(len, bv32(c, 8)) != 0) ||  // RFC 8200 4.5
                                 z3::ugt(end, bv32(c, 65535)) || (off == 0 && mf && len == 0);
  z3::expr meets = c.bool_val(false), within = c.bool_val(false);
  for (const rule::Run<Sym>& r : p.q.runs) {
    const z3::expr ro = r.off.expr(c), re = r.end.expr(c);
    meets = meets || (z3::ult(off, re) && z3::ult(ro, end));
    within = within || (z3::ule(ro, off) && z3::ule(end, re));
  }
  const z3::expr overlap = meets && !within;  // RFC 5722, duplicates read as "within one run"
  // A last fragment fixes the datagram's length: it may not end below queued
  // data nor disagree with another last fragment, and nothing may end past it.
  const z3::expr inconsistent = (!mf && (z3::ult(end, qlen) || (last_in && end != qlen))) ||
                                (mf && last_in && z3::ugt(end, qlen));
  const z3::expr rest = admitted(p) && !param_problem && !inconsistent;
  return {
      {"atomic", atomic, p.fired(Outcome::kWhole)},
      {"delivered whole", p.fired(Outcome::kWhole), atomic},
      {"parameter problem", !atomic && !any_of(p, {Outcome::kMemLimit}),
       param_problem == any_of(p, {Outcome::kV6Truncated, Outcome::kV6TooBig, Outcome::kV6BadLen})},
      {"overlap", !atomic && rest, overlap == p.fired(Outcome::kOverlap)},
      {"within a run", !atomic && rest, (within && len != 0) == p.fired(Outcome::kDup)},
      {"accepted", !atomic && admitted(p),
       (!param_problem && !inconsistent && len != 0 && !meets) ==
           any_of(p, {Outcome::kQueued, Outcome::kReassembled})},
      {"no oversize", c.bool_val(true), !p.fired(Outcome::kOversize)},
  };
}

// The queue after `p`'s fragment is queued at `where` (FragModel::place), or
// is a duplicate (runs unchanged, len and last_in as the decision left them).
rule::QueueState<Sym> after(const ProofPoint& p, Placement where, size_t before_index) {
  rule::QueueState<Sym> q = p.q;
  const rule::Run<Sym> run{p.f.off, p.d.end};
  switch (where) {
    case Placement::kFirst:
    case Placement::kAfter:
      q.runs.push_back(run);
      break;
    case Placement::kAppend:
      q.runs.back().end = p.d.end;
      break;
    case Placement::kBefore:
      q.runs.insert(q.runs.begin() + long(before_index), run);
      break;
  }
  q.first_in = p.d.first_in;
  q.last_in = p.d.last_in;
  q.len = p.d.len;
  q.meat = p.d.meat;
  return q;
}

std::vector<Claim> queue_invariant_kept(const ProofPoint& p) {
  z3::context& c = p.ctx;
  const z3::expr off = p.f.off.expr(c);
  const size_t k = p.q.runs.size();
  rule::QueueState<Sym> dup = p.q;
  dup.len = p.d.len;
  dup.last_in = p.d.last_in;
  std::vector<Claim> out = {{"dup", p.fired(Outcome::kDup), queue_invariant(c, p.family, dup)}};
  if (k >= size_t(kMaxRuns)) return out;  // one more run would leave the bound
  const z3::expr q = p.fired(Outcome::kQueued);
  auto placed = [&](Placement w) { return q && p.d.placed[int(w)].expr(c); };
  if (k == 0)
    out.push_back({"first", placed(Placement::kFirst),
                   queue_invariant(c, p.family, after(p, Placement::kFirst, 0))});
  else {
    out.push_back({"append", placed(Placement::kAppend),
                   queue_invariant(c, p.family, after(p, Placement::kAppend, 0))});
    out.push_back({"after", placed(Placement::kAfter),
                   queue_invariant(c, p.family, after(p, Placement::kAfter, 0))});
    // FragModel puts it before the first run starting above it.
    z3::expr somewhere = c.bool_val(false);
    for (size_t i = 0; i < k; ++i) {
      z3::expr here = z3::ugt(p.q.runs[i].off.expr(c), off);
      if (i > 0) here = here && z3::ule(p.q.runs[i - 1].off.expr(c), off);
      somewhere = somewhere || here;
      out.push_back({"before run " + std::to_string(i), placed(Placement::kBefore) && here,
                     queue_invariant(c, p.family, after(p, Placement::kBefore, i))});
    }
    out.push_back({"before: a position exists", placed(Placement::kBefore), somewhere});
  }
  return out;
}

std::string describe_point(const z3::model& m, const ProofPoint& p) {
  z3::context& c = p.ctx;
  auto v = [&](const z3::expr& e) { return std::to_string(value(m, e)); };
  std::string s = std::string(frag::family_name(p.family)) + " fragment off=" + v(p.f.off.expr(c)) +
                  " len=" + v(p.f.len.expr(c)) + " mf=" + (truth(m, p.f.mf.expr(c)) ? "1" : "0") +
                  "; queue runs=";
  for (const rule::Run<Sym>& r : p.q.runs)
    s += "[" + v(r.off.expr(c)) + "," + v(r.end.expr(c)) + ")";
  s += " len=" + v(p.q.len.expr(c)) + " meat=" + v(p.q.meat.expr(c)) +
       (truth(m, p.q.first_in.expr(c)) ? " first_in" : "") +
       (truth(m, p.q.last_in.expr(c)) ? " last_in" : "") +
       (truth(m, p.created.expr(c)) ? " (created by it)" : "") + "; mem=" + v(p.mem.expr(c)) +
       " high_thresh=" + v(p.high.expr(c));
  for (int o = 0; o < rule::kOutcomes; ++o)
    if (truth(m, p.fired(Outcome(o))))
      s += "; frag_rule.h decides " + std::string(rule::outcome_name(Outcome(o)));
  return s;
}

// The counterexample as a trace: the highest run first, in fragments of at
// most max_frag_len appended in order, then each lower run as one fragment
// (so that none is appended to another), then the fragment. Nothing when a
// lower run is longer than one fragment can be.
std::optional<Witness> witness_of(const z3::model& m, const ProofPoint& p) {
  z3::context& c = p.ctx;
  Witness w;
  w.family = p.family;
  const uint64_t high = value(m, p.high.expr(c));
  if (high != kDefaultHighThresh) w.high_thresh = high;
  const bool last_in = truth(m, p.q.last_in.expr(c));
  const uint32_t max_len = max_frag_len(p.family);
  for (size_t i = p.q.runs.size(); i-- > 0;) {
    const bool highest = i + 1 == p.q.runs.size();
    const uint32_t off = uint32_t(value(m, p.q.runs[i].off.expr(c)));
    uint32_t end = uint32_t(value(m, p.q.runs[i].end.expr(c)));
    if (!highest && end - off > max_len) return std::nullopt;
    // Cut from the end: each piece starts at a multiple of 8, as late as
    // its length allows.
    std::vector<FragValues> pieces;
    while (end > off) {
      const uint32_t start = end - off > max_len ? (end - max_len + 7) & ~7u : off;
      pieces.push_back({start, end - start, !(last_in && highest && pieces.empty())});
      end = start;
    }
    w.frags.insert(w.frags.end(), pieces.rbegin(), pieces.rend());
  }
  w.frags.push_back({uint32_t(value(m, p.f.off.expr(c))), uint32_t(value(m, p.f.len.expr(c))),
                     truth(m, p.f.mf.expr(c))});
  return w;
}

std::string events_text(const std::vector<trace::Event>& events) {
  if (events.empty()) return "nothing (queued)";
  std::string s;
  for (const trace::Event& e : events) s += (s.empty() ? "" : "; ") + trace::to_text(e);
  return s;
}

// The kernel's ip_frag_ecn_table (net/ipv4/inet_fragment.c), transcribed
// from the kernel as the specification: indexed by the OR of 1 << codepoint
// over a datagram's fragments, what reassembly ORs into the first
// fragment's codepoint; 0xff discards the datagram.
constexpr uint8_t kKernelEcnTable[16] = {0, 0,    0, 0xff, 0, 0xff, 0, 0xff,
                                         0, 0xff, 3, 0xff, 3, 0xff, 3, 0xff};

// rule::ecn (RFC 3168 5.3 as the model writes it) against the table, for
// every set of codepoints a datagram's fragments can carry and every first
// fragment's codepoint among them. Independent of the fragment and queue of
// the point.
std::vector<Claim> ecn_is_the_table(const ProofPoint& p) {
  z3::context& c = p.ctx;
  const SymU<32> seen(nullptr, c.bv_const("ecn.seen", 32)),
      head(nullptr, c.bv_const("ecn.head", 32));
  const z3::expr s = seen.expr(c), h = head.expr(c);
  const z3::expr one_of_them = z3::ult(h, bv32(c, 4)) && z3::ult(s, bv32(c, 16)) &&
                               (s & z3::shl(bv32(c, 1), h)) != bv32(c, 0);
  z3::expr table = bv32(c, 0);
  for (uint32_t i = 0; i < 16; ++i) {
    const uint8_t v = kKernelEcnTable[i];
    table =
        z3::ite(s == bv32(c, i), v == 0xff ? bv32(c, rule::kEcnDiscard) : h | bv32(c, v), table);
  }
  return {{"any", one_of_them, rule::ecn<Sym>(seen, head).expr(c) == table}};
}

// A counterexample of ecn_is_the_table as a datagram: the first fragment
// with the head codepoint, then one 8-byte fragment per other codepoint
// seen, the last one closing the datagram.
std::string ecn_witness(const z3::model& m, std::string* description) {
  auto value = [&](const char* name) {
    return uint32_t(m.eval(m.ctx().bv_const(name, 32), true).get_numeral_uint64());
  };
  const uint32_t seen = value("ecn.seen"), head = value("ecn.head");
  *description = "codepoints seen " + std::to_string(seen) +
                 " (bit 1 << codepoint), first "
                 "fragment " +
                 std::string(frag::kEcnNames[head & 3]);
  std::vector<uint32_t> codepoints = {head & 3};
  for (uint32_t c = 0; c < 4; ++c)
    if ((seen >> c & 1) && c != (head & 3)) codepoints.push_back(c);
  std::string out;
  for (size_t i = 0; i < codepoints.size(); ++i)
    out += "frag init v4 id=1 off=" + std::to_string(8 * i) +
           " len=8 mf=" + (i + 1 < codepoints.size() ? "1" : "0") +
           " ecn=" + std::string(frag::kEcnNames[codepoints[i]]) + "\n";
  return out;
}

}  // namespace

const std::vector<Proof>& proofs() {
  static const std::vector<Proof> kProofs = {
      {"v4-datagram-fits",
       "a v4 datagram reassembled (rules 13-14) is at most 65535 bytes with its 20-byte header, "
       "and its first and last fragments and exactly its length in bytes are queued; one over is "
       "killed as oversize only if longer",
       {Family::kV4},
       kMaxRuns,
       datagram_fits},
      {"trim-keeps-order",
       "a fragment reaching rule 10 has off <= end' <= off + len, end' a multiple of 8 if MF "
       "(trimming never ends it before its offset); a queued fragment has off < end'",
       {Family::kV4, Family::kV6},
       kMaxRuns,
       trim_keeps_order},
      {"decision-total",
       "exactly one of the 13 outcomes fires for every fragment and queue; "
       "inet_frag_queue_insert classifies every non-empty fragment as exactly one of dup, "
       "overlap, or one placement; a queued fragment has exactly one placement",
       {Family::kV4, Family::kV6},
       kMaxRuns,
       decision_total},
      {"memory-bound",
       "after a fragment admitted by rule 4, mem + [it created the queue] * qsize + [it was "
       "queued] * truesize(len) <= high_thresh + qsize + truesize(len), without wrapping "
       "(qsize: 200 for v4, 184 for v6); with high_thresh 0 or above 2^63 - 1 every fragment that "
       "is one is refused",
       {Family::kV4, Family::kV6},
       kMaxRuns,
       memory_bound},
      {"v6-rfc",
       "v6 (proto 253): an atomic fragment is delivered (RFC 6946); a Parameter Problem drop "
       "(v6-truncated, v6-too-big, v6-bad-len) happens exactly for RFC 8200 4.5's cases "
       "(non-last length not a multiple of 8, ending past 65535, an empty first fragment); "
       "otherwise, for fragments consistent with the datagram's end, the datagram is discarded "
       "exactly when the fragment overlaps queued data without lying within one run (RFC "
       "5722), dropped as a duplicate exactly when it lies within one run, and queued exactly "
       "when it is non-empty, consistent with the end and meets no queued data",
       {Family::kV6},
       kMaxRuns,
       v6_rfc},
      {"queue-invariant",
       "queue_invariant() holds after every queued fragment (each placement, each position) and "
       "every duplicate; with empty queues satisfying it, v6 drops leaving a queue unchanged, "
       "ipfrag_max_dist emptying one and kills removing one, every queue FragModel holds with "
       "at most 3 runs satisfies it",
       {Family::kV4, Family::kV6},
       kMaxRuns,
       queue_invariant_kept},
      {"ecn-table",
       "rule 14's ECN combination (RFC 3168 5.3: Not-ECT mixed with ECT or CE discards, any CE "
       "marks CE, else the first fragment's codepoint) is the kernel's ip_frag_ecn_table ORed "
       "into the first fragment's codepoint, for every set of codepoints and every first "
       "fragment's among them",
       {Family::kV4},
       0,
       ecn_is_the_table,
       ecn_witness},
  };
  return kProofs;
}

ProofResult prove(const Proof& proof) {
  ProofResult result;
  std::map<std::string, bool> premise_holds;  // by label, somewhere
  std::vector<std::string> labels;
  for (Family family : proof.families) {
    for (int k = 0; k <= proof.max_runs; ++k) {
      z3::context ctx;
      Recorder rec(ctx);
      const rule::QueueState<Sym> q = queue_var(rec, k);
      const SymFragment f = fragment_var(rec, family, "");
      const SymU<64> high = u64_var(rec, "high"), mem = u64_var(rec, "mem");
      const SymB created = k == 0 ? bool_var(rec, "created") : SymB(false);
      const rule::Decision<Sym> d = decide(f, high, mem, q);
      const ProofPoint p{ctx, family, f, q, high, mem, created, d};
      z3::expr space = f.well_formed(ctx) && queue_invariant(ctx, family, q) &&
                       z3::ult(mem.expr(ctx), ctx.bv_val(uint64_t{1} << 63, 64));
      for (const z3::expr& def : rec.definitions()) space = space && def;
      // A fresh solver per question: Z3's full QF_BV preprocessing makes
      // these several times faster than one incremental solver.
      auto check = [&](const z3::expr& e, z3::solver& s) {
        s.add(space && e);
        return s.check();
      };
      for (const Claim& claim : proof.claims(p)) {
        if (!premise_holds.count(claim.label)) labels.push_back(claim.label);
        bool& holds = premise_holds[claim.label];
        if (!holds) {
          z3::solver s(ctx, "QF_BV");
          holds = check(claim.premise, s) == z3::sat;
        }
        z3::solver s(ctx, "QF_BV");
        const z3::check_result r = check(claim.premise && !claim.conclusion, s);
        if (r == z3::sat) {
          // Prefer a counterexample with the default high_thresh and no
          // other memory accounted, which a trace reproduces best.
          z3::model m = s.get_model();
          const z3::expr plain =
              high.expr(ctx) == ctx.bv_val(kDefaultHighThresh, 64) && mem.expr(ctx) == 0;
          for (const z3::expr& prefer :
               {plain, high.expr(ctx) == ctx.bv_val(kDefaultHighThresh, 64)}) {
            z3::solver again(ctx, "QF_BV");
            if (check(claim.premise && !claim.conclusion && prefer, again) == z3::sat) {
              m = again.get_model();
              break;
            }
          }
          result.report = "FAILED " + proof.name + " (" + claim.label + ", " +
                          frag::family_name(family) + ", " + std::to_string(k) +
                          " runs): " + proof.statement;
          if (proof.witness) {
            std::string description;
            const std::string ops = proof.witness(m, &description);
            result.counterexample_trace = std::string(trace::kTraceHeader) + "\n# z3-prove " +
                                          proof.name + " (" + claim.label + "): " + description +
                                          "\n" + ops;
            result.report += "\n  counterexample: " + description + "\n  as a trace:\n" +
                             result.counterexample_trace;
            return result;
          }
          result.report += "\n  counterexample: " + describe_point(m, p);
          const std::optional<Witness> w = witness_of(m, p);
          if (!w) {
            result.report +=
                "\n  (no trace: a run other than the highest is longer than one "
                "fragment can be)";
            return result;
          }
          result.counterexample_trace = std::string(trace::kTraceHeader) + "\n# z3-prove " +
                                        proof.name + " (" + claim.label +
                                        "): " + describe_point(m, p) + "\n" + witness_ops(*w);
          std::string decided;
          try {
            decided = events_text(replay(*w).events.back());
          } catch (const std::exception& e) {
            decided = std::string("cannot replay: ") + e.what();
          }
          result.report +=
              "\n  as a trace (FragModel: " + decided + "):\n" + result.counterexample_trace;
          return result;
        }
        if (r != z3::unsat) {
          result.report = "FAILED " + proof.name + " (" + claim.label + "): Z3 says unknown";
          return result;
        }
      }
    }
  }
  for (const std::string& label : labels) {
    if (!premise_holds[label]) {
      result.report =
          "FAILED " + proof.name + ": vacuous, no point satisfies the premise of '" + label + "'";
      return result;
    }
  }
  std::string families;
  for (Family f : proof.families)
    families += std::string(families.empty() ? "" : ", ") + frag::family_name(f);
  result.proved = true;
  result.report = "PROVED " + proof.name + " (" + families + "; queues of 0 to " +
                  std::to_string(proof.max_runs) + " runs): " + proof.statement;
  return result;
}

}  // namespace nv::symbolic
