#include "trace/parser.h"

#include <gtest/gtest.h>

#include <random>

#include "trace/frag/frag_ops.h"
#include "trace/printer.h"

namespace nv::trace {
namespace {

const trace::Registry& test_registry() {
  return frag::frag_registry();
}

std::string error_of(std::string_view text) {
  ParseResult r = parse(text, test_registry());
  return r.error ? format_diagnostic("t", *r.error) : "ok";
}

TEST(Parser, ParsesEveryCoreAndFragOperation) {
  ParseResult r = parse(
      "netverify-trace 1\n"
      "# comment\n"
      "\n"
      "netns add a   # trailing comment\n"
      "sysctl a ipv4.ipfrag_time 0x1e\n"
      "frag a v6 id=4294967295 off=65528 len=7 mf=0 src=fe80::1 dst=::1 proto=17 "
      "data=hex:00010203040506\n"
      "frag init\tv4 id=1 off=8 len=2 mf=1 data=fill:AB\n"
      "tick 250ms\n"
      "expect deliver a v6 id=4294967295 len=7 fnv1a64=af63bd4c8601b7df\n"
      "expect nodeliver init v4 id=1\n"
      "expect counter a IpReasmOKs 0\n"
      "expect mem a v6 0\n"
      "netns del a\n",
      test_registry());
  ASSERT_FALSE(r.error) << r.error->message;
  ASSERT_EQ(r.trace.ops.size(), 10u);
  const Op& frag = r.trace.ops[2];
  EXPECT_EQ(frag.line, 6u);
  EXPECT_EQ(frag.spec->name, "frag");
  EXPECT_EQ(frag.u(frag::fields::kId), 4294967295u);
  EXPECT_EQ(frag.data(frag::fields::kData).hex.size(), 7u);
  EXPECT_EQ(r.trace.ops[1].u(core::kSysctlValue), 30u);
  EXPECT_EQ(r.trace.ops[4].u(core::kTickDuration), 250u);
  EXPECT_EQ(print(r.trace.ops[3]), "frag init v4 id=1 off=8 len=2 mf=1 data=fill:ab");
}

TEST(Parser, ReportsLineAndColumn) {
  EXPECT_EQ(error_of("netverify-trace 2\n"), "t:1:17: unsupported trace version (expected 1)");
  EXPECT_EQ(error_of("\nfrob init\n"), "t:2:1: unknown operation 'frob'");
  EXPECT_EQ(error_of("frag init v4 id=1 off=0 len=8 mf=1 x=1"),
            "t:1:36: unknown key 'x' for 'frag'");
  EXPECT_EQ(error_of("frag init v4 id=1 off=0 len=8"), "t:1:30: missing key 'mf' for 'frag'");
  EXPECT_EQ(error_of("frag init v4 id=1 id=2 off=0 len=8 mf=1"), "t:1:19: duplicate key 'id'");
  EXPECT_EQ(error_of("frag init v4 id=1 off=0 len=8 mf=2"),
            "t:1:34: value out of range for 'mf' (0..1)");
  EXPECT_EQ(error_of("frag init v4 id=1 off=0 len=1z mf=1"), "t:1:29: bad number for 'len'");
  EXPECT_EQ(error_of("frag init v4 id=70000 off=0 len=8 mf=1"),
            "t:1:14: value out of range for 'id' (0..65535)");
  EXPECT_EQ(error_of("frag init v4 id=1 off=4 len=8 mf=1"),
            "t:1:19: 'off' must be a multiple of 8");
  EXPECT_EQ(error_of("frag init v4 id=1 off=0 len=8 mf=1 src=::1"),
            "t:1:36: address family does not match v4");
  EXPECT_EQ(error_of("frag init v4 id=1 off=0 len=2 mf=1 data=hex:00"),
            "t:1:36: hex data must have exactly len=2 bytes, not 1");
  EXPECT_EQ(error_of("frag b v4 id=1 off=0 len=8 mf=1"),
            "t:1:6: namespace 'b' does not exist here");
  EXPECT_EQ(error_of("netns add b\nnetns del b\nfrag b v4 id=1 off=0 len=8 mf=1"),
            "t:3:6: namespace 'b' does not exist here");
  EXPECT_EQ(error_of("netns del init"), "t:1:11: namespace 'init' cannot be deleted");
  EXPECT_EQ(error_of("netns add init"), "t:1:11: namespace 'init' already exists");
  EXPECT_EQ(error_of("sysctl init net.core.foo 1"),
            "t:1:13: unknown KEY 'net.core.foo' (expected ipv4.ipfrag_high_thresh|"
            "ipv4.ipfrag_low_thresh|ipv4.ipfrag_time|ipv6.ip6frag_high_thresh|"
            "ipv6.ip6frag_low_thresh|ipv6...)");
  EXPECT_EQ(error_of("tick 5h"), "t:1:6: bad duration (expected e.g. 250ms, 30s, 2m)");
  EXPECT_EQ(error_of("tick"), "t:1:5: missing DURATION for 'tick'");
  EXPECT_EQ(error_of("expect counter init NoSuch 1"),
            "t:1:21: unknown NAME 'NoSuch' (expected IpReasmReqds|IpReasmOKs|IpReasmFails|"
            "IpReasmTimeout|IpExtReasmOverlaps|Ip6ReasmReqds|Ip6ReasmOKs|Ip6ReasmFails|"
            "Ip6Rea...)");
  EXPECT_EQ(error_of("frag init v4 id=99999999999999999999999 off=0 len=8 mf=1"),
            "t:1:17: number out of range for 'id'");
}

// "go OP" and "sched K": the concurrency syntax, its errors at their column,
// and names checked per scope in line order (a go line is parsed where it
// stands, whenever it runs).
TEST(Parser, GoAndSchedAndNameScopes) {
  EXPECT_EQ(error_of("go netns add a\ngo frag a v4 id=1 off=0 len=8 mf=1\nsched 3\n"), "ok");
  ParseResult r = parse("go netns del x\n", test_registry());
  EXPECT_EQ(format_diagnostic("t", *r.error), "t:1:14: namespace 'x' does not exist here");
  EXPECT_EQ(error_of("go\n"), "t:1:1: 'go' needs an operation to start");
  EXPECT_EQ(error_of("go sched 1\n"), "t:1:4: 'sched' cannot be started with 'go'");
  EXPECT_EQ(error_of("go expect counter init IpReasmOKs 0\n"),
            "t:1:4: 'expect counter' cannot be started with 'go'");
  EXPECT_EQ(error_of("sched 256\n"), "t:1:7: value out of range for 'K' (0..255)");
  EXPECT_EQ(error_of("netns put r0\n"), "t:1:11: ref 'r0' does not exist here");
  EXPECT_EQ(error_of("netns add a\nnetns get a r0\nnetns get a r0\n"),
            "t:3:13: ref 'r0' already exists");
  // Scopes are apart: a device may share a namespace's name.
  EXPECT_EQ(error_of("netns add a\ndev add a a\n"), "ok");
  // go is printed back as it was read.
  r = parse("go tick 1s\n", test_registry());
  ASSERT_FALSE(r.error);
  EXPECT_TRUE(r.trace.ops[0].async);
  EXPECT_EQ(print(r.trace.ops[0]), "go tick 1s");
}

TEST(Parser, HeaderIsOptionalAndOnlyFirst) {
  EXPECT_EQ(error_of("tick 1s\n"), "ok");
  EXPECT_EQ(error_of("tick 1s\nnetverify-trace 1\n"), "t:2:1: unknown operation 'netverify-trace'");
}

// Parser hands out what parse() collects, one op at a time, stops at the
// first invalid line with parse()'s diagnostic, and starts over on rewind.
TEST(Parser, StreamsWhatParseCollects) {
  const std::string text =
      "netverify-trace 1\ntick 1s\n# c\n  frag init v4 id=1 off=0 len=8 mf=1\n"
      "expect deliver init v4 id=1 len=8\nfrag nowhere v4 id=1 off=0 len=8 mf=0\ntick 2s\n";
  const ParseResult whole = parse(text, test_registry());
  ASSERT_TRUE(whole.error);
  Parser stream(text, test_registry());
  EXPECT_TRUE(stream.has_expectations());
  for (int pass = 0; pass < 2; ++pass) {
    std::vector<Op> ops;
    for (Op op; stream.next(&op);) ops.push_back(op);
    EXPECT_EQ(ops, whole.trace.ops);
    ASSERT_TRUE(stream.error());
    EXPECT_EQ(format_diagnostic("t", *stream.error()), format_diagnostic("t", *whole.error));
    stream.rewind();
  }
  EXPECT_FALSE(Parser("tick 1s\n# expect nothing\n", test_registry()).has_expectations());
}

TEST(Printer, CanonicalFormIsAFixedPoint) {
  const char* text =
      "netns add x\n"
      "frag x v6 id=0x10 off=8 len=0x8 mf=1 dst=0:0::1 data=pattern\n"
      "tick 60000ms\n"
      "tick 1500ms\n"
      "expect deliver x v6 id=16 fnv1a64=ABC\n";
  ParseResult first = parse(text, test_registry());
  ASSERT_FALSE(first.error);
  std::string printed = print(first.trace);
  EXPECT_EQ(printed,
            "netverify-trace 1\n"
            "netns add x\n"
            "frag x v6 id=16 off=8 len=8 mf=1 dst=::1 data=pattern\n"
            "tick 1m\n"
            "tick 1500ms\n"
            "expect deliver x v6 id=16 fnv1a64=0000000000000abc\n");
  ParseResult second = parse(printed, test_registry());
  ASSERT_FALSE(second.error);
  EXPECT_EQ(print(second.trace), printed);
  EXPECT_TRUE(first.trace.ops == second.trace.ops);
}

// The parser must return a result, never crash or hang, on any input:
// random bytes, and valid traces with random byte edits.
TEST(Parser, SurvivesRandomAndMutatedInput) {
  std::mt19937_64 rng(12345);
  const std::string seed_text =
      "netverify-trace 1\nnetns add a\nfrag a v4 id=1 off=8 len=16 mf=1 data=fill:aa\n"
      "sysctl a ipv6.ip6frag_time 5\ntick 2s\nexpect counter a IpReasmOKs 0\n";
  size_t valid = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text;
    if (i % 2 == 0) {
      text.resize(rng() % 200);
      for (char& c : text) c = char(rng() % 4 ? " =\n#0x1v4:8af"[rng() % 13] : rng());
    } else {
      text = seed_text;
      for (int k = 0, n = 1 + rng() % 4; k < n; ++k) {
        size_t at = rng() % text.size();
        switch (rng() % 3) {
          case 0:
            text[at] = char(rng());
            break;
          case 1:
            text.erase(at, 1 + rng() % 5);
            break;
          default:
            text.insert(at, 1, char(rng()));
        }
        if (text.empty()) text = "x";
      }
    }
    ParseResult r = parse(text, test_registry());
    if (!r.error) {
      ++valid;
      // Whatever parses prints to something that parses to the same ops.
      ParseResult again = parse(print(r.trace), test_registry());
      ASSERT_FALSE(again.error) << text;
      ASSERT_TRUE(again.trace.ops == r.trace.ops) << text;
    } else {
      ASSERT_GE(r.error->line, 1u);
      ASSERT_GE(r.error->col, 1u);
    }
  }
  EXPECT_GT(valid, 100u);  // the mutations do reach the op parsers
}

}  // namespace
}  // namespace nv::trace
