#include "fuzz/harness.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "runner/runner.h"
#include "runner/subsystem.h"
#include "trace/printer.h"

namespace nv::fuzz {
namespace {

std::vector<std::string> injected() {
  std::vector<std::string> out;
  const char* env = std::getenv("NV_INJECT");
  std::stringstream ss(env ? env : "");
  for (std::string m; std::getline(ss, m, ',');)
    if (!m.empty() && runner::subsystem_of_mutant(m)) out.push_back(m);
  return out;
}

}  // namespace

std::vector<std::string> target_names() {
  std::vector<std::string> out;
  for (const runner::Subsystem& s : runner::subsystems()) out.push_back(s.name);
  std::sort(out.begin(), out.end());
  out.emplace_back(kAllTarget);
  return out;
}

namespace {

// The vocabularies of a frozen op table as they stood when it was made: the
// words that the core and the subsystems registered, in the registry's
// order, up to the last subsystem one of the table's ops belongs to. A
// subsystem added later (after it in runner/subsystems.cc) appends words
// (its sysctl keys) that this table then never decodes.
std::map<std::string, size_t, std::less<>> frozen_words(const std::vector<std::string>& ops) {
  const trace::Registry& all = runner::registry();
  size_t last = 0;  // subsystems up to this index (exclusive) registered the table's words
  const auto& list = runner::subsystems();
  for (const std::string& name : ops) {
    const trace::OpSpec* spec = all.find(name.starts_with("go ") ? name.substr(3) : name);
    for (size_t k = 0; spec && k < list.size(); ++k)
      if (list[k].name == spec->subsystem) last = std::max(last, k + 1);
  }
  trace::Registry prefix;
  trace::register_core_ops(prefix);
  for (size_t k = 0; k < last; ++k) list[k].register_ops(prefix);
  std::map<std::string, size_t, std::less<>> words;
  for (const auto& spec : all.ops())
    for (const trace::FieldSpec& f : spec->fields)
      if (f.kind == trace::Kind::kWord) words[f.vocab] = prefix.vocab(f.vocab).size();
  return words;
}

}  // namespace

std::optional<ByteTraceOptions> target_options(std::string_view target) {
  ByteTraceOptions o;
  if (target == kAllTarget) {
    for (const runner::Subsystem& s : runner::subsystems()) {
      if (o.slots.size() <= s.fuzz_slot) o.slots.resize(s.fuzz_slot + 1);
      if (o.slot_words.size() <= s.fuzz_slot) o.slot_words.resize(s.fuzz_slot + 1);
      o.slots[s.fuzz_slot] = s.fuzz_ops;
      o.slot_words[s.fuzz_slot] = frozen_words(s.fuzz_ops);
    }
    return o;
  }
  const runner::Subsystem* s = runner::find_subsystem(target);
  if (!s) return std::nullopt;
  o.ops = s->fuzz_ops;
  o.words = frozen_words(s->fuzz_ops);
  return o;
}

Harness::Harness(const HarnessOptions& options)
    : codec_(runner::registry(), *target_options(options.target)), mutants_(injected()) {}

int Harness::run_one(const uint8_t* data, size_t size) const {
  const trace::Trace t = codec_.decode({data, size});
  runner::RunOptions run_options;
  run_options.mutants = mutants_;
  run_options.state_check = runner::StateCheck::kNamedNamespaces;
  // A concurrent section whose linearizability the search cannot decide
  // within this budget (a few tens of milliseconds) is no finding: the
  // input is skipped, as malformed bytes are (replay decides it with the
  // full budget).
  run_options.max_states = 10000;
  runner::RunResult result = runner::run(t, run_options);
  if (result.ok() || (result.divergence && result.divergence->undecided)) return 0;
  std::fprintf(stderr, "netverify: the engines disagree on this input\n%s%s",
               runner::format_failure(result).c_str(), trace::print(t).c_str());
  std::fprintf(stderr, "replay: netverify decode INPUT > t.trace && netverify replay t.trace%s\n",
               mutants_.empty() ? "" : (" --inject " + mutants_[0]).c_str());
  std::abort();
}

}  // namespace nv::fuzz
