#include "kernel/wire.h"

#include <algorithm>
#include <cstring>

namespace nv::kernel {
namespace {

void put16(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 8);
  p[1] = uint8_t(v);
}

void put32(uint8_t* p, uint32_t v) {
  put16(p, v >> 16);
  put16(p + 2, v);
}

uint32_t get16(const uint8_t* p) {
  return uint32_t(p[0]) << 8 | p[1];
}

uint32_t get32(const uint8_t* p) {
  return get16(p) << 16 | get16(p + 2);
}

trace::Addr addr_from(const uint8_t* p, bool v6) {
  trace::Addr a;
  a.v6 = v6;
  std::memcpy(a.bytes.data(), p, v6 ? 16 : 4);
  return a;
}

// The v6 extension headers of trace/frag/frag_ops.h's kExtNames, each as
// frag_packet writes it: next header, length 0 (8 bytes), then a PadN option
// of four zero bytes (hop-by-hop, destination options) or routing type 0
// with no segments left and its reserved word.
struct ExtHeader {
  uint8_t bit, type;
  uint8_t body[6];
};
constexpr ExtHeader kExtHeaders[3] = {{frag::kExtHbh, 0, {1, 4, 0, 0, 0, 0}},
                                      {frag::kExtDst, 60, {1, 4, 0, 0, 0, 0}},
                                      {frag::kExtRt, 43, {0, 0, 0, 0, 0, 0}}};

// The v4 options of kOptNames, each as frag_packet writes it (a single
// option; record route, timestamp and loose source route with room for one
// address or stamp and their pointer at it, then End of List).
struct V4Option {
  uint8_t len;
  uint8_t bytes[8];
};
constexpr V4Option kOptions[7] = {{0, {}},
                                  {4, {1, 1, 1, 1}},
                                  {4, {148, 4, 0, 0}},
                                  {8, {7, 7, 4, 0, 0, 0, 0, 0}},
                                  {8, {68, 8, 5, 0, 0, 0, 0, 0}},
                                  {8, {131, 7, 4, 0, 0, 0, 0, 0}},
                                  {4, {7, 2, 4, 0}}};

// Which of them `n` bytes of options are: as written, or as the receiving
// kernel left them (it records its address in a record route and a time
// in a timestamp, moving their pointers): the same type and length.
std::optional<uint8_t> v4_option_of(const uint8_t* p, size_t n) {
  for (uint8_t i = 1; i < 7; ++i) {
    const V4Option& o = kOptions[i];
    if (n == o.len && (std::memcmp(p, o.bytes, n) == 0 ||
                       (o.len == 8 && p[0] == o.bytes[0] && p[1] == o.bytes[1])))
      return i;
  }
  return std::nullopt;
}

}  // namespace

uint16_t inet_checksum(const uint8_t* p, size_t n) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < n; i += 2) sum += get16(p + i);
  if (n % 2) sum += uint32_t(p[n - 1]) << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(~sum);
}

std::vector<uint8_t> frag_packet(const frag::Fragment& f) {
  const bool v6 = f.family == frag::Family::kV6;
  const size_t hlen = frag::header_len(f.family, f.ext);
  std::vector<uint8_t> pkt(hlen + f.len);
  uint8_t* h = pkt.data();
  if (!v6) {
    h[0] = uint8_t(0x40 | hlen / 4);
    h[1] = f.ecn;  // TOS: DSCP 0 and the ECN codepoint
    put16(h + 2, uint32_t(hlen + f.len));
    put16(h + 4, f.id);
    put16(h + 6, (f.df ? 0x4000 : 0) | (f.mf ? 0x2000 : 0) | (f.off / 8));
    h[8] = kWireTtl;
    h[9] = f.proto;
    std::memcpy(h + 12, f.src.bytes.data(), 4);
    std::memcpy(h + 16, f.dst.bytes.data(), 4);
    std::memcpy(h + 20, kOptions[f.ext % 7].bytes, hlen - 20);
    put16(h + 10, inet_checksum(h, hlen));
  } else {
    h[0] = 0x60;
    h[1] = uint8_t(f.ecn << 4);  // traffic class: DSCP 0 and the ECN codepoint
    put16(h + 4, uint32_t(hlen - 40) + f.len);
    h[7] = kWireTtl;
    std::memcpy(h + 8, f.src.bytes.data(), 16);
    std::memcpy(h + 24, f.dst.bytes.data(), 16);
    uint8_t* next = h + 6;  // the previous header's next header field
    uint8_t* x = h + 40;
    for (const ExtHeader& e : kExtHeaders) {
      if (!(f.ext & e.bit)) continue;
      *next = e.type;
      next = x;
      std::memcpy(x + 2, e.body, sizeof e.body);
      x += 8;
    }
    *next = 44;  // Fragment header
    x[0] = f.proto;
    put16(x + 2, f.off | (f.mf ? 1 : 0));
    put32(x + 4, f.id);
  }
  frag::fill_payload(f, h + hlen);
  return pkt;
}

