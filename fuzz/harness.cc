#include "fuzz/harness.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <sstream>

#include "runner/runner.h"
#include "runner/subsystem.h"
#include "sched/pct_strategy.h"
#include "sched/random_strategy.h"
#include "trace/fnv1a64.h"
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

// Every subsystem's targeted shapes: a shape that builds an op the
// target's table lacks fails to encode and is not taken.
std::vector<Shape> shapes() {
  std::vector<Shape> out;
  for (const runner::Subsystem& s : runner::subsystems())
    out.insert(out.end(), s.fuzz_shapes.begin(), s.fuzz_shapes.end());
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
  for (const std::string& entry : ops) {
    // "go OP+FIELD": the op's name alone.
    const std::string name = entry.substr(0, entry.find('+'));
    if (const trace::OpSpec* spec = all.find(name.starts_with("go ") ? name.substr(3) : name))
      owners.insert(spec->subsystem);
  }
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
    auto add = [&o](const runner::Subsystem::FuzzTable& table) {
      if (o.slots.size() <= table.slot) o.slots.resize(table.slot + 1);
      if (o.slot_words.size() <= table.slot) o.slot_words.resize(table.slot + 1);
      o.slots[table.slot] = table.ops;
      o.slot_words[table.slot] = frozen_words(table.ops);
    };
    for (const runner::Subsystem& s : runner::subsystems()) {
      add({s.fuzz_ops, s.fuzz_slot});
      for (const runner::Subsystem::FuzzTable& later : s.fuzz_later) add(later);
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
    : target_(options.target),
      codec_(runner::registry(), *target_options(options.target)),
      mutator_(runner::registry(), codec_, shapes()),
      mutants_(options.mutants ? *options.mutants : injected()) {}

namespace {

// Schedules tried past a concurrent section's own sched lines, after the
// default (the first runnable thread): a random walk and PCT of depth 2 and
// 3 with its change points within 16 decisions (a fuzzed section is short:
// over the property's 60, most would fall after it: frag-expire-dead's
// reproducer without its sched lines failed for 133 of 400 inputs' seeds
// with 16, for 58 with 60).
constexpr uint32_t kExploredSchedules = 3;

// A refusal is no finding either: the trace asks for what the run's design
// lacks ("policy frag evict" with a mutant of today's design).
bool fails(const runner::RunResult& r) {
  return !r.ok() && !r.refusal && !(r.divergence && r.divergence->undecided);
}

}  // namespace

std::optional<Finding> Harness::find(std::span<const uint8_t> bytes) const {
  trace::Trace t = codec_.decode(bytes);
  runner::RunOptions options;
  options.mutants = mutants_;
  // A concurrent section whose linearizability the search cannot decide
  // within this budget (a few tens of milliseconds) is no finding: the
  // input is skipped, as malformed bytes are (replay decides it with the
  // full budget).
  options.max_states = 10000;
  runner::RunResult result = runner::run(t, options);
  if (fails(result)) return Finding{std::move(t), std::move(result)};
  if (std::none_of(t.ops.begin(), t.ops.end(), [](const trace::Op& op) { return op.async; }))
    return std::nullopt;
  trace::Fnv1a64 hash;
  hash.update(bytes.data(), bytes.size());
  const uint64_t seed = hash.value();
  for (uint32_t k = 0; k < kExploredSchedules; ++k) {
    sched::RandomStrategy walk(seed + k);
    sched::PctStrategy pct(seed + k, /*depth=*/k + 1, /*max_steps=*/16);
    options.strategy = k == 0 ? static_cast<sched::Strategy*>(&walk) : &pct;
    result = runner::run(t, options);
    if (!fails(result)) continue;
    // The schedule written in, the trace fails without a strategy: report
    // that run, whose lines are the printed trace's.
    trace::Trace scheduled = runner::with_schedule(t, result);
    options.strategy = nullptr;
    runner::RunResult replayed = runner::run(scheduled, options);
    return confirm(std::move(scheduled), std::move(result), std::move(replayed));
  }
  return std::nullopt;
}

Finding confirm(trace::Trace scheduled, runner::RunResult seen, runner::RunResult replayed) {
  if (fails(replayed)) return Finding{std::move(scheduled), std::move(replayed)};
  return Finding{std::move(scheduled), std::move(seen), /*reproduces=*/false};
}

int Harness::run_one(const uint8_t* data, size_t size) const {
  std::optional<Finding> f = find({data, size});
  if (!f) return 0;
  std::fprintf(stderr, "netverify: the engines disagree on this input\n%s%s",
               runner::format_failure(f->result).c_str(), trace::print(f->trace).c_str());
  if (!f->reproduces) std::fprintf(stderr, "netverify: %s\n", kNotReproducing);
  std::string inject;
  for (const std::string& m : mutants_) inject += " --inject " + m;
  std::fprintf(stderr,
               "replay: netverify decode INPUT --target %s --schedules%s > t.trace && "
               "netverify replay t.trace%s\n",
               target_.c_str(), inject.c_str(), inject.c_str());
  std::abort();
}

}  // namespace nv::fuzz
