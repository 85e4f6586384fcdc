#include "properties/differential.h"

#include <rapidcheck.h>

#include <algorithm>
#include <utility>

#include "properties/failure.h"
#include "runner/runner.h"
#include "runner/subsystem.h"
#include "sched/pct_strategy.h"
#include "sched/random_strategy.h"
#include "trace/parser.h"
#include "trace/printer.h"

namespace nv::props {
namespace {

std::string failure_name(const std::vector<std::string>& mutants,
                         const runner::Designs& designs = {}) {
  std::string name = "differential";
  for (const auto& m : mutants) name += "-" + m;
  for (const auto& [sub, d] : designs) name += "-" + sub + "." + d;
  return name;
}

// One generated case: a trace, and how its concurrent sections are drained.
// They are drained by PCT (Burckhardt et al., ASPLOS 2010) with a generated
// seed and depth, or by a seeded random walk (depth 0, which reaches races
// needing a switch at one exact point more often than PCT with few change
// points). Chosen uniformly whatever the size.
struct Case {
  std::string text;
  uint64_t seed;
  uint32_t depth;
};

rc::Gen<Case> gen_case(std::string_view subsystem) {
  return rc::gen::apply(
      [](std::string text, uint64_t seed, uint32_t depth) {
        return Case{std::move(text), seed, depth};
      },
      runner::find_subsystem(subsystem)->gen(), rc::gen::arbitrary<uint64_t>(),
      rc::gen::element<uint32_t>(0, 1, 2, 3));
}

runner::RunResult run_case(const Case& c, const trace::Trace& trace,
                           const std::vector<std::string>& mutants,
                           const runner::Designs& designs = {}) {
  sched::PctStrategy pct(c.seed, std::max<uint32_t>(c.depth, 1), /*max_steps=*/60);
  sched::RandomStrategy walk(c.seed);
  runner::RunOptions options;
  options.mutants = mutants;
  options.designs = designs;
  options.strategy = c.depth == 0 ? static_cast<sched::Strategy*>(&walk) : &pct;
  return runner::run(trace, options);
}

// The subsystem whose generator reaches the mutants' bug: the first
// mutant's own, or the one it names as found_by (frag when none).
std::string reaching_subsystem(const std::vector<std::string>& mutants) {
  std::string subsystem = "frag";
  if (const runner::Subsystem* owner =
          mutants.empty() ? nullptr : runner::subsystem_of_mutant(mutants[0])) {
    subsystem = owner->name;
    for (const runner::MutantInfo& m : owner->mutants)
      if (m.name == mutants[0] && !m.found_by.empty()) subsystem = m.found_by;
  }
  return subsystem;
}

}  // namespace

void differential_property(std::string_view subsystem, const std::vector<std::string>& mutants,
                           const runner::Designs& designs) {
  const Case c = *gen_case(subsystem);
  trace::ParseResult parsed = trace::parse(c.text, runner::registry());
  if (parsed.error)
    RC_FAIL("the generator made an invalid trace: line " + std::to_string(parsed.error->line) +
            ": " + parsed.error->message + "\n" + c.text);
  runner::RunResult result = run_case(c, parsed.trace, mutants, designs);
  // A trace asking for what the design lacks (Subsystem::lacks) is another
  // design's.
  if (result.refusal) RC_DISCARD(result.refusal->message);
  if (result.ok()) return;
  // The failure is saved with its schedule written in as sched lines, so
  // that replay needs no seed.
  const std::string text = trace::print(runner::with_schedule(parsed.trace, result));
  const std::string path = save_failure(failure_name(mutants, designs), text);
  std::string replay = replay_command(path, mutants);
  for (const auto& [sub, d] : designs) replay += " --design " + sub + "=" + d;
  RC_FAIL(runner::format_failure(result) + "trace written to " + path + "\nreplay: " + replay +
          "\n" + text);
}

Rate detection_rate(const std::vector<std::string>& mutants, uint64_t seed, int cases, int size) {
  const rc::Gen<Case> gen = gen_case(reaching_subsystem(mutants));
  Rate rate;
  for (int i = 0; i < cases; ++i) {
    const Case c = gen(rc::Random(seed + uint64_t(i)), size).value();
    trace::ParseResult parsed = trace::parse(c.text, runner::registry());
    if (parsed.error) {
      rate.cases++;
      continue;
    }
    const runner::RunResult r = run_case(c, parsed.trace, mutants);
    if (r.refusal) continue;  // another design's trace
    rate.cases++;
    rate.caught += !r.ok();
  }
  return rate;
}

Detection detect(const std::vector<std::string>& mutants, uint64_t seed, int max_success,
                 bool shrink) {
  rc::detail::TestParams params;
  params.disableShrinking = !shrink;
  params.seed = seed;
  params.maxSuccess = max_success;
  const std::string subsystem = reaching_subsystem(mutants);
  rc::detail::TestResult result = rc::detail::checkTestable(
      [&] { differential_property(subsystem, mutants); }, rc::detail::TestMetadata{}, params);
  Detection d;
  rc::detail::FailureResult failure;
  if (result.match(failure)) {
    d.detected = true;
    d.cases = failure.numSuccess;
    // The property saved every failing case; the last is the shrunk one.
    d.failure_file = failure_path(failure_name(mutants));
    trace::ParseResult parsed = trace::parse_file(d.failure_file, runner::registry());
    if (!parsed.error) {
      runner::RunOptions options;
      options.mutants = mutants;
      d.signature = runner::failure_signature(parsed.trace, runner::run(parsed.trace, options));
    }
  }
  return d;
}

std::string generate_trace(std::string_view subsystem, uint64_t seed, int size) {
  return runner::find_subsystem(subsystem)->gen()(rc::Random(seed), size).value();
}

}  // namespace nv::props
