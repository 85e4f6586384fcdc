#include "fuzz/byte_trace.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include "fuzz/harness.h"
#include "runner/subsystem.h"
#include "trace/parser.h"
#include "trace/printer.h"

namespace nv::fuzz {
namespace {

const trace::Registry& reg() {
  return runner::registry();
}

// The options of fuzz_all, which decodes every subsystem's ops.
const ByteTraceOptions& all() {
  static const ByteTraceOptions kAll = *target_options(kAllTarget);
  return kAll;
}

// Every byte string decodes to a trace that prints, parses back to the same
// operations, and encodes to bytes that decode to it again.
TEST(ByteTrace, EveryInputIsAValidTrace) {
  std::mt19937_64 rng(7);
  size_t ops = 0, with_ecn = 0;
  std::set<std::string> kinds;
  for (int i = 0; i < 3000; ++i) {
    std::vector<uint8_t> bytes(rng() % 600);
    for (uint8_t& b : bytes) b = uint8_t(rng());
    trace::Trace t = decode(bytes, reg(), all());
    const std::string text = trace::print(t);
    trace::ParseResult again = trace::parse(text, reg());
    ASSERT_FALSE(again.error) << again.error->message;
    ASSERT_TRUE(again.trace.ops == t.ops);
    std::string error;
    auto encoded = encode(t, reg(), all(), &error);
    ASSERT_TRUE(encoded) << error;
    const std::string round = trace::print(decode(*encoded, reg(), all()));
    if (round != text) {
      size_t at = 0;
      while (at < round.size() && at < text.size() && round[at] == text[at]) ++at;
      size_t line = text.rfind('\n', at) + 1;
      FAIL() << "re-encoded trace differs at:\n  "
             << text.substr(line, std::min<size_t>(200, text.find('\n', line) - line)) << "\n  "
             << round.substr(line, std::min<size_t>(200, round.find('\n', line) - line));
    }
    ops += t.ops.size();
    for (const auto& op : t.ops) kinds.insert(op.spec->name);
    with_ecn += text.find(" ecn=") != std::string::npos;
  }
  EXPECT_GT(ops, 10000u);
  EXPECT_GT(with_ecn, 0u);  // frag+ecn, a later table's entry
  // Every operation of the fuzz tables shows up, later tables' too.
  auto seen = [&](const std::string& entry) {
    const std::string name = entry.substr(0, entry.find('+'));
    EXPECT_TRUE(kinds.count(name.starts_with("go ") ? name.substr(3) : name)) << entry;
  };
  for (const runner::Subsystem& s : runner::subsystems()) {
    for (const std::string& name : s.fuzz_ops) seen(name);
    for (const runner::Subsystem::FuzzTable& later : s.fuzz_later)
      for (const std::string& name : later.ops) seen(name);
  }
}

// A small change of the input changes the trace a little: flipping one byte
// leaves most operations as they were.
TEST(ByteTrace, SmallChangesStayLocal) {
  std::mt19937_64 rng(9);
  size_t kept = 0, total = 0;
  for (int i = 0; i < 500; ++i) {
    std::vector<uint8_t> bytes(400);
    for (uint8_t& b : bytes) b = uint8_t(rng());
    trace::Trace a = decode(bytes, reg(), all());
    bytes[rng() % bytes.size()] ^= uint8_t(1 + rng() % 255);
    trace::Trace b = decode(bytes, reg(), all());
    for (size_t k = 0; k < std::min(a.ops.size(), b.ops.size()); ++k) kept += a.ops[k] == b.ops[k];
    total += a.ops.size();
  }
  EXPECT_GT(double(kept) / double(total), 0.5);
}

// Every corpus trace encodes, and decodes back to itself (its expectations
// aside, namespaces renamed in order of creation).
TEST(ByteTrace, CorporaRoundTrip) {
  size_t n = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(NV_SOURCE_DIR "/corpora")) {
    if (e.path().extension() != ".trace") continue;
    trace::ParseResult r = trace::parse_file(e.path().string(), reg());
    ASSERT_FALSE(r.error) << e.path();
    std::string error;
    auto bytes = encode(r.trace, reg(), all(), &error);
    ASSERT_TRUE(bytes) << e.path() << ": " << error;
    trace::Trace back = decode(*bytes, reg(), all());
    size_t k = 0;
    for (const auto& op : r.trace.ops) {
      if (op.spec->expect) continue;
      ASSERT_LT(k, back.ops.size()) << e.path();
      EXPECT_EQ(op.spec, back.ops[k].spec) << e.path() << " line " << op.line;
      if (op.spec->name == "frag") {
        EXPECT_TRUE(op.args[1] == back.ops[k].args[1] && op.args[2] == back.ops[k].args[2]);
      }
      ++k;
    }
    EXPECT_EQ(k, back.ops.size()) << e.path();
    ++n;
  }
  EXPECT_GT(n, 20u);
}

// A late field (FieldSpec::late) is decoded for a table entry naming it
// only: the frozen "frag" entry neither decodes nor encodes ecn=.
TEST(ByteTrace, LateFieldsOnlyWhereTheTableNamesThem) {
  const trace::ParseResult r =
      trace::parse("netverify-trace 1\nfrag init v4 id=1 off=0 len=8 mf=1 ecn=ce\n", reg());
  ASSERT_FALSE(r.error);
  ByteTraceOptions frozen, named;
  frozen.ops = {"frag"};
  named.ops = {"frag+ecn"};
  std::string error;
  EXPECT_FALSE(encode(r.trace, reg(), frozen, &error));
  EXPECT_NE(error.find("fields"), std::string::npos) << error;
  const auto bytes = encode(r.trace, reg(), named, &error);
  ASSERT_TRUE(bytes) << error;
  EXPECT_EQ(trace::print(decode(*bytes, reg(), named)), trace::print(r.trace));
  // Under the frozen entry the same bytes mean the fragment without it
  // (the ecn byte then reads as a next record).
  EXPECT_EQ(trace::print(decode(*bytes, reg(), frozen)).find("ecn="), std::string::npos);
}

// A later table (Subsystem::fuzz_later) is a slot of fuzz_all: what it
// decodes, fuzz_all encodes, and the subsystem's own target does not.
TEST(ByteTrace, LaterTablesAreSlotsOfFuzzAll) {
  const trace::ParseResult r = trace::parse(
      "netverify-trace 1\nfrag init v4 id=1 off=0 len=8 mf=1 ecn=ce\npolicy frag evict\n"
      "frag init v4 id=1 off=8 len=8 mf=0\n",
      reg());
  ASSERT_FALSE(r.error);
  std::string error;
  EXPECT_FALSE(encode(r.trace, reg(), *target_options("frag"), &error));
  const auto bytes = encode(r.trace, reg(), all(), &error);
  ASSERT_TRUE(bytes) << error;
  EXPECT_EQ(trace::print(decode(*bytes, reg(), all())), trace::print(r.trace));
  const runner::Subsystem& frag = *runner::find_subsystem("frag");
  ASSERT_FALSE(frag.fuzz_later.empty());
  // The ECN fragment takes the later table's slot (the first that holds it).
  EXPECT_EQ((*bytes)[0], frag.fuzz_later[0].slot);
  // A fragment with DF, in the table whose only entry is "frag+ecn+df": its
  // words (v4) are frag's, though no entry names the op alone.
  const trace::ParseResult df = trace::parse(
      "netverify-trace 1\npolicy frag-reasm list\nfrag init v4 id=1 off=0 len=8 mf=1 df=1\n",
      reg());
  ASSERT_FALSE(df.error);
  const auto df_bytes = encode(df.trace, reg(), all(), &error);
  ASSERT_TRUE(df_bytes) << error;
  EXPECT_EQ(trace::print(decode(*df_bytes, reg(), all())), trace::print(df.trace));
  // v6 extension headers and v4 options: only the fifth table
  // ("frag+ecn+df+ext+opt") has them.
  const trace::ParseResult ext = trace::parse(
      "netverify-trace 1\nfrag init v6 id=1 off=0 len=8 mf=1 ext=hbh+rt\n"
      "frag init v4 id=1 off=0 len=8 mf=1 opt=ts\n",
      reg());
  ASSERT_FALSE(ext.error);
  const auto ext_bytes = encode(ext.trace, reg(), all(), &error);
  ASSERT_TRUE(ext_bytes) << error;
  EXPECT_EQ((*ext_bytes)[0], frag.fuzz_later.back().slot);
  EXPECT_EQ(trace::print(decode(*ext_bytes, reg(), all())), trace::print(ext.trace));
}

// Inputs keep their meaning as subsystems and ops are added: fuzz/testdata
// holds random inputs with the traces fuzz_frag decoded them to before the
// netns subsystem existed (netverify decode FILE --subsystem frag, at
// commit a368efb), and fuzz_frag must still decode each to exactly that.
TEST(ByteTrace, FragInputsDecodeAsBefore) {
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(NV_SOURCE_DIR "/fuzz/testdata")) {
    if (e.path().extension() != ".bin") continue;
    std::ifstream in(e.path(), std::ios::binary);
    const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
    std::ifstream want_in(std::filesystem::path(e.path()).replace_extension(".trace"));
    const std::string want((std::istreambuf_iterator<char>(want_in)), {});
    EXPECT_EQ(trace::print(decode(bytes, reg(), *target_options("frag"))), want) << e.path();
    ++n;
  }
  EXPECT_GE(n, 6u);
}

}  // namespace
}  // namespace nv::fuzz
