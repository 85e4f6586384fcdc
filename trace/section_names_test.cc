// The name rule of concurrent sections, as the parser and check_ops apply it.
#include "trace/section_names.h"

#include <gtest/gtest.h>

#include "trace/defer/defer_ops.h"
#include "trace/parser.h"
#include "trace/registry.h"

namespace nv::trace {
namespace {

const Registry& skb_registry() {
  static const Registry* r = [] {
    auto* reg = new Registry;
    register_core_ops(*reg);
    defer::register_ops(*reg);
    return reg;
  }();
  return *r;
}

TEST(SectionNames, RacingLinesCannotShareAnExclusiveName) {
  // Sequentially valid; as a section, the free could run before the alloc.
  ParseResult r = parse("go skb alloc s cpu=0\ngo skb free s cpu=1\n", skb_registry());
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->line, 2u);
  EXPECT_EQ(r.error->col, 13u);
  EXPECT_NE(r.error->message.find("skb 's' is created or ended by another 'go' line"),
            std::string::npos)
      << r.error->message;
  // A free of a name the section freed, then allocated again.
  r = parse("skb alloc s cpu=0\ngo skb free s cpu=1\nsched 0\ngo skb alloc s cpu=0\n",
            skb_registry());
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->line, 4u);
  EXPECT_FALSE(check_ops(r.trace.ops));  // the ops before the error are valid
}

TEST(SectionNames, AnOrdinaryLineEndsTheSection) {
  for (const char* text : {
           "go skb alloc s cpu=0\nskb free s cpu=1\n",               // the free does not race
           "go skb alloc s cpu=0\ncpu rx 0\ngo skb free s cpu=1\n",  // two sections
           "skb alloc s cpu=0\ngo skb free s cpu=1\ngo skb alloc t cpu=0\ngo cpu rx 0\n",
       }) {
    ParseResult r = parse(text, skb_registry());
    EXPECT_FALSE(r.error) << text << r.error->message;
    EXPECT_FALSE(check_ops(r.trace.ops)) << text;
  }
}

TEST(SectionNames, CheckOpsAppliesTheRule) {
  ParseResult r = parse("go skb alloc s cpu=0\nsched 0\n", skb_registry());
  ASSERT_FALSE(r.error);
  std::vector<Op> ops = r.trace.ops;
  Op free_s = parse("skb alloc s cpu=0\ngo skb free s cpu=1\n", skb_registry()).trace.ops[1];
  ops.push_back(free_s);
  ASSERT_TRUE(check_ops(ops));
  EXPECT_NE(check_ops(ops)->find("racing lines cannot share it"), std::string::npos);
}

}  // namespace
}  // namespace nv::trace
