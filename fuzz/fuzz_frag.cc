// Fuzz target: fragment reassembly (and the core ops).
#include "fuzz/harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return nv::fuzz::run_one(data, size, {.subsystems = {"frag"}});
}
