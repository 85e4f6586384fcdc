// netverify check: replay every trace under a directory.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "cli/flags.h"
#include "cli/trace_file.h"
#include "runner/runner.h"

namespace nv::cli {
namespace {

struct Row {
  std::string path;
  size_t ops = 0;
  std::string result;
  bool ok = false;
};

Row check_one(const std::string& path) {
  Row row{path, 0, "", false};
  auto trace = load_trace(path);
  if (!trace) {
    row.result = "INVALID";
    return row;
  }
  row.ops = trace->ops.size();
  runner::RunResult r = runner::run(*trace, {});
  if (!r.ok()) {
    std::fprintf(stderr, "%s:\n%s", path.c_str(), runner::format_failure(r).c_str());
    row.result = r.divergence ? "DIVERGENCE line " + std::to_string(r.divergence->line)
                              : "EXPECT line " + std::to_string(r.expect_failures[0].line);
    return row;
  }
  // A regression trace must also catch the mutant it was written for.
  std::vector<std::string> mutants = declared_mutants(path);
  if (!valid_mutants(mutants)) {
    row.result = "UNKNOWN MUTANT";
    return row;
  }
  for (const std::string& m : mutants) {
    runner::RunOptions options;
    options.mutants = {m};
    if (runner::run(*trace, options).ok()) {
      row.result = "MISSED " + m;
      return row;
    }
  }
  row.ok = true;
  row.result = mutants.empty() ? "ok" : "ok, detects " + std::to_string(mutants.size()) + " mutant";
  return row;
}

int run_check(const Args& args) {
  const std::string dir = args.positional[0];
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    std::fprintf(stderr, "netverify check: %s: not a directory\n", dir.c_str());
    return 2;
  }
  std::vector<std::string> paths;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (it->is_regular_file() && it->path().extension() == ".trace")
      paths.push_back(it->path().string());
  }
  std::sort(paths.begin(), paths.end());
  if (paths.empty()) {
    std::fprintf(stderr, "netverify check: no .trace files under %s\n", dir.c_str());
    return 2;
  }
  const bool tty = isatty(STDERR_FILENO);
  std::vector<Row> rows;
  size_t width = 5, failed = 0, ops = 0;
  for (size_t i = 0; i < paths.size(); ++i) {
    if (tty) std::fprintf(stderr, "\r\033[K[%zu/%zu] %s", i + 1, paths.size(), paths[i].c_str());
    rows.push_back(check_one(paths[i]));
    width = std::max(width, paths[i].size());
    failed += !rows.back().ok;
    ops += rows.back().ops;
  }
  if (tty) std::fprintf(stderr, "\r\033[K");
  std::printf("%-*s %6s  %s\n", int(width), "trace", "ops", "result");
  for (const Row& r : rows)
    std::printf("%-*s %6zu  %s\n", int(width), r.path.c_str(), r.ops, r.result.c_str());
  std::printf("\n%zu traces, %zu operations: %zu passed, %zu failed\n", rows.size(), ops,
              rows.size() - failed, failed);
  return failed ? 1 : 0;
}

}  // namespace

const Command& check_command() {
  static const Command kCommand{
      .name = "check",
      .usage = "check DIR",
      .help =
          "Replays every *.trace file under DIR through model and impl. A trace that\n"
          "declares '# mutant: NAME' must also fail with that mutant injected. Prints a\n"
          "table and exits 1 if any trace fails, 2 if DIR holds no traces.",
      .flags = {},
      .min_positional = 1,
      .max_positional = 1,
      .run = run_check};
  return kCommand;
}

}  // namespace nv::cli
