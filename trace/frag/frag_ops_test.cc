#include "trace/frag/frag_ops.h"

#include <gtest/gtest.h>

#include <vector>

#include "trace/event.h"
#include "trace/parser.h"

namespace nv::frag {
namespace {

TEST(FragOps, TruesizeMatchesMeasuredKernel) {
  // sockstat FRAG/FRAG6 memory per fragment on Linux 6.18 (loopback, the
  // kernel engine's AF_PACKET frames), on both sides of every boundary:
  // {v4 len, v4 truesize, v6 len, v6 truesize}. The small head up to 206
  // (v4) and 178 (v6) bytes, kmalloc's powers of two, paged from 4046 and
  // 4018 (kernel-fuzz found the model charging 16640 for 7856 bytes).
  const struct {
    uint32_t v4_len;
    uint64_t v4;
    uint32_t v6_len;
    uint64_t v6;
  } kMeasured[] = {
      {8, 832, 8, 832},
      {206, 832, 178, 832},
      {207, 1280, 179, 1280},
      {654, 1280, 626, 1280},
      {655, 2304, 627, 2304},
      {1678, 2304, 1480, 2304},
      {1679, 4352, 3000, 4352},
      {4045, 8448, 4017, 8448},
      {4046, 4928, 4018, 4928},
      {4100, 9024, 5000, 9024},
      {8158, 9024, 8000, 9024},
      {8200, 13120, 8200, 13120},
      {12254, 13120, 12000, 13120},
      {16000, 17216, 16000, 17216},
      {20000, 21312, 20000, 21312},
      {32000, 33600, 30000, 33600},
      {40000, 41792, 40000, 41792},
      {65512, 66368, 65000, 66368},
  };
  for (const auto& m : kMeasured) {
    EXPECT_EQ(frag_truesize(Family::kV4, m.v4_len), m.v4) << "v4 " << m.v4_len;
    EXPECT_EQ(frag_truesize(Family::kV6, m.v6_len), m.v6) << "v6 " << m.v6_len;
  }
}

TEST(FragOps, PagedSkbsHaveNoTailroom) {
  EXPECT_EQ(skb_tailroom(Family::kV4, frag_truesize(Family::kV4, 4046), 4046), 0u);
  EXPECT_EQ(skb_tailroom(Family::kV6, frag_truesize(Family::kV6, 30000), 30000), 0u);
  // A linear one: 8192 allocated, 320 + 30 + 20 + 3000 used.
  EXPECT_EQ(skb_tailroom(Family::kV4, frag_truesize(Family::kV4, 3000), 3000), 4096u - 3370u);
  EXPECT_EQ(skb_tailroom(Family::kV4, frag_truesize(Family::kV4, 8), 8), 576u - 378u);
}

TEST(FragOps, PatternDependsOnAbsoluteOffset) {
  Fragment a{.id = 7, .off = 0, .len = 16};
  Fragment b{.id = 7, .off = 8, .len = 8};
  uint8_t whole[16], tail[8];
  fill_payload(a, whole);
  fill_payload(b, tail);
  EXPECT_EQ(whole[0], (0 * 31 + 7 * 7 + 1) % 256);
  EXPECT_EQ(0, memcmp(whole + 8, tail, 8));
}

TEST(FragOps, PatternIsTheDocumentedFormulaAtEveryByte) {
  // docs/trace.md: byte k of a fragment at offset off is
  // ((off + k) * 31 + id * 7 + 1) mod 256, for payloads past one period too.
  for (uint32_t len : {0u, 1u, 255u, 256u, 257u, 1000u, 65535u}) {
    Fragment f{.id = 40000, .off = 1480, .len = len};
    std::vector<uint8_t> out(len);
    fill_payload(f, out.data());
    for (uint32_t k = 0; k < len; ++k)
      ASSERT_EQ(out[k], uint8_t((uint64_t(f.off + k) * 31 + f.id * 7 + 1) % 256))
          << len << " " << k;
  }
}

TEST(FragOps, V6FirstFragmentNeedsUpperLayerHeader) {
  uint8_t p[64] = {};
  EXPECT_TRUE(v6_first_fragment_truncated(253, p, 0));
  EXPECT_FALSE(v6_first_fragment_truncated(253, p, 1));
  EXPECT_TRUE(v6_first_fragment_truncated(6, p, 19));
  EXPECT_FALSE(v6_first_fragment_truncated(6, p, 20));
  EXPECT_TRUE(v6_first_fragment_truncated(17, p, 7));
  EXPECT_FALSE(v6_first_fragment_truncated(59, p, 0));  // no next header
  EXPECT_FALSE(v6_first_fragment_truncated(60, p, 1));  // options header cut short
  p[0] = 6;                                             // dest options, then TCP
  EXPECT_TRUE(v6_first_fragment_truncated(60, p, 27));
  EXPECT_FALSE(v6_first_fragment_truncated(60, p, 28));
  uint8_t nested[8] = {6, 0, 0, 0};  // a Fragment header, then TCP
  EXPECT_TRUE(v6_first_fragment_truncated(44, nested, 8));
  nested[3] = 8;  // a non-first fragment's: what follows is data, nothing to check
  EXPECT_FALSE(v6_first_fragment_truncated(44, nested, 8));
}

// The icmp event's text for an error about `about`, or "none".
std::string icmp_text(const Fragment& about, IcmpError error, std::vector<uint8_t> payload = {}) {
  auto e = icmp_event(about, error, payload);
  return e ? trace::to_text(*e) : "none";
}

Fragment about(Family family, const char* src, const char* dst, uint8_t proto = 253) {
  std::string err;
  return {.ns = "init",
          .family = family,
          .id = 7,
          .off = 0,
          .len = 8,
          .mf = true,
          .src = *trace::parse_addr(src, &err),
          .dst = *trace::parse_addr(dst, &err),
          .proto = proto};
}

TEST(FragOps, IcmpErrorsNameTheirPacket) {
  const Fragment v4 = about(Family::kV4, "127.0.0.5", "10.0.0.2");
  EXPECT_EQ(icmp_text(v4, IcmpError::kTimeExceeded),
            "icmp ns=init family=v4 src=127.0.0.5 dst=10.0.0.2 proto=253 id=7 type=11 code=1");
  const Fragment v6 = about(Family::kV6, "::1", "2001:db8::2", 17);
  EXPECT_EQ(icmp_text(v6, IcmpError::kTimeExceeded),
            "icmp ns=init family=v6 src=::1 dst=2001:db8::2 proto=17 id=7 type=3 code=1");
  EXPECT_EQ(icmp_text(v6, IcmpError::kParamLength),
            "icmp ns=init family=v6 src=::1 dst=2001:db8::2 proto=17 id=7 type=4 code=0 pointer=4");
  EXPECT_EQ(
      icmp_text(v6, IcmpError::kParamOffset),
      "icmp ns=init family=v6 src=::1 dst=2001:db8::2 proto=17 id=7 type=4 code=0 pointer=42");
  EXPECT_EQ(icmp_text(v6, IcmpError::kParamIncomplete),
            "icmp ns=init family=v6 src=::1 dst=2001:db8::2 proto=17 id=7 type=4 code=3 pointer=0");
}

TEST(FragOps, IcmpErrorsOnlyWhereLinuxSendsThem) {
  // Measured on Linux 6.18 (corpora/kernel/icmp-*.trace).
  const auto te = IcmpError::kTimeExceeded;
  for (const char* dst : {"224.0.0.1", "255.255.255.255", "127.255.255.255"})
    EXPECT_EQ(icmp_text(about(Family::kV4, "127.0.0.1", dst), te), "none") << dst;
  for (const char* src : {"0.1.2.3", "240.0.0.1"})
    EXPECT_EQ(icmp_text(about(Family::kV4, src, "127.0.0.1"), te), "none") << src;
  for (const char* dst : {"127.0.0.0", "10.0.0.255"})
    EXPECT_NE(icmp_text(about(Family::kV4, "127.0.0.1", dst), te), "none") << dst;
  EXPECT_NE(icmp_text(about(Family::kV4, "127.255.255.255", "127.0.0.1"), te), "none");
  // About ICMP: not about an error (3, 4, 5, 11, 12) or an unknown type (> 18).
  const Fragment icmp4 = about(Family::kV4, "127.0.0.1", "127.0.0.1", 1);
  for (uint8_t type : {3, 4, 5, 11, 12, 19, 255})
    EXPECT_EQ(icmp_text(icmp4, te, {type}), "none") << int(type);
  for (uint8_t type : {0, 8, 14, 18}) EXPECT_NE(icmp_text(icmp4, te, {type}), "none") << int(type);
  EXPECT_EQ(icmp_text(icmp4, te), "none");  // no type byte
  // v6: not from :: or multicast, not to multicast, not about an ICMPv6 error.
  EXPECT_EQ(icmp_text(about(Family::kV6, "::", "::1"), te), "none");
  EXPECT_EQ(icmp_text(about(Family::kV6, "ff02::1", "::1"), te), "none");
  EXPECT_EQ(icmp_text(about(Family::kV6, "::1", "ff02::1"), te), "none");
  EXPECT_NE(icmp_text(about(Family::kV6, "fe80::1", "::1"), te), "none");
  Fragment icmp6 = about(Family::kV6, "::1", "::1", 58);
  EXPECT_EQ(icmp_text(icmp6, te, {1}), "none");
  EXPECT_NE(icmp_text(icmp6, te, {128}), "none");
  EXPECT_NE(icmp_text(icmp6, te), "none");  // no type byte, but MF set
  icmp6.mf = false;
  EXPECT_EQ(icmp_text(icmp6, IcmpError::kParamOffset), "none");
  icmp6.off = 8;  // a non-first fragment's data is not a header
  EXPECT_NE(icmp_text(icmp6, IcmpError::kParamLength, {1}), "none");
}

TEST(FragOps, SysctlWritesValidatedLikeTheKernel) {
  Sysctls s;
  EXPECT_FALSE(s.write("ipv4.ipfrag_high_thresh", 100));     // below low_thresh
  EXPECT_FALSE(s.write("ipv4.ipfrag_low_thresh", 5000000));  // above high_thresh
  EXPECT_TRUE(s.write("ipv4.ipfrag_low_thresh", 0));
  EXPECT_TRUE(s.write("ipv4.ipfrag_high_thresh", 0));
  EXPECT_TRUE(s.over_limit(Family::kV4, 0));
  EXPECT_FALSE(s.over_limit(Family::kV6, 0));
  EXPECT_TRUE(s.write("ipv6.ip6frag_time", 8589934));
  EXPECT_FALSE(s.write("ipv6.ip6frag_time", 8589935));
  EXPECT_FALSE(s.write("ipv4.ipfrag_max_dist", 2147483648));
  EXPECT_EQ(s.time_s[1], 8589934u);
  EXPECT_TRUE(s.write("ipv4.ipfrag_high_thresh", uint64_t{1} << 63));
  EXPECT_TRUE(s.over_limit(Family::kV4, 0));  // reads back as a negative long
}

// DF (docs/trace.md, "DF"): a v4 flag; a v6 fragment with it is refused at
// its column, and a trace without it means what it meant (no DF).
// The extension headers are part of the skb's header: all three (24 bytes)
// move the v6 boundaries of TruesizeMatchesMeasuredKernel down by 24
// (corpora/kernel/v6-ext.trace pins them against Linux 6.18).
TEST(FragOps, ExtensionHeadersAreChargedAndBoundTheLength) {
  const uint8_t all = kExtHbh | kExtDst | kExtRt;
  EXPECT_EQ(ext_len(all), 24u);
  EXPECT_EQ(frag_truesize(Family::kV6, 154, all), 832u);
  EXPECT_EQ(frag_truesize(Family::kV6, 155, all), 1280u);
  EXPECT_EQ(frag_truesize(Family::kV6, 3993, all), 8448u);
  EXPECT_EQ(frag_truesize(Family::kV6, 3994, all), 4928u);
  EXPECT_EQ(skb_tailroom(Family::kV6, 832, 8, all), 576u - 320 - 30 - 72 - 8);
  EXPECT_EQ(unfragmentable_len(Family::kV6, kExtHbh), 8u);
  EXPECT_EQ(unfragmentable_len(Family::kV4, 0), 20u);
  const trace::ParseResult ok =
      trace::parse("frag init v6 id=1 off=0 len=65503 mf=1 ext=hbh+dst+rt\n", frag_registry());
  ASSERT_FALSE(ok.error) << ok.error->message;
  EXPECT_EQ(fragment_of(ok.trace.ops[0]).ext, all);
  const trace::ParseResult big =
      trace::parse("frag init v6 id=1 off=0 len=65504 mf=1 ext=hbh+dst+rt\n", frag_registry());
  ASSERT_TRUE(big.error);
  EXPECT_EQ(trace::format_diagnostic("t", *big.error),
            "t:1:25: value out of range for 'len' (0..65503 after ext=hbh+dst+rt)");
  const trace::ParseResult v4 =
      trace::parse("frag init v4 id=1 off=0 len=8 mf=1 ext=hbh\n", frag_registry());
  ASSERT_TRUE(v4.error);
  EXPECT_EQ(trace::format_diagnostic("t", *v4.error), "t:1:36: 'ext' names IPv6 extension headers");
  const trace::ParseResult order =
      trace::parse("frag init v6 id=1 off=0 len=8 mf=1 ext=rt+hbh\n", frag_registry());
  ASSERT_TRUE(order.error);
  // Its Parameter Problem points past them.
  Fragment f{.ns = "init", .family = Family::kV6, .id = 1, .off = 65528, .len = 16};
  f.src.v6 = f.dst.v6 = true;
  f.src.bytes[15] = f.dst.bytes[15] = 1;  // ::1
  f.ext = kExtDst;
  const std::optional<trace::Event> icmp = icmp_event(f, IcmpError::kParamOffset, {});
  ASSERT_TRUE(icmp);
  EXPECT_EQ(std::get<uint64_t>(*icmp->get("pointer")), 50u);
}

// Options are part of the v4 header: a record route (8 bytes) moves the v4
// boundaries of TruesizeMatchesMeasuredKernel down by 8
// (corpora/kernel/v4-options.trace pins them against Linux 6.18).
TEST(FragOps, Ipv4OptionsAreChargedAndDroppedWhereLinuxDropsThem) {
  const uint8_t rr = 3;
  ASSERT_EQ(kOptNames[rr], "rr");
  EXPECT_EQ(frag_truesize(Family::kV4, 198, rr), 832u);
  EXPECT_EQ(frag_truesize(Family::kV4, 199, rr), 1280u);
  EXPECT_EQ(frag_truesize(Family::kV4, 4037, rr), 8448u);
  EXPECT_EQ(frag_truesize(Family::kV4, 4038, rr), 4928u);
  EXPECT_EQ(unfragmentable_len(Family::kV4, rr), 28u);
  const trace::ParseResult t = trace::parse(
      "frag init v4 id=1 off=0 len=65507 mf=0 opt=rr\nfrag init v4 id=2 off=0 len=8 mf=1 "
      "opt=lsrr\nfrag init v4 id=3 off=8 len=8 mf=1 opt=bad\n",
      frag_registry());
  ASSERT_FALSE(t.error) << t.error->message;
  EXPECT_EQ(fragment_of(t.trace.ops[0]).ext, rr);
  EXPECT_FALSE(header_dropped(fragment_of(t.trace.ops[0])));
  EXPECT_EQ(header_dropped(fragment_of(t.trace.ops[1]))->reason, "v4-srr");
  const Fragment bad = fragment_of(t.trace.ops[2]);
  EXPECT_TRUE(header_dropped(bad)->param_problem);
  // icmp_send answers fragment 0 only.
  EXPECT_FALSE(icmp_event(bad, IcmpError::kParamOption, {}));
  Fragment first = bad;
  first.off = 0;
  const std::optional<trace::Event> icmp = icmp_event(first, IcmpError::kParamOption, {});
  ASSERT_TRUE(icmp);
  EXPECT_EQ(std::get<uint64_t>(*icmp->get("type")), 12u);
  EXPECT_EQ(std::get<uint64_t>(*icmp->get("pointer")), 21u);
  const trace::ParseResult big =
      trace::parse("frag init v4 id=1 off=0 len=65508 mf=0 opt=rr\n", frag_registry());
  ASSERT_TRUE(big.error);
  EXPECT_EQ(trace::format_diagnostic("t", *big.error),
            "t:1:25: value out of range for 'len' (0..65507 after opt=rr)");
  const trace::ParseResult v6 =
      trace::parse("frag init v6 id=1 off=0 len=8 mf=1 opt=nop\n", frag_registry());
  ASSERT_TRUE(v6.error);
  EXPECT_EQ(trace::format_diagnostic("t", *v6.error), "t:1:36: 'opt' names IPv4 options");
  // The delivered v4 header's options are the deliver event's opt.
  Fragment head{.ns = "init", .family = Family::kV4, .id = 1, .len = 8};
  EXPECT_EQ(deliver_event(head, 8, 0).get("opt"), nullptr);
  head.ext = rr;
  EXPECT_EQ(std::get<std::string>(*deliver_event(head, 8, 0).get("opt")), "rr");
}

TEST(FragOps, DfIsAnIpv4Flag) {
  const trace::ParseResult ok =
      trace::parse("frag init v4 id=1 off=0 len=8 mf=1 df=1\nfrag init v4 id=1 off=8 len=8 mf=0\n",
                   frag_registry());
  ASSERT_FALSE(ok.error) << ok.error->message;
  EXPECT_TRUE(fragment_of(ok.trace.ops[0]).df);
  EXPECT_FALSE(fragment_of(ok.trace.ops[1]).df);
  const trace::ParseResult v6 =
      trace::parse("frag init v6 id=1 off=0 len=8 mf=1 df=1\n", frag_registry());
  ASSERT_TRUE(v6.error);
  EXPECT_EQ(trace::format_diagnostic("t", *v6.error), "t:1:36: 'df' is an IPv4 header flag");
  Fragment f{.ns = "init", .family = Family::kV4, .id = 1, .len = 8};
  f.df = true;
  EXPECT_EQ(std::get<uint64_t>(*deliver_event(f, 8, 0).get("df")), 1u);
  f.family = Family::kV6;
  EXPECT_EQ(deliver_event(f, 8, 0).get("df"), nullptr);  // v6 has no DF
}

}  // namespace
}  // namespace nv::frag
