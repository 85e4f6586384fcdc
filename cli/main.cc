// netverify: replay, check and generate traces. See docs/ and `netverify help`.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/exit_status.h"
#include "cli/flags.h"
#include "cli/output_file.h"
#include "trace/parser.h"

#ifndef NV_VERSION
#error "NV_VERSION comes from project(... VERSION ...) in CMakeLists.txt"
#endif

namespace {

std::vector<const nv::cli::Command*> commands() {
  return {&nv::cli::replay_command(),       &nv::cli::check_command(),
          &nv::cli::gen_command(),          &nv::cli::decode_command(),
          &nv::cli::encode_command(),       &nv::cli::minimize_command(),
          &nv::cli::mutants_command(),      &nv::cli::kernel_command(),
          &nv::cli::kernel_check_command(), &nv::cli::kernel_fuzz_command(),
          &nv::cli::pcap_import_command(),  &nv::cli::pcap_export_command(),
          &nv::cli::z3_cases_command(),     &nv::cli::z3_prove_command(),
          &nv::cli::list_command()};
}

void usage(FILE* out) {
  std::fprintf(out,
               "usage: netverify COMMAND [options] [--] [operands]\n"
               "       netverify --help | --version\n\n"
               "Property-based verification of Linux networking lifecycles: traces drive\n"
               "a reference model and an optimized implementation, which must agree.\n\n"
               "commands:\n");
  size_t width = 0;
  for (const auto* c : commands()) width = std::max(width, c->name.size());
  for (const auto* c : commands())
    std::fprintf(out, "  %-*s  %s\n", int(width), std::string(c->name).c_str(),
                 std::string(c->summary).c_str());
  std::fprintf(out, "\n'netverify COMMAND --help' describes a command and its options.\n\n%s",
               nv::cli::exit_status_text().c_str());
}

// The command's status, unless what it wrote to stdout was lost.
int finish(std::string_view command, int status) {
  auto error = nv::cli::stdout_error();
  if (!error && std::fclose(stdout) != 0) error = "closing standard output failed";
  if (!error) return status;
  std::fprintf(stderr, "netverify%s%.*s: %s\n", command.empty() ? "" : " ", int(command.size()),
               command.data(), error->c_str());
  return status == nv::cli::kExitOk || status == nv::cli::kExitFinding ? nv::cli::kExitEnvironment
                                                                       : status;
}

int run(const std::vector<std::string>& argv) {
  using nv::cli::kExitOk;
  using nv::cli::kExitUsage;
  std::vector<std::string> args = argv;
  if (!args.empty() && args[0] == "--version") {
    std::printf("netverify %s\n", NV_VERSION);
    return kExitOk;
  }
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    if (args.size() >= 2) {
      args = {args[1], "--help"};
    } else {
      usage(args.empty() ? stderr : stdout);
      return args.empty() ? kExitUsage : kExitOk;
    }
  }
  for (const auto* c : commands()) {
    if (c->name != args[0]) continue;
    std::vector<std::string> rest(args.begin() + 1, args.end());
    for (const auto& a : rest) {
      if (a == "--") break;
      if (a == "--help" || a == "-h") {
        std::fputs(nv::cli::help_text(*c).c_str(), stdout);
        return kExitOk;
      }
    }
    std::string error;
    auto parsed = nv::cli::parse_args(*c, rest, &error);
    if (!parsed) {
      std::fprintf(stderr, "netverify %s: %s\n", std::string(c->name).c_str(), error.c_str());
      return kExitUsage;
    }
    return c->run(*parsed);
  }
  std::fprintf(stderr, "netverify: unknown command '%s'\n", nv::trace::excerpt(args[0]).c_str());
  usage(stderr);
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  const int status = run(args);
  return finish(args.empty() ? "" : args[0], status);
}
