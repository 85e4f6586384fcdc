#include "trace/digest.h"

#include <gtest/gtest.h>

#include <set>
#include <utility>
#include <vector>

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

// A fingerprint keys the linearizability memo: order and position matter at
// any length (Digest shares its constants past 64 values, so swapping two
// values 64 apart leaves it unchanged; a fingerprint must change).
TEST(Fingerprint, SwapsFarApartChangeIt) {
  auto both = [](size_t swap_a, size_t swap_b) {
    std::vector<uint64_t> v(200);
    for (size_t i = 0; i < v.size(); ++i) v[i] = i * 7 + 1;
    std::swap(v[swap_a], v[swap_b]);
    Digest d;
    Fingerprint f;
    for (uint64_t x : v) {
      d.add(x);
      f.add(x);
    }
    return std::pair(d.value(), f.value());
  };
  const auto same = both(0, 0), swapped = both(3, 3 + 64);
  EXPECT_EQ(same.first, swapped.first);  // the Digest cannot tell (why Fingerprint exists)
  EXPECT_NE(same.second, swapped.second);
  EXPECT_NE(Fingerprint().add("ab").value(), Fingerprint().add("ba").value());
}

}  // namespace
}  // namespace nv::trace
