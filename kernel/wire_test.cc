#include "kernel/wire.h"

#include <gtest/gtest.h>

#include "trace/parser.h"
#include "trace/registry.h"

namespace nv::kernel {
namespace {

const trace::Registry& registry() {
  return frag::frag_registry();
}

frag::Fragment parse_frag(const std::string& line, trace::Trace* keep) {
  trace::ParseResult r = trace::parse(line + "\n", registry());
  EXPECT_FALSE(r.error) << (r.error ? r.error->message : "");
  *keep = std::move(r.trace);
  return frag::fragment_of(keep->ops.at(0));
}

TEST(Wire, V4HeaderAsTraceFormatSays) {
  trace::Trace t;
  frag::Fragment f = parse_frag("frag init v4 id=0x1234 off=16 len=5 mf=1 proto=17", &t);
  std::vector<uint8_t> p = frag_packet(f);
  ASSERT_EQ(p.size(), 25u);
  EXPECT_EQ(p[0], 0x45);                    // version 4, IHL 5
  EXPECT_EQ(p[2] << 8 | p[3], 25);          // total length
  EXPECT_EQ(p[4] << 8 | p[5], 0x1234);      // id
  EXPECT_EQ(p[6] << 8 | p[7], 0x2000 | 2);  // MF, offset 16/8, DF clear
  EXPECT_EQ(p[8], kWireTtl);
  EXPECT_EQ(p[9], 17);
  EXPECT_EQ(inet_checksum(p.data(), 20), 0);  // a valid header checksums to 0
  EXPECT_EQ(p[12], 127);
  EXPECT_EQ(p[19], 1);
  uint8_t payload[5];
  frag::fill_payload(f, payload);
  EXPECT_EQ(0, memcmp(p.data() + 20, payload, 5));
}

TEST(Wire, V6HeadersAsTraceFormatSays) {
  trace::Trace t;
  frag::Fragment f = parse_frag("frag init v6 id=0x89abcdef off=65528 len=7 mf=0", &t);
  std::vector<uint8_t> p = frag_packet(f);
  ASSERT_EQ(p.size(), 55u);
  EXPECT_EQ(p[0], 0x60);
  EXPECT_EQ(p[4] << 8 | p[5], 15);  // payload length 8 + len
  EXPECT_EQ(p[6], 44);              // next header: Fragment
  EXPECT_EQ(p[23], 1);              // src ::1
  EXPECT_EQ(p[39], 1);              // dst ::1
  EXPECT_EQ(p[40], 253);            // Fragment header next header = proto
  EXPECT_EQ(p[42] << 8 | p[43], 65528);
  EXPECT_EQ(p[44], 0x89);
  EXPECT_EQ(p[47], 0xef);
}

TEST(Wire, V6ExtensionHeadersBeforeTheFragmentHeader) {
  trace::Trace t;
  const frag::Fragment f =
      parse_frag("frag init v6 id=7 off=8 len=3 mf=0 proto=17 ext=hbh+dst+rt", &t);
  std::vector<uint8_t> p = frag_packet(f);
  ASSERT_EQ(p.size(), 40u + 24 + 8 + 3);
  EXPECT_EQ(p[4] << 8 | p[5], 24 + 8 + 3);  // payload length: the headers too
  EXPECT_EQ(p[6], 0);                       // hop-by-hop
  EXPECT_EQ(p[40], 60);                     // then destination options
  EXPECT_EQ(p[42], 1);                      // PadN, 4 bytes
  EXPECT_EQ(p[43], 4);
  EXPECT_EQ(p[48], 43);  // then routing
  EXPECT_EQ(p[56], 44);  // then the Fragment header
  EXPECT_EQ(p[58], 0);   // routing type 0, no segments left
  EXPECT_EQ(p[59], 0);
  EXPECT_EQ(p[64], 17);
  EXPECT_EQ(p[66] << 8 | p[67], 8);
  std::string why;
  const std::optional<WireFragment> w = parse_packet(p.data(), p.size(), &why);
  ASSERT_TRUE(w) << why;
  EXPECT_EQ(w->ext, frag::kExtHbh | frag::kExtDst | frag::kExtRt);
  EXPECT_EQ(w->proto, 17);
  EXPECT_EQ(w->off, 8u);
  EXPECT_EQ(w->payload.size(), 3u);
  EXPECT_NE(frag_line(*w, "init").find(" ext=hbh+dst+rt "), std::string::npos);
  // Out of RFC 8200's order (routing before destination options): not a
  // trace's.
  std::vector<uint8_t> q =
      frag_packet(parse_frag("frag init v6 id=7 off=8 len=3 mf=0 ext=dst+rt", &t));
  q[6] = 43;
  q[40] = 60;
  std::swap_ranges(q.begin() + 42, q.begin() + 48, q.begin() + 50);
  EXPECT_FALSE(parse_packet(q.data(), q.size(), &why));
}

TEST(Wire, V4Options) {
  trace::Trace t;
  const frag::Fragment f = parse_frag("frag init v4 id=7 off=8 len=3 mf=0 opt=rr", &t);
  std::vector<uint8_t> p = frag_packet(f);
  ASSERT_EQ(p.size(), 28u + 3);
  EXPECT_EQ(p[0], 0x47);                      // IHL 7
  EXPECT_EQ(p[2] << 8 | p[3], 31);            // total length
  EXPECT_EQ(inet_checksum(p.data(), 28), 0);  // the options checksummed too
  EXPECT_EQ(p[20], 7);                        // record route, 7 bytes, pointer 4
  EXPECT_EQ(p[21], 7);
  EXPECT_EQ(p[22], 4);
  std::string why;
  std::optional<WireFragment> w = parse_packet(p.data(), p.size(), &why);
  ASSERT_TRUE(w) << why;
  EXPECT_EQ(w->ext, 3);
  EXPECT_EQ(w->payload.size(), 3u);
  EXPECT_NE(frag_line(*w, "init").find(" opt=rr "), std::string::npos);
  // As the receiving kernel leaves it: its address recorded, the pointer past it.
  p[22] = 8;
  p[23] = 127;
  p[26] = 1;
  w = parse_packet(p.data(), p.size(), &why);
  ASSERT_TRUE(w) << why;
  EXPECT_EQ(w->ext, 3);
  // Options no trace writes.
  p[20] = 9;
  EXPECT_FALSE(parse_packet(p.data(), p.size(), &why));
}

TEST(Wire, FrameHasZeroMacsAndEthertype) {
  trace::Trace t;
  std::vector<uint8_t> v4 = frag_frame(parse_frag("frag init v4 id=1 off=0 len=8 mf=1", &t));
  std::vector<uint8_t> v6 = frag_frame(parse_frag("frag init v6 id=1 off=0 len=8 mf=1", &t));
  EXPECT_EQ(v4.size(), 14u + 28);
  EXPECT_EQ(std::vector<uint8_t>(v4.begin(), v4.begin() + 12), std::vector<uint8_t>(12, 0));
  EXPECT_EQ(v4[12] << 8 | v4[13], kEthertypeIpv4);
  EXPECT_EQ(v6[12] << 8 | v6[13], kEthertypeIpv6);
}

TEST(Wire, ParseGivesBackTheFragment) {
  for (const char* line : {"frag init v4 id=7 off=8 len=13 mf=1 src=10.0.0.1 dst=10.0.0.2 proto=6",
                           "frag init v4 id=0 off=0 len=0 mf=0 data=fill:aa",
                           "frag init v6 id=4000000000 off=65528 len=7 mf=0 src=2001:db8::1",
                           "frag init v6 id=3 off=0 len=4 mf=1 data=hex:01020304"}) {
    trace::Trace t;
    frag::Fragment f = parse_frag(line, &t);
    std::vector<uint8_t> p = frag_packet(f);
    p.resize(p.size() + 6);  // link padding is ignored
    std::string why;
    auto w = parse_packet(p.data(), p.size(), &why);
    ASSERT_TRUE(w) << line << ": " << why;
    EXPECT_EQ(w->family, f.family);
    EXPECT_EQ(w->id, f.id);
    EXPECT_EQ(w->off, f.off);
    EXPECT_EQ(w->mf, f.mf);
    EXPECT_EQ(w->src, f.src);
    EXPECT_EQ(w->dst, f.dst);
    EXPECT_EQ(w->proto, f.proto);
    std::vector<uint8_t> payload(f.len);
    frag::fill_payload(f, payload.data());
    EXPECT_EQ(w->payload, payload);
    // And as a trace line, to the same fragment again.
    trace::Trace t2;
    frag::Fragment g = parse_frag(frag_line(*w, "init"), &t2);
    EXPECT_EQ(g.id, f.id);
    EXPECT_EQ(g.len, f.len);
    std::vector<uint8_t> again(g.len);
    frag::fill_payload(g, again.data());
    EXPECT_EQ(again, payload);
  }
}

TEST(Wire, QuotedPacketsMayBeCutShort) {
  // An ICMP error quotes the header and (v4) 8 bytes of the data.
  for (const char* line : {"frag init v4 id=7 off=0 len=64 mf=1 src=10.0.0.1 proto=6",
                           "frag init v6 id=9 off=0 len=64 mf=1 dst=2001:db8::2"}) {
    trace::Trace t;
    const frag::Fragment f = parse_frag(line, &t);
    std::vector<uint8_t> p = frag_packet(f);
    p.resize(p.size() - 56);
    std::string why;
    EXPECT_FALSE(parse_packet(p.data(), p.size(), &why)) << line;
    auto w = parse_packet(p.data(), p.size(), &why, /*quoted=*/true);
    ASSERT_TRUE(w) << line << ": " << why;
    EXPECT_EQ(w->id, f.id);
    EXPECT_EQ(w->src, f.src);
    EXPECT_EQ(w->dst, f.dst);
    EXPECT_EQ(w->proto, f.proto);
    EXPECT_EQ(w->payload.size(), 8u);
    // Not even the headers: refused either way.
    p.resize(f.family == frag::Family::kV4 ? 19 : 47);
    EXPECT_FALSE(parse_packet(p.data(), p.size(), &why, /*quoted=*/true)) << line;
  }
}

TEST(Wire, ParseRefusesWhatATraceCannotSay) {
  std::string why;
  std::vector<uint8_t> v4(28, 0);
  v4[0] = 0x46;  // IHL 6: options
  v4[3] = 28;
  EXPECT_FALSE(parse_packet(v4.data(), v4.size(), &why));
  EXPECT_EQ(why, "IPv4 options not as the trace writes them (nop, ra, rr, ts, lsrr, bad)");
  v4[0] = 0x45;
  v4[3] = 40;  // total length beyond the capture
  EXPECT_FALSE(parse_packet(v4.data(), v4.size(), &why));
  EXPECT_EQ(why, "truncated IPv4 packet");
  std::vector<uint8_t> v6(56, 0);
  v6[0] = 0x60;
  v6[5] = 16;
  v6[6] = 0;  // hop-by-hop options before the Fragment header
  EXPECT_FALSE(parse_packet(v6.data(), v6.size(), &why));
  v6[6] = 44;
  EXPECT_TRUE(parse_packet(v6.data(), v6.size(), &why));
  v6[5] = 0;  // jumbogram
  EXPECT_FALSE(parse_packet(v6.data(), v6.size(), &why));
  uint8_t arp[1] = {0x00};
  EXPECT_FALSE(parse_packet(arp, 1, &why));
}

TEST(Wire, WholeV4IsNotAFragment) {
  WireFragment w;
  EXPECT_FALSE(w.is_fragment());
  w.mf = true;
  EXPECT_TRUE(w.is_fragment());
  w = {};
  w.family = frag::Family::kV6;
  EXPECT_TRUE(w.is_fragment());  // an atomic fragment has a Fragment header
}

}  // namespace
}  // namespace nv::kernel
