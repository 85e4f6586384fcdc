// A fuzz target: the build defines NV_FUZZ_TARGET as a subsystem's name (the
// target fuzz_NAME) or "all" (fuzz_all), one executable per name that
// `netverify list --fuzz-targets` prints.
#include <string_view>
#include <vector>

#include "fuzz/harness.h"

#ifndef NV_FUZZ_TARGET
#error "NV_FUZZ_TARGET must name the target"
#endif

namespace {

const nv::fuzz::Harness& harness() {
  static const nv::fuzz::Harness kHarness(nv::fuzz::HarnessOptions{.target = NV_FUZZ_TARGET});
  return kHarness;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return harness().run_one(data, size);
}

// Defined by libFuzzer only (AFL++'s driver also defines LLVMFuzzerMutate).
extern "C" void __libfuzzer_is_present() __attribute__((weak));

// libFuzzer turns its length control off when a custom mutator exists
// (inputs up to -max_len from the first execution, several times slower
// each); it stays on here, as without one, unless the command line sets it.
extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  if (!__libfuzzer_is_present) return 0;
  static std::vector<char*> args;
  args.assign(*argv, *argv + *argc);
  for (char* a : args)
    if (std::string_view(a).starts_with("-len_control=")) return 0;
  static char len_control[] = "-len_control=100";
  args.push_back(len_control);
  args.push_back(nullptr);
  *argc = int(args.size() - 1);
  *argv = args.data();
  return 0;
}

// libFuzzer's own byte-level mutations (AFL++'s driver has one too, but
// never calls the custom mutator).
extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size)
    __attribute__((weak));

// libFuzzer calls this for every mutation once it is defined: half of them
// are its own byte-level ones (with the dictionary), half a step on the
// trace (fuzz/mutator.h), or a byte-level one where no step applies. AFL++
// and the plain driver never call it.
extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned int seed) {
  if (!LLVMFuzzerMutate) return size;
  if (seed % 2)
    if (size_t n = harness().mutate(data, size, max_size, seed / 2)) return n;
  return LLVMFuzzerMutate(data, size, max_size);
}
