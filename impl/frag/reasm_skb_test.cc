#include "impl/frag/reasm_skb.h"

#include <gtest/gtest.h>

#include <vector>

namespace nv::frag {
namespace {

// The skbs of a v4 datagram of `total` payload bytes in fragments of `len`.
std::vector<Skb> skbs(uint32_t total, uint32_t len) {
  std::vector<Skb> out;
  for (uint32_t off = 0; off < total; off += len) {
    Skb& s = out.emplace_back();
    s.off = off;
    s.len = std::min(len, total - off);
    s.truesize = uint32_t(frag_truesize(Family::kV4, s.len));
  }
  return out;
}

ReasmSkb build(const std::vector<Skb>& in, Reasm design) {
  ReasmSkb skb(Family::kV4, in[0], design);
  for (size_t i = 1; i < in.size(); ++i) skb.append(in[i]);
  EXPECT_EQ(skb.check(), std::nullopt);
  return skb;
}

// Three 8-byte fragments: the head (576-byte allocation) has 196 bytes of
// tailroom, so coalescing copies the other two into it.
TEST(ReasmSkb, SmallFragmentsAreCopiedIntoTheHead) {
  const std::vector<Skb> in = skbs(24, 8);
  const ReasmSkb coalesced = build(in, Reasm::kCoalesce);
  EXPECT_EQ(coalesced.truesize(), 832u);
  EXPECT_EQ(coalesced.nr_frags(), 0u);
  EXPECT_EQ(coalesced.frag_list(), 0u);
  const ReasmSkb list = build(in, Reasm::kList);
  EXPECT_EQ(list.truesize(), 3 * 832u);
  EXPECT_EQ(list.frag_list(), 2u);
}

// 65512 bytes in 1480-byte fragments (2304 each, the last 392 bytes 1280):
// 17 heads stolen (2048 each), then the other 27 on the frag_list.
TEST(ReasmSkb, SeventeenPageFragmentsThenTheFragList) {
  const std::vector<Skb> in = skbs(65512, 1480);
  ASSERT_EQ(in.size(), 45u);
  const ReasmSkb coalesced = build(in, Reasm::kCoalesce);
  EXPECT_EQ(coalesced.nr_frags(), kMaxSkbFrags);
  EXPECT_EQ(coalesced.frag_list(), 27u);
  EXPECT_EQ(coalesced.truesize(), 2304u + 17 * 2048u + 26 * 2304u + 1280u);
  const ReasmSkb list = build(in, Reasm::kList);
  EXPECT_EQ(list.nr_frags(), 0u);
  EXPECT_EQ(list.frag_list(), 44u);
  EXPECT_EQ(list.truesize(), 44 * 2304u + 1280u);
}

// Once the head is nonlinear, a fragment that would have fitted its old
// tailroom is stolen, not copied.
TEST(ReasmSkb, ANonlinearHeadCopiesNothing) {
  std::vector<Skb> in = skbs(1480 + 1480, 1480);
  Skb& small = in.emplace_back();
  small.off = 2960;
  small.len = 8;
  small.truesize = uint32_t(frag_truesize(Family::kV4, 8));
  const ReasmSkb coalesced = build(in, Reasm::kCoalesce);
  EXPECT_EQ(coalesced.nr_frags(), 2u);
  EXPECT_EQ(coalesced.truesize(), 2304u + 2048u + (832u - 256u));
}

}  // namespace
}  // namespace nv::frag
