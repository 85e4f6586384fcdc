#include "impl/frag/frag_queue.h"

#include <gtest/gtest.h>

#include <bit>
#include <set>

namespace nv::frag {
namespace {

Fragment v4_frag(uint32_t id, uint8_t proto, uint8_t src_last = 1) {
  Fragment f;
  f.family = Family::kV4;
  f.id = id;
  f.proto = proto;
  f.src.bytes = {10, 0, 0, src_last};
  f.dst.bytes = {10, 0, 0, 99};
  return f;
}

TEST(QueueKey, V4KeyIncludesProtocolV6KeyOnlyOnRequest) {
  Fragment a = v4_frag(7, 6), b = v4_frag(7, 17);
  EXPECT_NE(QueueKey::of(a, true), QueueKey::of(b, true));
  EXPECT_EQ(QueueKey::of(a, false), QueueKey::of(b, false));
  EXPECT_EQ(QueueKey::of(a, true).id(), 7u);
  EXPECT_EQ(QueueKey::of(a, true).proto(), 6u);
  EXPECT_EQ(QueueKey::of(a, false).proto(), 0u);
}

TEST(QueueKey, AddressesRoundTrip) {
  Fragment f;
  f.family = Family::kV6;
  f.src.v6 = f.dst.v6 = true;
  for (int i = 0; i < 16; ++i) {
    f.src.bytes[i] = uint8_t(i + 1);
    f.dst.bytes[i] = uint8_t(200 + i);
  }
  QueueKey k = QueueKey::of(f, false);
  EXPECT_EQ(k.src(Family::kV6), f.src);
  EXPECT_EQ(k.dst(Family::kV6), f.dst);
  Fragment g = v4_frag(1, 6, 42);
  EXPECT_EQ(QueueKey::of(g, true).src(Family::kV4), g.src);
}

TEST(QueueHash, NeighbouringKeysSpreadOverLowBits) {
  // 4096 keys differing only in id, or only in the last source byte and id,
  // land in (nearly) 4096 distinct buckets of a 4096-bucket table.
  std::set<uint64_t> buckets;
  for (uint32_t id = 0; id < 4096; ++id)
    buckets.insert(queue_hash(QueueKey::of(v4_frag(id, 6), true)) & 4095);
  EXPECT_GT(buckets.size(), 2500u);  // a random function gives ~2589
  buckets.clear();
  for (uint32_t i = 0; i < 4096; ++i)
    buckets.insert(queue_hash(QueueKey::of(v4_frag(i / 256, 6, uint8_t(i)), true)) & 4095);
  EXPECT_GT(buckets.size(), 2500u);
}

TEST(QueueHash, EveryInputBitFlipsAboutHalfTheOutput) {
  QueueKey base = QueueKey::of(v4_frag(1234, 17), true);
  const uint64_t h0 = queue_hash(base);
  for (int w = 0; w < 5; ++w) {
    for (int bit = 0; bit < 64; bit += 7) {
      QueueKey k = base;
      k.words[w] ^= uint64_t{1} << bit;
      const int flipped = std::popcount(h0 ^ queue_hash(k));
      EXPECT_GT(flipped, 12) << "word " << w << " bit " << bit;
      EXPECT_LT(flipped, 52) << "word " << w << " bit " << bit;
    }
  }
}

}  // namespace
}  // namespace nv::frag
