// netverify z3-cases: boundary cases of the reassembly rule, found by Z3, as
// traces (symbolic/frag_cases.h).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "cli/exit_status.h"
#include "cli/flags.h"
#include "cli/output_file.h"
#include "symbolic/frag_cases.h"

namespace nv::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* kIndex = "cases.txt";

// DIR must be absent, empty, or an earlier output (it has cases.txt), whose
// files are then replaced.
bool prepare(const fs::path& dir, std::string* error) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return fs::create_directories(dir, ec) || !ec;
  if (!fs::is_directory(dir, ec)) {
    *error = dir.string() + ": not a directory";
    return false;
  }
  if (fs::is_empty(dir, ec)) return true;
  if (!fs::exists(dir / kIndex, ec)) {
    *error = dir.string() + ": not empty and not an earlier z3-cases output (no " + kIndex + ")";
    return false;
  }
  for (const char* sub : {"v4", "v6", kIndex}) fs::remove_all(dir / sub, ec);
  return true;
}

// Writes one file atomically; on failure prints why and returns false.
bool write_file(const fs::path& path, const std::string& text) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  std::string error;
  if (ec) {
    error = path.parent_path().string() + ": " + ec.message();
  } else if (write_file_atomically(path.string(), text, &error) == kExitOk) {
    return true;
  }
  std::fprintf(stderr, "netverify z3-cases: %s\n", error.c_str());
  return false;
}

int run_z3_cases(const Args& args) {
  const fs::path dir = args.get("-o", "");
  std::string error;
  if (dir.empty()) {
    std::fprintf(stderr, "netverify z3-cases: -o DIR is required\n");
    return kExitUsage;
  }
  if (!prepare(dir, &error)) {
    std::fprintf(stderr, "netverify z3-cases: %s\n", error.c_str());
    return kExitUsage;
  }
  symbolic::Cases cases;
  try {
    cases = symbolic::enumerate_cases(std::max(1u, std::thread::hardware_concurrency()));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "netverify z3-cases: %s\n", e.what());
    return kExitEnvironment;
  }
  for (const auto& [path, text] : cases.files)
    if (!write_file(dir / path, text)) return kExitEnvironment;
  if (!write_file(dir / kIndex, cases.index())) return kExitEnvironment;
  std::printf("%s", cases.summary().c_str());
  if (args.has("--infeasible")) {
    for (const symbolic::CaseResult& c : cases.cases)
      if (c.file.empty())
        std::printf("infeasible: %s %s %s\n", c.family.c_str(), c.shape.c_str(), c.name.c_str());
  }
  std::printf("wrote %zu traces and %s (every case, the infeasible ones too%s) under %s\n",
              cases.files.size(), kIndex,
              args.has("--infeasible") ? "" : "; --infeasible prints them", dir.c_str());
  return kExitOk;
}

}  // namespace

const Command& z3_cases_command() {
  static const Command kCommand{
      .name = "z3-cases",
      .summary = "write the boundary cases of the reassembly rule, found by Z3, as traces",
      .help =
          "Enumerates, with Z3, every outcome of the reassembly decision\n"
          "(model/frag/frag_rule.h), every relation of a fragment to the queued runs, and\n"
          "every boundary of every comparison the decision makes, for v4 and v6, after\n"
          "zero, one and two queued fragments; writes one trace per distinct witness\n"
          "(with `expect` lines stating what the model decides) and DIR/cases.txt listing\n"
          "every case with its trace or \"infeasible\". The output is the same on every run.\n"
          "DIR must be absent, empty, or an earlier output, which is replaced.",
      .flags = {{.name = "-o",
                 .value = "DIR",
                 .help = "where to write (corpora/z3 is the committed copy)",
                 .required = true},
                {.name = "--infeasible",
                 .value = "",
                 .help = "also list the infeasible cases on stdout",
                 .type = FlagType::kSwitch}},
      .min_positional = 0,
      .max_positional = 0,
      .run = run_z3_cases};
  return kCommand;
}

}  // namespace nv::cli
