// netverify z3-prove: the Z3 proofs about the reassembly rule
// (symbolic/frag_proofs.h), each PROVED or FAILED with a counterexample trace.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "cli/exit_status.h"
#include "cli/flags.h"
#include "cli/output_file.h"
#include "symbolic/frag_proofs.h"
#include "trace/parser.h"

namespace nv::cli {
namespace {

// Writes the counterexample atomically where failing properties write theirs.
std::string write_failure(const std::string& name, const std::string& text) {
  const char* env = std::getenv("NV_FAILURE_DIR");
  const std::filesystem::path dir = env && *env ? env : ".";
  const std::filesystem::path path = dir / ("z3-prove-" + name + ".failure.trace");
  std::string error;
  if (write_file_atomically(path.string(), text, &error) != kExitOk) {
    std::fprintf(stderr, "netverify z3-prove: %s\n", error.c_str());
    return "";
  }
  return path.string();
}

int run_z3_prove(const Args& args) {
  std::vector<const symbolic::Proof*> chosen;
  for (const symbolic::Proof& p : symbolic::proofs())
    if (args.positional.empty() ||
        std::find(args.positional.begin(), args.positional.end(), p.name) != args.positional.end())
      chosen.push_back(&p);
  for (const std::string& name : args.positional) {
    bool known = false;
    for (const symbolic::Proof& p : symbolic::proofs()) known = known || p.name == name;
    if (!known) {
      std::fprintf(stderr,
                   "netverify z3-prove: unknown proof '%s'; known:", trace::excerpt(name).c_str());
      for (const symbolic::Proof& p : symbolic::proofs())
        std::fprintf(stderr, " %s", p.name.c_str());
      std::fprintf(stderr, "\n");
      return kExitUsage;
    }
  }
  int failed = 0;
  bool lost = false;
  for (const symbolic::Proof* p : chosen) {
    const symbolic::ProofResult r = symbolic::prove(*p);
    std::printf("%s\n", r.report.c_str());
    if (r.proved) continue;
    ++failed;
    if (!r.counterexample_trace.empty()) {
      const std::string file = write_failure(p->name, r.counterexample_trace);
      if (!file.empty())
        std::printf("  reproduce: netverify replay %s\n", file.c_str());
      else
        lost = true;
    }
  }
  // A counterexample that could not be written is lost: 3 outranks 1.
  return lost ? kExitEnvironment : failed ? kExitFinding : kExitOk;
}

}  // namespace

const Command& z3_prove_command() {
  static const Command kCommand{
      .name = "z3-prove",
      .summary = "prove properties of the reassembly rule with Z3",
      .operands = "[PROOF]...",
      .help =
          "Proves, with Z3, properties of the reassembly decision (model/frag/frag_rule.h)\n"
          "for every fragment within the trace ranges and every queue of up to 3 runs:\n"
          "v4-datagram-fits, trim-keeps-order, decision-total, memory-bound, v6-rfc,\n"
          "queue-invariant; and that the ECN combination at reassembly is the kernel's\n"
          "ip_frag_ecn_table: ecn-table (all by default). Each prints PROVED with its\n"
          "statement and bounds, or FAILED with a counterexample, also written as a\n"
          "trace to $NV_FAILURE_DIR (default: the working directory). Exit 1 if any\n"
          "failed.",
      .flags = {},
      .min_positional = 0,
      .max_positional = 100,
      .run = run_z3_prove};
  return kCommand;
}

}  // namespace nv::cli
