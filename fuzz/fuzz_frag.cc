// Fuzz target: fragment reassembly (and the core ops).
#include "fuzz/harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const nv::fuzz::Harness harness(nv::fuzz::HarnessOptions{.subsystems = {"frag"}});
  return harness.run_one(data, size);
}
