#include "cli/trace_file.h"

#include <cstdio>
#include <fstream>

#include "runner/subsystem.h"
#include "trace/parser.h"

namespace nv::cli {

std::optional<trace::Trace> load_trace(const std::string& path) {
  trace::ParseResult r = trace::parse_file(path, runner::registry());
  if (r.error) {
    std::fprintf(stderr, "%s\n", trace::format_diagnostic(path, *r.error).c_str());
    return std::nullopt;
  }
  return std::move(r.trace);
}

std::vector<std::string> declared(const std::string& path, std::string_view tag) {
  std::vector<std::string> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with(tag)) continue;
    std::string name = line.substr(tag.size());
    name.erase(0, name.find_first_not_of(" \t"));
    name.erase(name.find_last_not_of(" \t\r") + 1);
    if (!name.empty()) out.push_back(name);
  }
  return out;
}

std::vector<std::string> declared_mutants(const std::string& path) {
  return declared(path, "# mutant:");
}

int report_failures(const runner::RunResult& result, bool json, const std::string& reproduce) {
  if (json) {
    if (const auto& d = result.divergence)
      std::printf("{\"event\":\"divergence\",\"engine\":\"runner\",\"line\":%u}\n", d->line);
    for (const auto& f : result.expect_failures)
      std::printf("{\"event\":\"expect-failed\",\"engine\":\"%s\",\"line\":%u}\n", f.engine.c_str(),
                  f.line);
  }
  if (result.ok()) return 0;
  std::fputs(runner::format_failure(result).c_str(), stderr);
  std::fprintf(stderr, "reproduce: %s\n", reproduce.c_str());
  return 1;
}

bool valid_mutants(const std::vector<std::string>& names) {
  for (const std::string& n : names) {
    if (runner::subsystem_of_mutant(n)) continue;
    std::string known;
    for (const auto& s : runner::subsystems())
      for (const auto& m : s.mutants) known += "  " + m.name + "  " + m.help + "\n";
    std::fprintf(stderr, "netverify: unknown mutant '%s'; known mutants:\n%s", n.c_str(),
                 known.c_str());
    return false;
  }
  return true;
}

}  // namespace nv::cli
