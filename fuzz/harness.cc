#include "fuzz/harness.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <set>
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
// words the core and the subsystems whose ops the table names registered,
// in the registry's order. Another subsystem's words (its sysctl keys), even
// one registered earlier, are words this table never decodes.
std::map<std::string, std::vector<std::string>, std::less<>> frozen_words(
    const std::vector<std::string>& ops) {
  const trace::Registry& all = runner::registry();
  std::set<std::string> owners;
  for (const std::string& name : ops)
    if (const trace::OpSpec* spec = all.find(name.starts_with("go ") ? name.substr(3) : name))
      owners.insert(spec->subsystem);
  trace::Registry own;
  trace::register_core_ops(own);
  for (const runner::Subsystem& s : runner::subsystems())
    if (owners.count(s.name)) s.register_ops(own);
  std::map<std::string, std::vector<std::string>, std::less<>> words;
  for (const auto& spec : all.ops())
    for (const trace::FieldSpec& f : spec->fields)
      if (f.kind == trace::Kind::kWord) words[f.vocab] = own.vocab(f.vocab);
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
