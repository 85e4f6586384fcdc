// Fuzz target: every registered subsystem's ops mixed in one trace.
#include "fuzz/harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const nv::fuzz::Harness harness(nv::fuzz::HarnessOptions{});
  return harness.run_one(data, size);
}