std::vector<uint8_t> frag_frame(const frag::Fragment& f) {
  std::vector<uint8_t> pkt = frag_packet(f);
  std::vector<uint8_t> frame(kEthHeaderLen + pkt.size());
  put16(frame.data() + 12, f.family == frag::Family::kV6 ? kEthertypeIpv6 : kEthertypeIpv4);
  std::memcpy(frame.data() + kEthHeaderLen, pkt.data(), pkt.size());
  return frame;
}

std::optional<WireFragment> parse_packet(const uint8_t* p, size_t n, std::string* why,
                                         bool quoted) {
  if (n < 1) {
    *why = "empty packet";
    return std::nullopt;
  }
  WireFragment w;
  const unsigned version = p[0] >> 4;
  if (version == 4) {
    if (n < 20) {
      *why = "truncated IPv4 header";
      return std::nullopt;
    }
    const uint32_t ihl = uint32_t(p[0] & 15) * 4;
    const uint32_t total = quoted ? std::min<size_t>(get16(p + 2), n) : get16(p + 2);
    if (ihl < 20 || total < ihl || total > n) {
      *why = ihl < 20 || total < ihl ? "bad IPv4 header or total length" : "truncated IPv4 packet";
      return std::nullopt;
    }
    if (ihl > 20) {
      const std::optional<uint8_t> opt = v4_option_of(p + 20, ihl - 20);
      if (!opt) {
        *why = "IPv4 options not as the trace writes them (nop, ra, rr, ts, lsrr, bad)";
        return std::nullopt;
      }
      w.ext = *opt;
    }
    const uint32_t frag = get16(p + 6);
    w.family = frag::Family::kV4;
    w.id = get16(p + 4);
    w.mf = (frag & 0x2000) != 0;
    w.df = (frag & 0x4000) != 0;
    w.off = (frag & 0x1fff) * 8;
    w.proto = p[9];
    w.ecn = p[1] & 3;
    w.src = addr_from(p + 12, false);
    w.dst = addr_from(p + 16, false);
    w.payload.assign(p + ihl, p + total);
    return w;
  }
  if (version == 6) {
    if (n < 40) {
      *why = "truncated IPv6 header";
      return std::nullopt;
    }
    const uint32_t plen = quoted ? std::min<size_t>(get16(p + 4), n - 40) : get16(p + 4);
    if (get16(p + 4) == 0) {
      *why = "IPv6 jumbogram";
      return std::nullopt;
    }
    // Extension headers before the Fragment header: those kExtNames names,
    // in their order, each as frag_packet writes it.
    uint32_t x = 40;
    uint8_t next = p[6];
    for (const ExtHeader& e : kExtHeaders) {
      if (next != e.type) continue;
      if (x + 8 > 40 + plen || x + 8 > n || p[x + 1] != 0 ||
          std::memcmp(p + x + 2, e.body, sizeof e.body) != 0) {
        *why = "IPv6 extension header not as the trace writes it (8 bytes, PadN or type 0)";
        return std::nullopt;
      }
      w.ext |= e.bit;
      next = p[x];
      x += 8;
    }
    if (next != 44) {
      *why =
          "IPv6 without a Fragment header after the fixed header (and hop-by-hop, "
          "destination options, routing, in that order)";
      return std::nullopt;
    }
    if (plen < x - 40 + 8 || 40 + plen > n) {
      *why = plen < x - 40 + 8 ? "bad IPv6 payload length" : "truncated IPv6 packet";
      return std::nullopt;
    }
    w.family = frag::Family::kV6;
    w.src = addr_from(p + 8, true);
    w.dst = addr_from(p + 24, true);
    w.proto = p[x];
    w.ecn = (p[1] >> 4) & 3;
    const uint32_t frag = get16(p + x + 2);
    w.off = frag & ~7u;
    w.mf = (frag & 1) != 0;
    w.id = get32(p + x + 4);
    w.payload.assign(p + x + 8, p + 40 + plen);
    return w;
  }
  *why = "not IPv4 or IPv6";
  return std::nullopt;
}

std::string frag_line(const WireFragment& w, const std::string& ns) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out =
      "frag " + ns + " " + frag::family_name(w.family) + " id=" + std::to_string(w.id) +
      " off=" + std::to_string(w.off) + " len=" + std::to_string(w.payload.size()) +
      " mf=" + (w.mf ? "1" : "0") + " src=" + trace::format_addr(w.src) +
      " dst=" + trace::format_addr(w.dst) + " proto=" + std::to_string(w.proto) +
      (w.ecn ? " ecn=" + std::string(frag::kEcnNames[w.ecn]) : "") + (w.df ? " df=1" : "") +
      (!w.ext                          ? ""
       : w.family == frag::Family::kV6 ? " ext=" + std::string(frag::kExtNames[w.ext])
                                       : " opt=" + std::string(frag::kOptNames[w.ext])) +
      " data=hex:";
  out.reserve(out.size() + 2 * w.payload.size());
  for (uint8_t b : w.payload) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

}  // namespace nv::kernel
