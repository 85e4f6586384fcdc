#include "trace/frag/frag_ops.h"

#include <algorithm>
#include <cstring>

#include "trace/digest.h"
#include "trace/netns/netns_ops.h"

namespace nv::frag {
namespace {

using trace::Addr;
using trace::Data;
using trace::FieldError;
using trace::Kind;
using trace::Op;

Addr default_addr(Family f) {
  Addr a;
  if (f == Family::kV4) {
    a.bytes[0] = 127;
    a.bytes[3] = 1;
  } else {
    a.v6 = true;
    a.bytes[15] = 1;
  }
  return a;
}

Family family_field(const Op& op, size_t i) {
  return Family(op.word(i));
}

// Fragment::ext as the op gives it: opt= for v4, ext= for v6.
uint8_t ext_of(const Op& op) {
  const size_t field =
      family_field(op, fields::kFamily) == Family::kV6 ? fields::kExt : fields::kOpt;
  return op.has(field) ? uint8_t(op.word(field)) : 0;
}

// The longest payload after the fragment's headers: 65515 (v4) or 65527
// (v6) less its options or extension headers.
uint64_t max_len_of(const Op& op) {
  const Family f = family_field(op, fields::kFamily);
  return (f == Family::kV6 ? 65527 : 65515) - extra_len(f, ext_of(op));
}

std::optional<FieldError> check_frag(const Op& op) {
  using namespace fields;
  Family fam = family_field(op, kFamily);
  bool v6 = fam == Family::kV6;
  if (!v6 && op.u(kId) > 65535) return FieldError{kId, "value out of range for 'id' (0..65535)"};
  if (op.u(kOff) % 8 != 0) return FieldError{kOff, "'off' must be a multiple of 8"};
  const uint8_t ext = ext_of(op);
  const uint64_t max_len = max_len_of(op);
  if (op.u(kLen) > max_len)
    return FieldError{kLen, "value out of range for 'len' (0.." + std::to_string(max_len) +
                                (!ext ? ""
                                 : v6 ? " after ext=" + std::string(kExtNames[ext])
                                      : " after opt=" + std::string(kOptNames[ext])) +
                                ")"};
  for (size_t i : {kSrc, kDst}) {
    if (op.has(i) && op.addr(i).v6 != v6)
      return FieldError{i, std::string("address family does not match ") + family_name(fam)};
  }
  if (v6 && op.has(kDf)) return FieldError{kDf, "'df' is an IPv4 header flag"};
  if (!v6 && op.has(kExt)) return FieldError{kExt, "'ext' names IPv6 extension headers"};
  if (v6 && op.has(kOpt)) return FieldError{kOpt, "'opt' names IPv4 options"};
  if (op.has(kData) && op.data(kData).mode == Data::Mode::kHex &&
      op.data(kData).hex.size() != op.u(kLen))
    return FieldError{kData, "hex data must have exactly len=" + std::to_string(op.u(kLen)) +
                                 " bytes, not " + std::to_string(op.data(kData).hex.size())};
  return std::nullopt;
}

void normalize_frag(Op& op) {
  using namespace fields;
  const bool v6 = family_field(op, kFamily) == Family::kV6;
  if (!v6) op.args[kId] = op.u(kId) & 0xffff;
  op.args[kOff] = op.u(kOff) & ~uint64_t{7};
  if (!v6 && op.args.size() > kExt) op.args[kExt].reset();
  if (v6 && op.args.size() > kOpt) op.args[kOpt].reset();
  op.args[kLen] = std::min<uint64_t>(op.u(kLen), max_len_of(op));
  for (size_t i : {kSrc, kDst})
    if (op.has(i) && op.addr(i).v6 != v6) op.args[i].reset();
  if (v6 && op.args.size() > kDf) op.args[kDf].reset();
  if (op.has(kData) && op.data(kData).mode == Data::Mode::kHex) {
    Data d = op.data(kData);
    d.hex.resize(op.u(kLen));
    op.args[kData] = std::move(d);
  }
}

// Whether `e` is a `kind` event about the datagram an expectation names by
// its first three fields (NS FAMILY id=).
bool about(const trace::Event& e, std::string_view kind, const Op& op) {
  return e.kind == kind && std::get<std::string>(*e.get("ns")) == op.name(0) &&
         std::get<std::string>(*e.get("family")) == op.word_text(1) &&
         std::get<uint64_t>(*e.get("id")) == op.u(2);
}

bool deliver_matches(const trace::Event& e, const Op& op) {
  if (!about(e, "deliver", op)) return false;
  auto str = [&](const char* k) { return std::get<std::string>(*e.get(k)); };
  auto num = [&](const char* k) { return std::get<uint64_t>(*e.get(k)); };
  // "expect nodeliver" has only NS, FAMILY and id.
  if (op.args.size() > 3 && op.has(3) && num("len") != op.u(3)) return false;
  if (op.args.size() > 4 && op.has(4) && str("fnv1a64") != trace::format_hex64(op.u(4)))
    return false;
  if (op.args.size() > 5 && op.has(5) && str("ecn") != op.word_text(5)) return false;
  if (op.args.size() > 7 && op.has(7) && (!e.get("df") || num("df") != op.u(7))) return false;
  if (op.args.size() > 8 && op.has(8) &&
      (e.get("opt") ? str("opt") : std::string("none")) != op.word_text(8))
    return false;
  // The kernel engine's deliveries carry no truesize: not checked there.
  if (op.args.size() > 6 && op.has(6) && e.get("truesize") && num("truesize") != op.u(6))
    return false;
  return true;
}

// "expect icmp" (NS FAMILY id [type] [code] [pointer]) and "expect noicmp"
// (NS FAMILY id) against an event.
bool icmp_matches(const trace::Event& e, const Op& op) {
  if (!about(e, "icmp", op)) return false;
  auto num = [&](const char* k) { return std::get<uint64_t>(*e.get(k)); };
  if (op.args.size() > 3 && op.has(3) && num("type") != op.u(3)) return false;
  if (op.args.size() > 4 && op.has(4) && num("code") != op.u(4)) return false;
  if (op.args.size() > 5 && op.has(5) && (!e.get("pointer") || num("pointer") != op.u(5)))
    return false;
  return true;
}

}  // namespace

Fragment fragment_of(const Op& op) {
  using namespace fields;
  Fragment f;
  f.ns = op.name(kNs);
  f.family = family_field(op, kFamily);
  f.id = uint32_t(op.u(kId));
  f.off = uint32_t(op.u(kOff));
  f.len = uint32_t(op.u(kLen));
  f.mf = op.u(kMf) != 0;
  f.src = op.has(kSrc) ? op.addr(kSrc) : default_addr(f.family);
  f.dst = op.has(kDst) ? op.addr(kDst) : default_addr(f.family);
  f.proto = uint8_t(op.u_or(kProto, kDefaultProto));
  if (op.has(kData) && op.data(kData).mode != Data::Mode::kPattern) f.data = &op.data(kData);
  f.ecn = uint8_t(op.has(kEcn) ? op.word(kEcn) : 0);
  f.df = op.has(kDf) && op.u(kDf) != 0;
  f.ext = ext_of(op);
  return f;
}

Policy policy_of(const Op& op) {
  return Policy(op.word(0));
}

Reasm reasm_of(const Op& op) {
  return Reasm(op.word(0));
}

void fill_payload(const Fragment& f, uint8_t* out) {
  if (f.len == 0) return;  // `out` may be null then
  if (f.data && f.data->mode == Data::Mode::kFill) {
    std::memset(out, f.data->fill, f.len);
  } else if (f.data && f.data->mode == Data::Mode::kHex) {
    std::memcpy(out, f.data->hex.data(), f.len);
  } else {
    // The pattern steps by 31 modulo 256, so it repeats every 256 bytes:
    // write one period, then copy it forward.
    uint32_t b = uint32_t((uint64_t(f.off) * 31 + uint64_t(f.id) * 7 + 1) & 255);
    const uint32_t period = std::min<uint32_t>(f.len, 256);
    for (uint32_t k = 0; k < period; ++k, b = (b + 31) & 255) out[k] = uint8_t(b);
    for (uint32_t k = period; k < f.len; k += period)
      std::memcpy(out + k, out, std::min(period, f.len - k));
  }
}

namespace {

// The upper-layer header of a v6 fragment, found as ipv6_skip_exthdr walks
// from its Fragment header (raw frag_off `frag_off`, next header `proto`)
// into its payload: the extension headers there too. Running out of bytes
// in an extension header, or reaching "no next header", makes the walk fail
// (std::nullopt). A Fragment header of a non-first fragment ends the walk at
// itself (proto 44): what follows is data, not a header.
struct UpperLayer {
  uint8_t proto;
  uint32_t off;       // where it starts in the payload (may be past the end)
  uint16_t frag_off;  // the raw frag_off of the last Fragment header read
};
std::optional<UpperLayer> v6_upper_layer(uint16_t frag_off, uint8_t proto, const uint8_t* payload,
                                         uint32_t len) {
  if (frag_off & ~7u) return UpperLayer{44, 0, frag_off};
  uint32_t off = 0;
  uint8_t next = proto;
  for (;;) {
    bool ext = next == 0 || next == 43 || next == 44 || next == 51 || next == 59 || next == 60;
    if (!ext) return UpperLayer{next, off, frag_off};
    if (next == 59 || off + 2 > len) return std::nullopt;
    uint32_t hdrlen;
    if (next == 44) {
      if (off + 4 > len) return std::nullopt;
      frag_off = uint16_t(payload[off + 2] << 8 | payload[off + 3]);
      if (frag_off & ~7u) return UpperLayer{44, off, frag_off};
      hdrlen = 8;
    } else if (next == 51) {
      hdrlen = (uint32_t(payload[off + 1]) + 2) << 2;
    } else {
      hdrlen = (uint32_t(payload[off + 1]) + 1) << 3;
    }
    next = payload[off];
    off += hdrlen;
  }
}

bool is_zero(const trace::Addr& a) {
  for (size_t i = 0; i < (a.v6 ? 16u : 4u); ++i)
    if (a.bytes[i] != 0) return false;
  return true;
}

}  // namespace

bool v6_first_fragment_truncated(uint8_t proto, const uint8_t* payload, uint32_t len) {
  // The kernel does not call a packet truncated whose walk fails, nor one
  // with a non-first fragment's header inside (nothing to check).
  const std::optional<UpperLayer> upper = v6_upper_layer(0, proto, payload, len);
  if (!upper || upper->proto == 44) return false;
  uint32_t need = upper->proto == 6 ? 20 : (upper->proto == 17 || upper->proto == 58) ? 8 : 1;
  return uint64_t(upper->off) + need > len;
}

bool Sysctls::owns(std::string_view key) {
  return key.starts_with("ipv4.ipfrag_") || key.starts_with("ipv6.ip6frag_");
}

bool Sysctls::write(std::string_view key, uint64_t value) {
  for (int f = 0; f < 2; ++f) {
    std::string_view prefix = f == 0 ? "ipv4.ipfrag_" : "ipv6.ip6frag_";
    if (!key.starts_with(prefix)) continue;
    std::string_view name = key.substr(prefix.size());
    if (name == "high_thresh") {
      if (value < low_thresh[f]) return false;
      high_thresh[f] = value;
      return true;
    }
    if (name == "low_thresh") {
      if (value > high_thresh[f]) return false;
      low_thresh[f] = value;
      return true;
    }
    if (name == "time") {
      if (value > kMaxFragTimeS) return false;
      time_s[f] = value;
      return true;
    }
  }
  if (key == "ipv4.ipfrag_max_dist") {
    if (value > 2147483647) return false;
    max_dist = value;
    return true;
  }
  return false;
}

void add_to_snapshot(trace::Snapshot& snap, std::string_view ns, const Counters& c,
                     const uint64_t mem[2], const uint64_t queues[2]) {
  auto& m = snap.ns[std::string(ns)];
  for (int f = 0; f < 2; ++f) {
    m[std::string(kReasmReqds[f])] = c.reqds[f];
    m[std::string(kReasmOKs[f])] = c.oks[f];
    m[std::string(kReasmFails[f])] = c.fails[f];
    m[std::string(kReasmTimeout[f])] = c.timeout[f];
    m[std::string(kInHdrErrors[f])] = c.hdr_errors[f];
    m[std::string(kMemGauge[f])] = mem[f];
    m[std::string(kQueuesGauge[f])] = queues[f];
  }
  m[std::string(kReasmOverlaps)] = c.overlaps;
}

std::string describe_hidden(std::string_view label, const Sysctls& s,
                            std::vector<std::pair<trace::Addr, uint32_t>> peers) {
  const Sysctls d;
  std::string out;
  auto pair = [&](const char* name, const uint64_t(&v)[2], const uint64_t(&def)[2]) {
    if (v[0] != def[0] || v[1] != def[1])
      out += std::string(" ") + name + "=" + std::to_string(v[0]) + "," + std::to_string(v[1]);
  };
  pair("high_thresh", s.high_thresh, d.high_thresh);
  pair("low_thresh", s.low_thresh, d.low_thresh);
  pair("time", s.time_s, d.time_s);
  if (s.max_dist != d.max_dist) out += " max_dist=" + std::to_string(s.max_dist);
  std::sort(peers.begin(), peers.end());
  for (const auto& [addr, rid] : peers)
    out += " peer=" + trace::format_addr(addr) + ":" + std::to_string(rid);
  return out.empty() ? out : "  " + std::string(label) + out + "\n";
}

namespace {

std::string describe_queue(const QueueDescription& q, size_t expiry) {
  std::string out = "  " + std::string(q.label) + " " + family_name(q.family) +
                    " src=" + trace::format_addr(q.src) + " dst=" + trace::format_addr(q.dst) +
                    " id=" + std::to_string(q.id) + " proto=" + std::to_string(q.proto) +
                    " len=" + std::to_string(q.len) + " meat=" + std::to_string(q.meat) +
                    (q.first_in ? " first" : "") + (q.last_in ? " last" : "") +
                    " deadline=" + std::to_string(q.deadline_ms) +
                    "ms expiry=" + std::to_string(expiry) +
                    (q.has_peer ? " rid=" + std::to_string(q.rid) : "") +
                    (q.lru_rank ? " lru=" + std::to_string(*q.lru_rank) : "") + " runs=";
  for (const auto& [off, end] : q.runs)
    out += "[" + std::to_string(off) + "," + std::to_string(end) + ")";
  if (std::any_of(q.cpus.begin(), q.cpus.end(), [](uint32_t c) { return c != 0; })) {
    out += " cpus=";
    for (size_t i = 0; i < q.cpus.size(); ++i) out += (i ? "," : "") + std::to_string(q.cpus[i]);
  }
  if (q.unfrag) out += " unfrag=" + std::to_string(q.unfrag);
  if (q.max_df_len)
    out += " maxlen=" + std::to_string(q.max_len) + " dflen=" + std::to_string(q.max_df_len);
  return out + "\n";
}

}  // namespace

std::string describe_engine(uint64_t now_ms, Policy policy, Reasm reasm) {
  std::string out = "now=" + std::to_string(now_ms) + "ms\n";
  if (policy == Policy::kEvict) out += "policy=evict\n";
  if (reasm == Reasm::kList) out += "reasm=list\n";
  return out;
}

std::string describe_queues(const std::vector<QueueDescription>& queues) {
  std::vector<std::pair<uint64_t, uint64_t>> order;
  for (const QueueDescription& q : queues) order.emplace_back(q.deadline_ms, q.seq);
  std::sort(order.begin(), order.end());
  std::string out;
  for (const QueueDescription& q : queues) {
    const auto at = std::lower_bound(order.begin(), order.end(), std::pair(q.deadline_ms, q.seq));
    out += describe_queue(q, size_t(at - order.begin()));
  }
  return out;
}

uint64_t snapshot_digest(std::string_view ns, const Counters& c, const uint64_t mem[2],
                         const uint64_t queues[2]) {
  trace::Digest d(ns);
  d.add(c.reqds[0]).add(c.reqds[1]).add(c.oks[0]).add(c.oks[1]).add(c.fails[0]).add(c.fails[1]);
  d.add(c.timeout[0]).add(c.timeout[1]).add(c.overlaps).add(c.hdr_errors[0]).add(c.hdr_errors[1]);
  d.add(mem[0]).add(mem[1]).add(queues[0]).add(queues[1]);
  return d.value();
}

trace::Event deliver_event(const Fragment& head, uint32_t len, uint64_t fnv,
                           std::optional<uint64_t> truesize) {
  trace::Event e{"deliver", {}};
  e.fields.reserve(12);
  e.add("ns", std::string(head.ns))
      .add("family", family_name(head.family))
      .add("src", trace::format_addr(head.src))
      .add("dst", trace::format_addr(head.dst))
      .add("proto", uint64_t(head.proto))
      .add("id", uint64_t(head.id))
      .add("len", uint64_t(len))
      .add("fnv1a64", trace::format_hex64(fnv))
      .add("ecn", std::string(kEcnNames[head.ecn & 3]));
  if (head.family == Family::kV4) e.add("df", uint64_t(head.df));
  if (head.family == Family::kV4 && head.ext) e.add("opt", std::string(kOptNames[head.ext % 7]));
  if (truesize) e.add("truesize", *truesize);
  return e;
}

trace::Event drop_event(const Fragment& f, std::string_view reason) {
  trace::Event e{"drop", {}};
  e.fields.reserve(6);
  e.add("ns", std::string(f.ns))
      .add("family", family_name(f.family))
      .add("id", uint64_t(f.id))
      .add("off", uint64_t(f.off))
      .add("len", uint64_t(f.len))
      .add("reason", std::string(reason));
  return e;
}

trace::Event kill_event(std::string_view ns, Family family, uint32_t id, std::string_view reason) {
  trace::Event e{"kill", {}};
  e.fields.reserve(4);
  e.add("ns", std::string(ns))
      .add("family", family_name(family))
      .add("id", uint64_t(id))
      .add("reason", std::string(reason));
  return e;
}

std::optional<trace::Event> icmp_event(const Fragment& about, IcmpError error,
                                       std::span<const uint8_t> payload) {
  const bool v4 = about.family == Family::kV4;
  if (v4) {
    const uint32_t dst = uint32_t(about.dst.bytes[0]) << 24 | uint32_t(about.dst.bytes[1]) << 16 |
                         uint32_t(about.dst.bytes[2]) << 8 | about.dst.bytes[3];
    if (is_multicast(about.dst) || dst == 0xffffffff || dst == 0x7fffffff) return std::nullopt;
    if (about.src.bytes[0] == 0 || about.src.bytes[0] >= 224) return std::nullopt;
    if (about.off != 0) return std::nullopt;  // icmp_send answers fragment 0 only
    if (about.proto == 1) {
      // icmp_pointers[type].error, and types past NR_ICMP_TYPES (18).
      if (payload.empty()) return std::nullopt;
      const int t = payload[0];
      if (t > 18 || t == 3 || t == 4 || t == 5 || t == 11 || t == 12) return std::nullopt;
    }
  } else {
    if (is_multicast(about.dst) || is_multicast(about.src) || is_zero(about.src))
      return std::nullopt;
    const uint16_t frag_off = uint16_t(about.off | (about.mf ? 1 : 0));
    const std::optional<UpperLayer> upper =
        v6_upper_layer(frag_off, about.proto, payload.data(), uint32_t(payload.size()));
    if (upper && upper->proto == 58) {
      // ICMPv6 errors have types below 128 (ICMPV6_INFOMSG_MASK clear); a
      // fragment without the type byte is answered unless its frag_off is 0.
      if (upper->off < payload.size() ? payload[upper->off] < 128 : upper->frag_off == 0)
        return std::nullopt;
    }
  }
  switch (error) {
    case IcmpError::kTimeExceeded:
      return icmp_error_event(about, v4 ? 11 : 3, 1, std::nullopt);
    case IcmpError::kParamLength:
      return icmp_error_event(about, 4, 0, 4);  // offsetof(struct ipv6hdr, payload_len)
    case IcmpError::kParamOffset:
      // The Fragment header's frag_off, after the extension headers.
      return icmp_error_event(about, 4, 0, 42 + ext_len(about.ext));
    case IcmpError::kParamIncomplete:
      return icmp_error_event(about, 4, 3, 0);
    case IcmpError::kParamOption:
      return icmp_error_event(about, 12, 0, kOptBadPointer);
  }
  return std::nullopt;
}

trace::Event icmp_error_event(const Fragment& about, uint8_t type, uint8_t code,
                              std::optional<uint32_t> pointer) {
  trace::Event e{"icmp", {}};
  e.fields.reserve(9);
  e.add("ns", std::string(about.ns))
      .add("family", family_name(about.family))
      .add("src", trace::format_addr(about.src))
      .add("dst", trace::format_addr(about.dst))
      .add("proto", uint64_t(about.proto))
      .add("id", uint64_t(about.id))
      .add("type", uint64_t(type))
      .add("code", uint64_t(code));
  if (pointer) e.add("pointer", uint64_t(*pointer));
  return e;
}

std::string fragment_skb_name(std::string_view ns, Family family, uint32_t id, uint32_t off) {
  return std::string(ns) + "/" + family_name(family) + "/" + std::to_string(id) + "@" +
         std::to_string(off);
}

void register_ops(trace::Registry& r) {
  using trace::FieldSpec;
  for (const char* w : {"v4", "v6"}) r.add_word("family", w);
  for (std::string_view w : kPolicyNames) r.add_word("frag-policy", std::string(w));
  for (std::string_view w : kReasmNames) r.add_word("frag-reasm", std::string(w));
  for (std::string_view w : kEcnNames) r.add_word("ecn", std::string(w));
  for (std::string_view w : kExtNames) r.add_word("v6-ext", std::string(w));
  for (std::string_view w : kOptNames) r.add_word("v4-opt", std::string(w));
  for (const char* k : {"ipv4.ipfrag_high_thresh", "ipv4.ipfrag_low_thresh", "ipv4.ipfrag_time",
                        "ipv6.ip6frag_high_thresh", "ipv6.ip6frag_low_thresh", "ipv6.ip6frag_time",
                        "ipv4.ipfrag_max_dist"})
    r.add_word(trace::kVocabSysctl, k);
  for (std::string_view c : kCounters) r.add_word(trace::kVocabCounter, std::string(c));

  FieldSpec ns{.key = "NS", .kind = Kind::kName, .positional = true, .help = "namespace"};
  FieldSpec family{
      .key = "FAMILY", .kind = Kind::kWord, .positional = true, .vocab = "family", .help = "v4|v6"};
  FieldSpec id{.key = "id", .max = 0xffffffff, .help = "IP id: 0..65535 for v4, 32 bits for v6"};
  r.add_op({.name = "frag",
            .subsystem = "frag",
            .help = "receive one IP fragment",
            .fields = {ns,
                       family,
                       id,
                       {.key = "off", .max = 65528, .help = "payload offset, a multiple of 8"},
                       {.key = "len", .max = 65527, .help = "payload bytes"},
                       {.key = "mf", .max = 1, .help = "more fragments flag"},
                       {.key = "src",
                        .kind = Kind::kAddr,
                        .required = false,
                        .family_field = fields::kFamily,
                        .help = "source"},
                       {.key = "dst",
                        .kind = Kind::kAddr,
                        .required = false,
                        .family_field = fields::kFamily,
                        .help = "destination"},
                       {.key = "proto",
                        .required = false,
                        .max = 255,
                        .help = "v4 protocol or v6 Fragment header next header (253)"},
                       {.key = "data",
                        .kind = Kind::kData,
                        .required = false,
                        .length_field = fields::kLen,
                        .help = "pattern | fill:NN | hex:..."},
                       {.key = "ecn",
                        .kind = Kind::kWord,
                        .required = false,
                        .vocab = "ecn",
                        .late = true,
                        .help = "ECN codepoint: not-ect (default), ect1, ect0 or ce"},
                       {.key = "df",
                        .required = false,
                        .max = 1,
                        .late = true,
                        .help = "v4 Don't Fragment flag"},
                       {.key = "ext",
                        .kind = Kind::kWord,
                        .required = false,
                        .vocab = "v6-ext",
                        .late = true,
                        .help = "v6 extension headers before the Fragment header: none (default) "
                                "or hbh, dst, rt joined by + in that order"},
                       {.key = "opt",
                        .kind = Kind::kWord,
                        .required = false,
                        .vocab = "v4-opt",
                        .late = true,
                        .help = "v4 options: none (default), nop, ra, rr, ts, lsrr or bad"}},
            .check = check_frag,
            .normalize = normalize_frag});
  r.add_op({.name = "policy frag",
            .subsystem = "frag",
            .help = "what a fragment over high_thresh meets from here on: refuse (today's, the "
                    "default) or evict (before Linux 4.17)",
            .fields = {{.key = "POLICY",
                        .kind = Kind::kWord,
                        .positional = true,
                        .vocab = "frag-policy",
                        .help = "refuse|evict"}}});
  r.add_op({.name = "policy frag-reasm",
            .subsystem = "frag",
            .help = "how a reassembled datagram's skbs become one from here on: coalesce "
                    "(today's, the default) or list (each on the head's frag_list)",
            .fields = {{.key = "REASM",
                        .kind = Kind::kWord,
                        .positional = true,
                        .vocab = "frag-reasm",
                        .help = "coalesce|list"}}});
  r.add_op({.name = "expect deliver",
            .subsystem = "frag",
            .help = "a datagram with this id has been delivered",
            .fields = {ns,
                       family,
                       id,
                       {.key = "len", .required = false, .max = 65535, .help = "payload length"},
                       {.key = "fnv1a64",
                        .kind = Kind::kHex64,
                        .required = false,
                        .help = "FNV-1a 64 of the payload"},
                       {.key = "ecn",
                        .kind = Kind::kWord,
                        .required = false,
                        .vocab = "ecn",
                        .help = "the delivered header's ECN codepoint"},
                       {.key = "truesize",
                        .required = false,
                        .help = "the delivered skb's truesize (not checked against the kernel)"},
                       {.key = "df",
                        .required = false,
                        .max = 1,
                        .help = "v4: the delivered header's Don't Fragment flag"},
                       {.key = "opt",
                        .kind = Kind::kWord,
                        .required = false,
                        .vocab = "v4-opt",
                        .help = "v4: the delivered header's options (the first fragment's)"}},
            .expect = [](const Op& op, const std::vector<trace::Event>& history,
                         const trace::Snapshot&) -> std::optional<std::string> {
              for (const auto& e : history)
                if (deliver_matches(e, op)) return std::nullopt;
              return std::string("no such delivery");
            }});
  r.add_op({.name = "expect nodeliver",
            .subsystem = "frag",
            .help = "no datagram with this id has been delivered",
            .fields = {ns, family, id},
            .expect = [](const Op& op, const std::vector<trace::Event>& history,
                         const trace::Snapshot&) -> std::optional<std::string> {
              for (const auto& e : history)
                if (deliver_matches(e, op)) return "delivered: " + trace::to_text(e);
              return std::nullopt;
            }});
  r.add_op({.name = "expect icmp",
            .subsystem = "frag",
            .help = "reassembly has sent an ICMP error about a packet with this id",
            .fields = {ns,
                       family,
                       id,
                       {.key = "type", .required = false, .max = 255, .help = "ICMP type"},
                       {.key = "code", .required = false, .max = 255, .help = "ICMP code"},
                       {.key = "pointer",
                        .required = false,
                        .max = 65535,
                        .help = "a Parameter Problem's pointer"}},
            .expect = [](const Op& op, const std::vector<trace::Event>& history,
                         const trace::Snapshot&) -> std::optional<std::string> {
              for (const auto& e : history)
                if (icmp_matches(e, op)) return std::nullopt;
              return std::string("no such ICMP error");
            }});
  r.add_op({.name = "expect noicmp",
            .subsystem = "frag",
            .help = "reassembly has sent no ICMP error about a packet with this id",
            .fields = {ns, family, id},
            .expect = [](const Op& op, const std::vector<trace::Event>& history,
                         const trace::Snapshot&) -> std::optional<std::string> {
              for (const auto& e : history)
                if (icmp_matches(e, op)) return "sent: " + trace::to_text(e);
              return std::nullopt;
            }});
  r.add_op({.name = "expect mem",
            .subsystem = "frag",
            .help = "reassembly memory accounted in the namespace now",
            .fields = {ns, family, {.key = "BYTES", .positional = true, .help = "bytes"}},
            .expect = [](const Op& op, const std::vector<trace::Event>&,
                         const trace::Snapshot& snap) -> std::optional<std::string> {
              uint64_t have = snap.get(op.name(0), kMemGauge[op.word(1)]);
              if (have == op.u(2)) return std::nullopt;
              return "accounted memory is " + std::to_string(have);
            }});
}

const trace::Registry& frag_registry() {
  static const trace::Registry* const kRegistry = [] {
    auto* r = new trace::Registry;
    trace::register_core_ops(*r);
    netns::register_ops(*r);
    register_ops(*r);
    return r;
  }();
  return *kRegistry;
}

}  // namespace nv::frag
