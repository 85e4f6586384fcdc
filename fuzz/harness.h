// The one fuzz harness body, shared by every driver: libFuzzer
// (-fsanitize=fuzzer), AFL++ (afl-clang-fast++ with its libFuzzer-style
// driver) and the plain replay main that ctest runs over corpora/fuzz/.
//
// An input is decoded into a trace (fuzz/byte_trace.h) and run through the
// model and the impl. A divergence prints the decoded trace, the failure and
// the replay command, then aborts so the fuzzer keeps the input. Malformed
// bytes never abort: every byte string is a valid trace.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/byte_trace.h"

namespace nv::fuzz {

// The fuzz targets: one per subsystem (fuzz_NAME, its frozen op table) and
// fuzz_all, every subsystem's table in its slot (fuzz/byte_trace.h).
inline constexpr std::string_view kAllTarget = "all";
std::vector<std::string> target_names();
// The decoder's options for a target; std::nullopt for an unknown name.
std::optional<ByteTraceOptions> target_options(std::string_view target);

struct HarnessOptions {
  std::string target;  // a subsystem's name, or kAllTarget
};

// A fuzz target's state, built once per process by its driver: the byte
// codec for its subsystems and the mutants to inject, which come from the
// NV_INJECT environment variable (comma-separated), so that the same binary
// hunts a planted bug.
class Harness {
 public:
  explicit Harness(const HarnessOptions& options);
  // Runs one input; returns 0, or prints the failure and aborts.
  int run_one(const uint8_t* data, size_t size) const;

 private:
  Codec codec_;
  std::vector<std::string> mutants_;
};

}  // namespace nv::fuzz
