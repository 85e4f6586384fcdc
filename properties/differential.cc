#include "properties/differential.h"

#include <rapidcheck.h>

#include <algorithm>

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

}  // namespace

void differential_property(std::string_view subsystem, const std::vector<std::string>& mutants,
                           const runner::Designs& designs) {
  const std::string generated = *runner::find_subsystem(subsystem)->gen();
  trace::ParseResult parsed = trace::parse(generated, runner::registry());
  RC_ASSERT(!parsed.error.has_value());
  // Concurrent sections are drained by PCT (Burckhardt et al., ASPLOS 2010)
  // with a generated seed and depth, or by a seeded random walk (which
  // reaches races needing a switch at one exact point more often than PCT
  // with few change points); the failure is saved with its schedule written
  // in as sched lines, so that replay needs no seed.
  const uint64_t seed = *rc::gen::arbitrary<uint64_t>();
  const uint32_t depth = *rc::gen::inRange<uint32_t>(0, 4);  // 0: the random walk
  sched::PctStrategy pct(seed, std::max<uint32_t>(depth, 1), /*max_steps=*/60);
  sched::RandomStrategy walk(seed);
  runner::RunOptions options;
  options.mutants = mutants;
  options.designs = designs;
  options.strategy = depth == 0 ? static_cast<sched::Strategy*>(&walk) : &pct;
  runner::RunResult result = runner::run(parsed.trace, options);
  if (result.ok()) return;
  const std::string text = trace::print(runner::with_schedule(parsed.trace, result));
  const std::string path = save_failure(failure_name(mutants, designs), text);
  std::string replay = replay_command(path, mutants);
  for (const auto& [sub, d] : designs) replay += " --design " + sub + "=" + d;
  RC_FAIL(runner::format_failure(result) + "trace written to " + path + "\nreplay: " + replay +
          "\n" + text);
}

Detection detect(const std::vector<std::string>& mutants, uint64_t seed, int max_success,
                 bool shrink) {
  rc::detail::TestParams params;
  params.disableShrinking = !shrink;
  params.seed = seed;
  params.maxSuccess = max_success;
  // The generator of the mutant's subsystem, or of the one that reaches it.
  std::string subsystem = "frag";
  if (const runner::Subsystem* owner =
          mutants.empty() ? nullptr : runner::subsystem_of_mutant(mutants[0])) {
    subsystem = owner->name;
    for (const runner::MutantInfo& m : owner->mutants)
      if (m.name == mutants[0] && !m.found_by.empty()) subsystem = m.found_by;
  }
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
