// netverify gen: print a random trace from the property generators.
#include <cstdio>
#include <string>

#include "cli/flags.h"
#include "properties/differential.h"
#include "runner/subsystem.h"
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
  const std::string subsystem = args.get("--subsystem", "frag");
  if (!runner::find_subsystem(subsystem)) {
    std::string names;
    for (const runner::Subsystem& s : runner::subsystems()) names += " " + s.name;
    std::fprintf(stderr, "netverify gen: unknown subsystem '%s' (one of:%s)\n", subsystem.c_str(),
                 names.c_str());
    return 2;
  }
  std::string text = props::generate_trace(subsystem, *seed, int(*size));
  // Keep the header and the first --ops operations.
  size_t end = text.find('\n');
  for (uint64_t n = 0; n < *ops && end != std::string::npos && end + 1 < text.size(); ++n)
    end = text.find('\n', end + 1);
  if (end != std::string::npos) text.resize(end + 1);
  std::printf("# netverify gen --subsystem %s --seed %llu --size %llu\n%s", subsystem.c_str(),
              (unsigned long long)*seed, (unsigned long long)*size, text.c_str());
  return 0;
}

}  // namespace

const Command& gen_command() {
  static const Command kCommand{
      .name = "gen",
      .usage = "gen [--subsystem NAME] [--seed N] [--size N] [--ops N]",
      .help =
          "Prints a random trace built by a subsystem's generator, the one the property\n"
          "tests use. The same subsystem, seed and size always print the same trace.",
      .flags = {{"--subsystem", "NAME",
                 "whose generator (default frag; netverify list names them)"},
                {"--seed", "N", "random seed (default 0)"},
                {"--size", "N",
                 "rapidcheck size, 0..1000: larger means longer traces (default 50)"},
                {"--ops", "N", "print at most the first N operations"}},
      .min_positional = 0,
      .max_positional = 0,
      .run = run_gen};
  return kCommand;
}

}  // namespace nv::cli
