// netverify gen: print a random trace from the property generators.
#include <cstdio>
#include <string>

#include "cli/flags.h"
#include "properties/gen/frag_gen.h"
#include "trace/value.h"

namespace nv::cli {
namespace {

int run_gen(const Args& args) {
  std::string error;
  auto seed = trace::parse_uint(args.get("--seed", "0"), &error);
  auto size = trace::parse_uint(args.get("--size", "50"), &error);
  if (!seed || !size || *size > 1000) {
    std::fprintf(stderr, "netverify gen: --seed takes a number, --size 0..1000\n");
    return 2;
  }
  std::printf("# netverify gen --seed %llu --size %llu\n%s", (unsigned long long)*seed,
              (unsigned long long)*size, gen::generate_trace(*seed, int(*size)).c_str());
  return 0;
}

}  // namespace

const Command& gen_command() {
  static const Command kCommand{
      .name = "gen",
      .usage = "gen [--seed N] [--size N]",
      .help = "Prints a random fragment trace built by the same generators the property\n"
              "tests use. The same seed and size always print the same trace.",
      .flags = {{"--seed", "N", "random seed (default 0)"},
                {"--size", "N", "rapidcheck size, 0..1000: larger means longer traces (default 50)"}},
      .min_positional = 0,
      .max_positional = 0,
      .run = run_gen};
  return kCommand;
}

}  // namespace nv::cli
