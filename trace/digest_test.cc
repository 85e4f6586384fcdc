#include "trace/digest.h"

#include <gtest/gtest.h>

#include <set>

namespace nv::trace {
namespace {

uint64_t digest_of(std::string_view seed, std::initializer_list<uint64_t> values) {
  Digest d(seed);
  for (uint64_t v : values) d.add(v);
  return d.value();
}

TEST(Digest, EveryOneStepChangeOfEveryValueChangesIt) {
  std::set<uint64_t> seen = {digest_of("init", {0, 0, 0, 0})};
  for (size_t i = 0; i < 4; ++i) {
    for (uint64_t v : {1ull, 2ull, 200ull, 1ull << 40, ~0ull}) {
      std::initializer_list<uint64_t> values[] = {
          {v, 0, 0, 0}, {0, v, 0, 0}, {0, 0, v, 0}, {0, 0, 0, v}};
      EXPECT_TRUE(seen.insert(digest_of("init", values[i])).second) << i << " " << v;
    }
  }
}

TEST(Digest, PositionAndSeedMatter) {
  EXPECT_NE(digest_of("a", {1, 2}), digest_of("a", {2, 1}));
  EXPECT_NE(digest_of("a", {1, 2}), digest_of("b", {1, 2}));
  EXPECT_NE(digest_of("ab", {}), digest_of("ba", {}));
  // Names past one word (eight bytes) count in full.
  EXPECT_NE(digest_of("namespace-one", {}), digest_of("namespace-two", {}));
  EXPECT_EQ(digest_of("a", {1, 2}), digest_of("a", {1, 2}));
}

TEST(Digest, SmallMovesBetweenValuesDoNotCancel) {
  // A counter that should have gone up going into its neighbour instead.
  const uint64_t base = digest_of("init", {5, 7, 1, 0});
  for (uint64_t d = 1; d < 64; ++d) {
    EXPECT_NE(base, digest_of("init", {5 + d, 7 - d % 8, 1, 0})) << d;
    EXPECT_NE(base, digest_of("init", {5, 7, 1 + d, 0 - d})) << d;
  }
}

}  // namespace
}  // namespace nv::trace
