// netverify decode / encode: fuzz inputs <-> traces (fuzz/byte_trace.h).
#include <cstdio>
#include <fstream>
#include <iterator>

#include "cli/flags.h"
#include "cli/trace_file.h"
#include "fuzz/byte_trace.h"
#include "fuzz/harness.h"
#include "runner/subsystem.h"
#include "trace/printer.h"

namespace nv::cli {
namespace {

// The decoder options of --target's fuzz target; std::nullopt (after
// saying why) for an unknown target.
std::optional<fuzz::ByteTraceOptions> byte_options(const Args& args, const char* command) {
  const std::string target = args.get("--target", std::string(fuzz::kAllTarget));
  if (auto o = fuzz::target_options(target)) return o;
  std::string names;
  for (const std::string& t : fuzz::target_names()) names += " " + t;
  std::fprintf(stderr, "netverify %s: unknown target '%s' (one of:%s)\n", command, target.c_str(),
               names.c_str());
  return std::nullopt;
}

int run_decode(const Args& args) {
  std::ifstream in(args.positional[0], std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "netverify decode: %s: cannot read file\n", args.positional[0].c_str());
    return 2;
  }
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
  const auto options = byte_options(args, "decode");
  if (!options) return 2;
  std::fputs(trace::print(fuzz::decode(bytes, runner::registry(), *options)).c_str(), stdout);
  return 0;
}

int run_encode(const Args& args) {
  auto t = load_trace(args.positional[0]);
  if (!t) return 2;
  const auto options = byte_options(args, "encode");
  if (!options) return 2;
  std::string error;
  auto bytes = fuzz::encode(*t, runner::registry(), *options, &error);
  if (!bytes) {
    std::fprintf(stderr, "netverify encode: %s: %s\n", args.positional[0].c_str(), error.c_str());
    return 2;
  }
  const std::string out = args.get("-o", "-");
  FILE* f = out == "-" ? stdout : std::fopen(out.c_str(), "wb");
  if (!f) {
    std::fprintf(stderr, "netverify encode: %s: cannot write\n", out.c_str());
    return 2;
  }
  std::fwrite(bytes->data(), 1, bytes->size(), f);
  if (f != stdout) std::fclose(f);
  return 0;
}

}  // namespace

const Command& decode_command() {
  static const Command kCommand{
      .name = "decode",
      .usage = "decode FILE [--target NAME]",
      .help =
          "Prints the trace a fuzz input stands for. Every byte string decodes to a\n"
          "valid trace; the fuzz targets see exactly this trace.",
      .flags = {{"--target", "NAME",
                 "decode as this fuzz target does: a subsystem or all (default)"}},
      .min_positional = 1,
      .max_positional = 1,
      .run = run_decode};
  return kCommand;
}

const Command& encode_command() {
  static const Command kCommand{
      .name = "encode",
      .usage = "encode TRACE [-o FILE] [--target NAME]",
      .help =
          "Writes the fuzz input bytes that decode to TRACE (expectations are left\n"
          "out; namespaces other than a..h are renamed to free names of a..h), so that\n"
          "hand-written traces and corpora/ seed the fuzzers.",
      .flags = {{"-o", "FILE", "output file (default: stdout)"},
                {"--target", "NAME", "encode for this fuzz target: a subsystem or all (default)"}},
      .min_positional = 1,
      .max_positional = 1,
      .run = run_encode};
  return kCommand;
}

}  // namespace nv::cli
