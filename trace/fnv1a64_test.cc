#include "trace/fnv1a64.h"

#include <gtest/gtest.h>

namespace nv::trace {
namespace {

TEST(Fnv1a64, KnownValues) {
  Fnv1a64 empty;
  EXPECT_EQ(empty.value(), 0xcbf29ce484222325ull);
  Fnv1a64 a;
  a.update(reinterpret_cast<const uint8_t*>("a"), 1);
  EXPECT_EQ(a.value(), 0xaf63dc4c8601ec8cull);
  Fnv1a64 split;  // updates chain: "ab" in two calls is "ab" in one
  split.update(reinterpret_cast<const uint8_t*>("a"), 1);
  split.update(reinterpret_cast<const uint8_t*>("b"), 1);
  Fnv1a64 whole;
  whole.update(reinterpret_cast<const uint8_t*>("ab"), 2);
  EXPECT_EQ(split.value(), whole.value());
}

}  // namespace
}  // namespace nv::trace
