// A model's fingerprint covers at least what its state description and
// digest show. The linearizability search takes two states with one
// fingerprint to be one (runner/linearize.h, Lowe's memo): a field the
// fingerprint leaves out merges states that later ops, or the end of a
// section, tell apart, and prunes the only order that matches the impl.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>

#include "runner/runner.h"
#include "runner/subsystem.h"
#include "trace/parser.h"

namespace nv::runner {
namespace {

// The trace with every address written in it moved to a neighbour: states
// that differ from the original's by addresses alone.
trace::Trace with_addresses_moved(trace::Trace t) {
  for (trace::Op& op : t.ops)
    for (std::optional<trace::Value>& v : op.args)
      if (v && std::holds_alternative<trace::Addr>(*v)) {
        trace::Addr& a = std::get<trace::Addr>(*v);
        a.bytes[a.v6 ? 15 : 3] ^= 1;
      }
  return t;
}

// Every state a model passes through running the corpora's ops in line
// order, and again with their addresses moved, keyed by fingerprint: one
// description per fingerprint.
TEST(Fingerprint, EqualFingerprintsMeanEqualDescriptions) {
  std::map<uint64_t, std::string> seen;
  size_t states = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(NV_SOURCE_DIR "/corpora")) {
    if (e.path().extension() != ".trace") continue;
    trace::ParseResult r = trace::parse_file(e.path().string(), registry());
    ASSERT_FALSE(r.error) << e.path();
    for (const trace::Trace& t : {r.trace, with_addresses_moved(r.trace)}) {
      std::unique_ptr<trace::Engine> model = make_engine(EngineKind::kModel);
      for (const trace::Op& op : t.ops) {
        if (op.spec->runner_only || op.spec->expect) continue;
        std::vector<trace::Event> events;
        model->apply(op, events);
        model->settle(events);
        const std::string state = std::to_string(model->digest()) + "\n" + model->describe();
        const auto [it, fresh] = seen.emplace(model->fingerprint(), state);
        ASSERT_EQ(it->second, state)
            << e.path() << ":" << op.line << ": a state with the fingerprint of another";
        states += fresh;
      }
    }
  }
  EXPECT_GT(states, 1000u);
}

}  // namespace
}  // namespace nv::runner
