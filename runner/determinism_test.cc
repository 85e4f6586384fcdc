// Replaying a trace twice gives the same event stream, byte for byte: any
// difference is reported as possible nondeterminism (STYLE.md 6).
#include <gtest/gtest.h>

#include <filesystem>

#include "runner/runner.h"
#include "runner/subsystem.h"
#include "trace/parser.h"

namespace nv::runner {
namespace {

std::string stream(const trace::Trace& t) {
  std::string out;
  RunOptions options;
  options.on_event = [&](std::string_view engine, uint32_t line, const trace::Event& e) {
    out += trace::to_json(e, engine, line) + "\n";
  };
  run(t, options);
  return out;
}

TEST(Determinism, EveryCorpusTraceReplaysIdentically) {
  size_t n = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(NV_SOURCE_DIR "/corpora")) {
    if (e.path().extension() != ".trace") continue;
    trace::ParseResult r = trace::parse_file(e.path().string(), registry());
    ASSERT_FALSE(r.error) << e.path();
    const std::string first = stream(r.trace);
    EXPECT_EQ(first, stream(r.trace)) << "possible nondeterminism: " << e.path();
    EXPECT_FALSE(first.empty()) << e.path();
    ++n;
  }
  EXPECT_GT(n, 100u);
}

}  // namespace
}  // namespace nv::runner
