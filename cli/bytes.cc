// netverify decode / encode: fuzz inputs <-> traces (fuzz/byte_trace.h).
#include <cstdio>

#include "cli/exit_status.h"
#include "cli/flags.h"
#include "cli/output_file.h"
#include "cli/trace_file.h"
#include "fuzz/byte_trace.h"
#include "fuzz/harness.h"
#include "runner/subsystem.h"
#include "trace/printer.h"

namespace nv::cli {
namespace {

// The decoder options of --target's fuzz target (validated by the flag table).
fuzz::ByteTraceOptions byte_options(const Args& args) {
  return *fuzz::target_options(args.get("--target", std::string(fuzz::kAllTarget)));
}

int run_decode(const Args& args) {
  std::string error;
  // A fuzz input is bytes, not lines: only --max-bytes applies.
  auto input = read_input(args.positional[0], args.input_limits().max_bytes, 0, &error);
  if (!input) {
    std::fprintf(stderr, "netverify decode: %s\n", error.c_str());
    return kExitUsage;
  }
  const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(input->data()),
                                       input->size());
  // With --schedules, what the fuzz target ran: the decoded trace, or it
  // with the schedule that failed written in.
  std::optional<fuzz::Finding> f;
  if (args.has("--schedules"))
    f = fuzz::Harness({.target = args.get("--target", std::string(fuzz::kAllTarget)),
                       .mutants = args.all("--inject")})
            .find(bytes);
  if (f && !f->reproduces) std::fprintf(stderr, "netverify decode: %s\n", fuzz::kNotReproducing);
  const trace::Trace t =
      f ? std::move(f->trace) : fuzz::decode(bytes, runner::registry(), byte_options(args));
  std::fputs(trace::print(t).c_str(), stdout);
  return kExitOk;
}

int run_encode(const Args& args) {
  const std::string out = args.get("-o", "-");
  std::optional<OutputFile> file;
  std::string error;
  if (out != "-") {
    int status;
    file = OutputFile::create(out, &error, &status);
    if (!file) {
      std::fprintf(stderr, "netverify encode: -o %s\n", error.c_str());
      return status;
    }
  }
  auto t = load_trace(args.positional[0], args.input_limits());
  if (!t) return kExitUsage;
  auto bytes = fuzz::encode(*t, runner::registry(), byte_options(args), &error);
  if (!bytes) {
    std::fprintf(stderr, "netverify encode: %s: %s\n", args.positional[0].c_str(), error.c_str());
    return kExitUsage;
  }
  const std::string_view data(reinterpret_cast<const char*>(bytes->data()), bytes->size());
  if (!file) {
    std::fwrite(data.data(), 1, data.size(), stdout);
    return kExitOk;  // main() checks that stdout got it
  }
  if (!file->write(data, &error) || !file->commit(&error)) {
    std::fprintf(stderr, "netverify encode: %s\n", error.c_str());
    return kExitEnvironment;
  }
  return kExitOk;
}

constexpr Flag kTargetFlag{.name = "--target",
                           .value = "NAME",
                           .help = "as this fuzz target does: a subsystem's, or all (default)",
                           .type = FlagType::kFuzzTarget};

}  // namespace

const Command& decode_command() {
  static const Command kCommand{
      .name = "decode",
      .summary = "print the trace a fuzz input stands for",
      .operands = "FILE",
      .help =
          "Prints the trace a fuzz input stands for. Every byte string decodes to a\n"
          "valid trace; the fuzz targets see exactly this trace. A target also runs a\n"
          "trace with a concurrent section under a few schedules of its own, seeded by\n"
          "the input (fuzz/harness.h): with --schedules, decode runs the input as the\n"
          "target does and, when one of those schedules fails, prints the trace with\n"
          "it written in as sched lines, the trace that replay reproduces.",
      .flags = {kTargetFlag,
                {.name = "--schedules",
                 .value = "",
                 .help = "print the schedule that failed the target, written in",
                 .type = FlagType::kSwitch},
                kInjectFlag,
                kInputLimitFlags[0]},  // bytes, not lines
      .min_positional = 1,
      .max_positional = 1,
      .run = run_decode};
  return kCommand;
}

const Command& encode_command() {
  static const Command kCommand{
      .name = "encode",
      .summary = "write the fuzz input that decodes to a trace",
      .operands = "TRACE",
      .help =
          "Writes the fuzz input bytes that decode to TRACE (expectations are left\n"
          "out; namespaces other than a..h are renamed to free names of a..h), so that\n"
          "hand-written traces and corpora/ seed the fuzzers.",
      .flags = reads_input({{.name = "-o",
                             .value = "FILE",
                             .help = "output file, written atomically (default, or -: stdout)",
                             .type = FlagType::kOutputPath},
                            kTargetFlag}),
      .min_positional = 1,
      .max_positional = 1,
      .run = run_encode};
  return kCommand;
}

}  // namespace nv::cli
