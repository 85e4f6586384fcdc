// netverify: replay, check and generate traces. See docs/ and `netverify help`.
#include <cstdio>
#include <string>
#include <vector>

#include "cli/flags.h"

namespace {

std::vector<const nv::cli::Command*> commands() {
  return {&nv::cli::replay_command(),       &nv::cli::check_command(),
          &nv::cli::gen_command(),          &nv::cli::decode_command(),
          &nv::cli::encode_command(),       &nv::cli::minimize_command(),
          &nv::cli::mutants_command(),      &nv::cli::kernel_command(),
          &nv::cli::kernel_check_command(), &nv::cli::pcap_import_command(),
          &nv::cli::pcap_export_command(),  &nv::cli::z3_cases_command(),
          &nv::cli::z3_prove_command(),     &nv::cli::list_command()};
}

void usage(FILE* out) {
  std::fprintf(out,
               "usage: netverify COMMAND [options]\n\n"
               "Property-based verification of Linux networking lifecycles: traces drive\n"
               "a reference model and an optimized implementation, which must agree.\n\n"
               "commands:\n");
  for (const auto* c : commands())
    std::fprintf(out, "  %-10s %s\n", std::string(c->name).c_str(), std::string(c->usage).c_str());
  std::fprintf(out, "\n'netverify COMMAND --help' describes a command.\n");
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    if (args.size() >= 2)
      args = {args[1], "--help"};
    else {
      usage(args.empty() ? stderr : stdout);
      return args.empty() ? 2 : 0;
    }
  }
  for (const auto* c : commands()) {
    if (c->name != args[0]) continue;
    std::vector<std::string> rest(args.begin() + 1, args.end());
    for (const auto& a : rest) {
      if (a == "--help" || a == "-h") {
        std::fputs(nv::cli::help_text(*c).c_str(), stdout);
        return 0;
      }
    }
    std::string error;
    auto parsed = nv::cli::parse_args(*c, rest, &error);
    if (!parsed) {
      std::fprintf(stderr, "netverify %s: %s\n", std::string(c->name).c_str(), error.c_str());
      return 2;
    }
    return c->run(*parsed);
  }
  std::fprintf(stderr, "netverify: unknown command '%s'\n", args[0].c_str());
  usage(stderr);
  return 2;
}
