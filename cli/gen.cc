// netverify gen: print a random trace from the property generators.
#include <cstdio>
#include <string>

#include "cli/exit_status.h"
#include "cli/flags.h"
#include "properties/differential.h"
#include "runner/subsystem.h"
#include "trace/value.h"

namespace nv::cli {
namespace {

int run_gen(const Args& args) {
  // Validated by the flag table.
  const std::optional<uint64_t> seed = args.uint("--seed", 0), size = args.uint("--size", 50),
                                ops = args.uint("--ops", 1000000);
  const std::string subsystem = args.get("--subsystem", "frag");
  std::string text = props::generate_trace(subsystem, *seed, int(*size));
  // Keep the header and the first --ops operations.
  size_t end = text.find('\n');
  for (uint64_t n = 0; n < *ops && end != std::string::npos && end + 1 < text.size(); ++n)
    end = text.find('\n', end + 1);
  if (end != std::string::npos) text.resize(end + 1);
  std::printf("# netverify gen --subsystem %s --seed %llu --size %llu\n%s", subsystem.c_str(),
              (unsigned long long)*seed, (unsigned long long)*size, text.c_str());
  return kExitOk;
}

}  // namespace

const Command& gen_command() {
  static const Command kCommand{
      .name = "gen",
      .summary = "print a random trace from a subsystem's property generator",
      .help =
          "Prints a random trace built by a subsystem's generator, the one the property\n"
          "tests use. The same subsystem, seed and size always print the same trace.",
      .flags = {{.name = "--subsystem",
                 .value = "NAME",
                 .help = "whose generator (default frag; netverify list names them)",
                 .type = FlagType::kSubsystem},
                {.name = "--seed",
                 .value = "N",
                 .help = "random seed (default 0)",
                 .type = FlagType::kUint},
                {.name = "--size",
                 .value = "N",
                 .help = "rapidcheck size, 0..1000: larger means longer traces (default 50)",
                 .type = FlagType::kUint,
                 .max = 1000},
                {.name = "--ops",
                 .value = "N",
                 .help = "print at most the first N operations",
                 .type = FlagType::kUint}},
      .min_positional = 0,
      .max_positional = 0,
      .run = run_gen};
  return kCommand;
}

}  // namespace nv::cli
