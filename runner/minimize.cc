#include "runner/minimize.h"

// GCC 12 reports a false -Wmaybe-uninitialized for copies of std::variant
// holding a std::string (GCC bug 107919); nothing here is uninitialized.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "runner/runner.h"
#include "runner/subsystem.h"
#include "trace/parser.h"
#include "trace/printer.h"

namespace nv::runner {
namespace {

RunResult run_of(const MinimizeOptions& options, const trace::Trace& trace) {
  if (options.run) return options.run(trace);
  RunOptions run_options;
  run_options.mutants = options.mutants;
  run_options.designs = options.designs;
  return run(trace, run_options);
}

class Reducer {
 public:
  Reducer(const MinimizeOptions& options, std::string signature)
      : options_(options), signature_(std::move(signature)) {}

  // Whether the candidate is a valid trace failing the same way.
  // Past the budget every candidate is taken to pass.
  bool fails(const std::vector<trace::Op>& ops) {
    if (options_.max_runs && runs >= options_.max_runs) return false;
    ++runs;
    trace::ParseResult parsed = trace::parse(trace::print(trace::Trace{ops}), registry());
    if (parsed.error) return false;
    return failure_signature(parsed.trace, run_of(options_, parsed.trace)) == signature_;
  }

  // ddmin over operations.
  bool reduce_ops(std::vector<trace::Op>& ops) {
    bool changed = false;
    for (size_t chunk = std::max<size_t>(ops.size() / 2, 1);; chunk /= 2) {
      for (size_t start = 0; start < ops.size();) {
        std::vector<trace::Op> candidate(ops.begin(), ops.begin() + start);
        candidate.insert(candidate.end(), ops.begin() + std::min(start + chunk, ops.size()),
                         ops.end());
        if (!candidate.empty() && fails(candidate)) {
          ops = std::move(candidate);
          changed = true;
          report(ops, "removed " + std::to_string(chunk) + " op(s)");
        } else {
          start += chunk;
        }
      }
      if (chunk == 1) return changed;
    }
  }

  // Simpler values for each field of each op.
  bool simplify_fields(std::vector<trace::Op>& ops) {
    bool changed = false;
    for (size_t i = 0; i < ops.size(); ++i) {
      for (size_t f = 0; f < ops[i].spec->fields.size(); ++f) {
        if (!ops[i].has(f)) continue;
        const bool optional = !ops[i].spec->fields[f].required;
        const std::vector<trace::Value> values = simpler(ops[i], f);
        for (size_t c = optional ? 0 : 1; c <= values.size(); ++c) {
          std::vector<trace::Op> candidate = ops;
          if (c == 0) {
            candidate[i].args[f].reset();  // drop the optional field
          } else {
            candidate[i].args[f].emplace(values[c - 1]);
          }
          if (fails(candidate)) {
            ops = std::move(candidate);
            changed = true;
            report(ops,
                   "simplified " + ops[i].spec->fields[f].key + " of op " + std::to_string(i + 1));
            break;
          }
        }
      }
    }
    return changed;
  }

  size_t runs = 0;

 private:
  // Simpler values for a present field, simplest first.
  static std::vector<trace::Value> simpler(const trace::Op& op, size_t f) {
    const trace::FieldSpec& spec = op.spec->fields[f];
    std::vector<trace::Value> out;
    switch (spec.kind) {
      case trace::Kind::kUint:
      case trace::Kind::kDuration: {
        uint64_t v = std::get<uint64_t>(*op.args[f]),
                 lo = spec.kind == trace::Kind::kUint ? spec.min : 0;
        for (uint64_t c : {lo, v / 2, v / 2 & ~uint64_t{7}, v - 8, v - 1})
          if (c < v && c >= lo) out.push_back(trace::Value{c});
        break;
      }
      case trace::Kind::kWord:
        if (op.word(f) != 0) out.push_back(trace::Value{trace::Word{0}});
        break;
      case trace::Kind::kName:
        if (spec.ns_use == trace::NsUse::kRef && op.name(f) != "init")
          out.push_back(trace::Value{std::string("init")});
        break;
      default:
        break;
    }
    return out;
  }

  void report(const std::vector<trace::Op>& ops, const std::string& what) {
    if (options_.progress)
      options_.progress(std::to_string(ops.size()) + " ops (" + what + ", " + std::to_string(runs) +
                        " runs)");
  }

  const MinimizeOptions& options_;
  const std::string signature_;
};

}  // namespace

std::optional<MinimizeResult> minimize(const trace::Trace& input, const MinimizeOptions& options) {
  std::string signature = failure_signature(input, run_of(options, input));
  if (signature.empty()) return std::nullopt;
  Reducer reducer(options, signature);
  std::vector<trace::Op> ops = input.ops;
  for (bool changed = true; changed;) {
    changed = reducer.reduce_ops(ops);
    changed |= reducer.simplify_fields(ops);
  }
  // Re-parse so that line numbers match the printed result.
  trace::ParseResult parsed = trace::parse(trace::print(trace::Trace{ops}), registry());
  return MinimizeResult{std::move(parsed.trace), signature, reducer.runs};
}

}  // namespace nv::runner
