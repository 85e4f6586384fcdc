// A fuzz target: the build defines NV_FUZZ_TARGET as a subsystem's name (the
// target fuzz_NAME) or "all" (fuzz_all), one executable per name that
// `netverify list --fuzz-targets` prints.
#include "fuzz/harness.h"

#ifndef NV_FUZZ_TARGET
#error "NV_FUZZ_TARGET must name the target"
#endif

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const nv::fuzz::Harness harness(nv::fuzz::HarnessOptions{.target = NV_FUZZ_TARGET});
  return harness.run_one(data, size);
}
