// The one fuzz harness body, shared by every driver: libFuzzer
// (-fsanitize=fuzzer), AFL++ (afl-clang-fast++ with its libFuzzer-style
// driver) and the plain replay main that ctest runs over corpora/fuzz/.
//
// An input is decoded into a trace (fuzz/byte_trace.h) and run through the
// model and the impl. A trace with a concurrent section runs again under a
// few schedules that seeded strategies pick once its own sched lines are
// used up (the seed is the input's hash: the same bytes run the same
// schedules), so that a race needs the fuzzer to find its operations, not
// every decision of its schedule. A divergence prints the failing trace,
// with the schedule that failed written in as sched lines (replayed first:
// when it passes, the report says the engines are not deterministic), the
// failure and the replay command, then aborts so the fuzzer keeps the input. Malformed
// bytes never abort: every byte string is a valid trace.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/byte_trace.h"
#include "fuzz/mutator.h"
#include "runner/runner.h"

namespace nv::fuzz {

// The fuzz targets: one per subsystem (fuzz_NAME, its frozen op table) and
// fuzz_all, every subsystem's table in its slot (fuzz/byte_trace.h).
inline constexpr std::string_view kAllTarget = "all";
std::vector<std::string> target_names();
// The decoder's options for a target; std::nullopt for an unknown name.
std::optional<ByteTraceOptions> target_options(std::string_view target);

struct HarnessOptions {
  std::string target;  // a subsystem's name, or kAllTarget
  // The mutants to inject; std::nullopt: those NV_INJECT names.
  std::optional<std::vector<std::string>> mutants = std::nullopt;
};

// A failing input: the trace that fails (the decoded trace, or it with the
// failing schedule written in) and its run. `reproduces` is false when the
// trace with the schedule written in passed as replay runs it, although the
// strategy's run of the same schedule failed: `result` is then the
// strategy's run, and the engines are not deterministic (a bug of
// netverify's, reported as such).
struct Finding {
  trace::Trace trace;
  runner::RunResult result;
  bool reproduces = true;
};

// What the harness and `netverify decode --schedules` say of a finding that
// does not reproduce.
inline constexpr const char* kNotReproducing =
    "BUG: the trace, its schedule written in, passes when replayed although "
    "that schedule failed under the harness's strategy: the engines are not "
    "deterministic; keep the input and report it";

// The finding of a schedule a strategy chose: `scheduled` (the trace with
// that schedule written in) with its replayed run when that fails, else
// with the strategy's run `seen`, marked as not reproducing.
Finding confirm(trace::Trace scheduled, runner::RunResult seen, runner::RunResult replayed);

// A fuzz target's state, built once per process by its driver: the byte
// codec for its subsystems and the mutants to inject, which come from the
// NV_INJECT environment variable (comma-separated) unless given, so that
// the same binary hunts a planted bug.
class Harness {
 public:
  explicit Harness(const HarnessOptions& options);
  // Runs one input as the fuzz targets do; std::nullopt when every run
  // agrees (or its linearizability stays undecided within the harness's
  // budget, which is no finding).
  std::optional<Finding> find(std::span<const uint8_t> bytes) const;
  // Runs one input; returns 0, or prints the failure and aborts.
  int run_one(const uint8_t* data, size_t size) const;
  // One structure-aware mutation of an input (fuzz/mutator.h).
  size_t mutate(uint8_t* data, size_t size, size_t max_size, uint64_t seed) const {
    return mutator_.mutate(data, size, max_size, seed);
  }

 private:
  std::string target_;
  Codec codec_;
  Mutator mutator_;
  std::vector<std::string> mutants_;
};

}  // namespace nv::fuzz
