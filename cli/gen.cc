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
  auto ops = trace::parse_uint(args.get("--ops", "1000000"), &error);
  if (!seed || !size || *size > 1000 || !ops) {
    std::fprintf(stderr, "netverify gen: --seed and --ops take numbers, --size 0..1000\n");
    return 2;
  }
  std::string text = gen::generate_trace(*seed, int(*size));
  // Keep the header and the first --ops operations.
  size_t end = text.find('\n');
  for (uint64_t n = 0; n < *ops && end != std::string::npos && end + 1 < text.size(); ++n)
    end = text.find('\n', end + 1);
  if (end != std::string::npos) text.resize(end + 1);
  std::printf("# netverify gen --seed %llu --size %llu\n%s", (unsigned long long)*seed,
              (unsigned long long)*size, text.c_str());
  return 0;
}

}  // namespace

const Command& gen_command() {
  static const Command kCommand{
      .name = "gen",
      .usage = "gen [--seed N] [--size N] [--ops N]",
      .help =
          "Prints a random fragment trace built by the same generators the property\n"
          "tests use. The same seed and size always print the same trace.",
      .flags = {{"--seed", "N", "random seed (default 0)"},
                {"--size", "N",
                 "rapidcheck size, 0..1000: larger means longer traces (default 50)"},
                {"--ops", "N", "print at most the first N operations"}},
      .min_positional = 0,
      .max_positional = 0,
      .run = run_gen};
  return kCommand;
}

}  // namespace nv::cli
