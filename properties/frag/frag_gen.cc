#include "properties/frag/frag_gen.h"

#include <algorithm>
#include <set>

#include "runner/subsystem.h"
#include "trace/frag/frag_ops.h"
#include "trace/parser.h"
#include "trace/printer.h"

namespace nv::gen {
namespace {

using rc::gen::inRange;

struct Piece {
  uint32_t off, len;
  bool mf;
  int fill = -1;
};

// A datagram of `total` bytes cut into fragments of multiples of 8.
std::vector<Piece> fragment(uint32_t total, uint32_t max_piece) {
  std::vector<Piece> pieces;
  if (total == 0) return {{0, 0, false}};
  uint32_t off = 0;
  while (off < total) {
    uint32_t len = 8 * *inRange<uint32_t>(1, max_piece / 8 + 1);
    // Offsets stop at 65528; a datagram reaching past that ends in one piece.
    if (off + len >= total || off + len > 65528) len = total - off;
    pieces.push_back({off, len, off + len < total});
    off += len;
  }
  return pieces;
}

// One to four perturbations, each of a kind the trace's swarm enables.
void perturb(std::vector<Piece>& p, const std::vector<int>& kinds) {
  const int n = kinds.empty() ? 0 : *inRange(1, 5);
  for (int i = 0; i < n && !p.empty(); ++i) {
    size_t k = *inRange<size_t>(0, p.size());
    switch (*rc::gen::elementOf(kinds)) {
      case 0:  // duplicate
        p.insert(p.begin() + *inRange<size_t>(0, p.size() + 1), p[k]);
        break;
      case 1:  // drop
        p.erase(p.begin() + k);
        break;
      case 2:  // truncate: a length that is not a multiple of 8
        if (p[k].len > 0) p[k].len -= *inRange<uint32_t>(1, std::min<uint32_t>(p[k].len, 8) + 1);
        break;
      case 3: {  // overlap with agreeing data, anywhere
        uint32_t end = p.back().off + p.back().len + 16;
        uint32_t off = std::min<uint32_t>(8 * *inRange<uint32_t>(0, end / 8 + 1), 65528);
        p.insert(p.begin() + *inRange<size_t>(0, p.size() + 1),
                 {off, 8 * *inRange<uint32_t>(1, 5), *rc::gen::arbitrary<bool>()});
        break;
      }
      case 4: {  // overlap with differing data across one boundary
        std::vector<Piece> sorted = p;
        std::sort(sorted.begin(), sorted.end(), [](auto& a, auto& b) { return a.off < b.off; });
        for (size_t j = 0; j + 1 < sorted.size(); ++j) {
          const Piece &a = sorted[j], &b = sorted[j + 1];
          if (a.off + a.len != b.off || a.len < 16 || b.len < 16) continue;
          uint32_t from = a.off + 8 * *inRange<uint32_t>(1, a.len / 8);
          uint32_t to = b.off + 8 * *inRange<uint32_t>(1, b.len / 8);
          if (to >= b.off + b.len) continue;
          p.insert(p.begin() + *inRange<size_t>(0, p.size() + 1),
                   {from, to - from, true, *inRange(0, 256)});
          break;
        }
        break;
      }
      case 5:  // move one fragment elsewhere in the order
        if (p.size() > 1) std::rotate(p.begin() + k, p.begin() + k + 1, p.end());
        break;
      case 6:  // clear or set MF on one fragment
        p[k].mf = !p[k].mf;
        break;
    }
  }
}

void reorder(std::vector<Piece>& p) {
  switch (*inRange(0, 3)) {
    case 0:
      break;
    case 1:
      std::reverse(p.begin(), p.end());
      break;
    case 2: {
      std::vector<std::pair<int, Piece>> keyed;
      for (const Piece& x : p) keyed.emplace_back(*inRange(0, 1000), x);
      std::stable_sort(keyed.begin(), keyed.end(),
                       [](auto& a, auto& b) { return a.first < b.first; });
      for (size_t i = 0; i < p.size(); ++i) p[i] = keyed[i].second;
    }
  }
}

const char* const kSysctlKeys[] = {"ipv4.ipfrag_high_thresh", "ipv4.ipfrag_low_thresh",
                                   "ipv4.ipfrag_time",        "ipv6.ip6frag_high_thresh",
                                   "ipv6.ip6frag_low_thresh", "ipv6.ip6frag_time",
                                   "ipv4.ipfrag_max_dist"};

Step sysctl_step(const std::string& ns, bool kernel) {
  Step s{.kind = Step::Kind::kSysctl, .ns = ns};
  s.key =
      *rc::gen::elementOf(std::vector<std::string>(std::begin(kSysctlKeys), std::end(kSysctlKeys)));
  // For the kernel a timeout of whole seconds, at least one (0 expires a
  // queue at the next jiffy, between two fragments of one instant).
  s.value = kernel && s.key.ends_with("_time")
                ? *rc::gen::element<uint64_t>(1, 2, 2, 30, 8589935)
                : *rc::gen::element<uint64_t>(0, 1, 2, 8, 3000, 20000, 3145728, 4194304, 8589935);
  return s;
}

// Swarm testing (Groce et al., ISSTA 2012): each trace enables a random
// subset of the generator's features, so that whatever a bug needs (v6 only,
// datagrams reaching past 65535 bytes, two datagrams on one key) is dense in
// some traces instead of diluted in all of them.
struct Swarm {
  std::vector<bool> families;      // of {v4, v6}: the ones datagrams use
  std::vector<int> sizes;          // of {small, medium, around 65535}
  std::vector<int> perturbations;  // perturb()'s kinds
  std::vector<int> extras;         // of {tick, sysctl, netns del}
  bool one_key = false;            // every datagram on one id and source
  bool mixed_proto = false;        // each fragment its own next header
  bool ecn = false;                // ECN codepoints, a datagram's fragments mostly agreeing
  bool odd_lengths = false;        // non-last fragments short of a multiple of 8
  bool at_limit = false;           // the first datagram: v4, whole, near 65535 bytes
  bool concurrent = false;         // short runs of steps race ("go")
  bool evict = false;              // the global table's eviction policy
  bool list = false;               // the list design's reassembly (no coalescing)
  bool tight = false;              // small memory thresholds, set first (evict only)
  bool ext = false;                // v4 options, v6 extension headers before the Fragment header
};

// A non-empty subset of `all`, each member in with probability 1/2.
template <typename T>
std::vector<T> subset(const std::vector<T>& all) {
  std::vector<T> out;
  for (const T& x : all)
    if (*rc::gen::arbitrary<bool>()) out.push_back(x);
  if (out.empty()) out.push_back(*rc::gen::elementOf(all));
  return out;
}

Swarm swarm(const FragGenOptions& options) {
  Swarm w;
  w.families = subset<bool>({false, true});
  w.sizes = subset<int>({0, 1, 2});
  // A third of the traces are clean: a limit is only reached by a datagram
  // that arrives whole.
  if (options.perturb && *rc::gen::element(true, true, false))
    w.perturbations = subset<int>({0, 1, 2, 3, 4, 5, 6});
  if (options.extras) w.extras = subset<int>({0, 1, 2});
  w.one_key = *rc::gen::element(false, false, true);
  w.mixed_proto = *rc::gen::element(false, false, true);
  w.ecn = *rc::gen::element(false, true);
  w.odd_lengths = *rc::gen::element(false, false, false, true);
  w.at_limit = *rc::gen::element(false, false, false, true);
  w.ext = *rc::gen::element(false, false, false, false, false, false, false, true);
  if (options.kernel) {
    // Today's kernel refuses above high_thresh: tight limits test its
    // accounting, byte for byte.
    w.tight = options.extras && *rc::gen::element(false, false, false, true);
    return w;
  }
  w.concurrent = *rc::gen::element(false, false, true);
  w.evict = *rc::gen::element(false, false, false, true);
  w.list = *rc::gen::element(false, false, false, true);
  // Only where the evictor runs: in a third of all traces, tight limits
  // refused so many fragments that the reassembly mutants' detection rates
  // fell by half or more (frag-oversize-accept 12% to 5%).
  w.tight = w.evict && options.extras && *rc::gen::element(false, true);
  return w;
}

// The kernel engine cannot observe v6 ICMPv6 payloads (kernel_engine.h).
uint32_t proto(bool v6, const FragGenOptions& options) {
  const uint32_t p = *rc::gen::element<uint32_t>(253, 253, 253, 17, 6, 6, 58, 59);
  return p == 58 && v6 && options.kernel ? 59 : p;
}

std::vector<Step> steps_of(const FragGenOptions& options, int size) {
  const Swarm w = swarm(options);
  std::vector<Step> steps;
  if (w.evict) steps.push_back({.kind = Step::Kind::kPolicyEvict});
  if (w.list) steps.push_back({.kind = Step::Kind::kReasmList});
  std::vector<std::string> spaces = {"init"};
  if (options.extras) {
    const int extra = *inRange(0, 3);
    for (int i = 1; i <= extra; ++i) {
      spaces.push_back("ns" + std::to_string(i));
      steps.push_back({.kind = Step::Kind::kNetnsAdd, .ns = spaces.back()});
    }
  }
  // Thresholds of a few fragments (a queue and a small skb are about 1 KB),
  // low before high so that each write is accepted.
  if (w.tight) {
    for (const std::string& ns : spaces)
      for (const char* family : {"ipv4.ipfrag_", "ipv6.ip6frag_"}) {
        const uint64_t low = *rc::gen::element<uint64_t>(0, 1000, 2000, 4000);
        const uint64_t high = low + *rc::gen::element<uint64_t>(0, 1000, 3000, 6000);
        steps.push_back({.kind = Step::Kind::kSysctl,
                         .ns = ns,
                         .key = std::string(family) + "low_thresh",
                         .value = low});
        steps.push_back({.kind = Step::Kind::kSysctl,
                         .ns = ns,
                         .key = std::string(family) + "high_thresh",
                         .value = high});
      }
  }
  const int datagrams = *inRange(1, 2 + std::max(size, 0) / 10);
  const uint32_t key_id = *inRange<uint32_t>(1, 9), key_src = *inRange<uint32_t>(0, 2);
  std::vector<std::vector<Step>> streams;
  for (int d = 0; d < datagrams; ++d) {
    const bool at_limit = w.at_limit && d == 0;
    Step base;
    base.datagram = uint32_t(d);
    base.ns = w.one_key ? spaces[0] : *rc::gen::elementOf(spaces);
    base.v6 = !at_limit && *rc::gen::elementOf(w.families);
    base.id = w.one_key ? key_id : *inRange<uint32_t>(1, 9);
    base.proto = proto(base.v6, options);
    base.src = w.one_key ? key_src : *inRange<uint32_t>(0, 2);
    if (options.kernel && !w.one_key && *rc::gen::arbitrary<bool>())
      base.peers = *inRange<int>(0, int(std::size(kKernelPeers[0])));
    if (w.ecn) base.ecn = *inRange<uint8_t>(0, 4);
    // v4 DF on no fragment (most senders), on some, or on every one (a
    // sender doing path MTU discovery).
    const int df = base.v6 ? 0 : *rc::gen::element(0, 1, 2, 2);
    // v4 options, v6 extension headers: the same on every fragment, or
    // the first fragment's differing from the others' (only its count).
    // Options Linux drops (lsrr, bad) only now and then on one fragment: on
    // every fragment, or often, they leave nothing to reassemble.
    const uint8_t kept = base.v6 ? 8 : frag::kOptLsrr;
    if (w.ext) base.ext = *inRange<uint8_t>(0, kept);
    uint32_t total = 0;
    switch (at_limit ? 2 : *rc::gen::elementOf(w.sizes)) {
      case 0:
        total = *inRange<uint32_t>(0, 200);
        break;
      case 1:
        total = *inRange<uint32_t>(0, 3000);
        break;
      default:
        total = *inRange<uint32_t>(65496, 65560);  // around the 65535-byte limits
    }
    const uint32_t max_piece = total > 60000 ? 16384 : *rc::gen::element<uint32_t>(8, 16, 64, 1480);
    std::vector<Piece> pieces = fragment(total, max_piece);
    if (w.odd_lengths)
      for (Piece& p : pieces)
        if (p.mf && p.len >= 8) p.len -= *inRange<uint32_t>(1, 8);
    if (!at_limit) {
      perturb(pieces, w.perturbations);
      reorder(pieces);
    }
    std::vector<Step> stream;
    for (const Piece& p : pieces) {
      Step s = base;
      s.off = p.off;
      if (w.ext && *inRange(0, 4) == 0) s.ext = *inRange<uint8_t>(0, kept);
      if (w.ext && !base.v6 && *inRange(0, 16) == 0)
        s.ext = *inRange<uint8_t>(frag::kOptLsrr, frag::kOptBad + 1);
      s.len = std::min(p.len,
                       (base.v6 ? 65527u : 65515u) -
                           frag::extra_len(base.v6 ? frag::Family::kV6 : frag::Family::kV4, s.ext));
      s.mf = p.mf;
      s.fill = p.fill;
      if (w.mixed_proto) s.proto = proto(s.v6, options);
      // RFC 3168 5.3's cases: CE on the way (a fragment marked), or a
      // fragment that disagrees on ECN capability.
      if (w.ecn && *inRange(0, 4) == 0) s.ecn = *inRange<uint8_t>(0, 4);
      s.df = df == 2 || (df == 1 && *rc::gen::arbitrary<bool>());
      stream.push_back(s);
    }
    streams.push_back(std::move(stream));
  }
  // Interleave the datagrams; now and then the clock, a sysctl or a
  // namespace's deletion comes in between.
  std::vector<size_t> next(streams.size(), 0);
  int ticks = 0;  // kernel: at most kKernelTicks
  auto tick = [&](uint64_t ms) {
    if (!options.kernel)
      steps.push_back({.kind = Step::Kind::kTick, .value = ms});
    else if (ticks++ < kKernelTicks)
      steps.push_back({.kind = Step::Kind::kTick, .value = kKernelTickMs});
  };
  for (;;) {
    std::vector<size_t> open;
    for (size_t i = 0; i < streams.size(); ++i)
      if (next[i] < streams[i].size()) open.push_back(i);
    if (open.empty()) break;
    size_t i = *rc::gen::elementOf(open);
    steps.push_back(streams[i][next[i]++]);
    if (w.extras.empty() || *inRange(0, 20) != 0) continue;
    switch (*rc::gen::elementOf(w.extras)) {
      case 0:
        tick(*rc::gen::element<uint64_t>(100, 100, 1000, 1000, 29000, 30000, 61000));
        break;
      case 1:
        steps.push_back(sysctl_step(*rc::gen::elementOf(spaces), options.kernel));
        break;
      default:
        if (spaces.size() > 1)
          steps.push_back({.kind = Step::Kind::kNetnsDel, .ns = *rc::gen::elementOf(spaces)});
    }
  }
  if (options.extras && *rc::gen::arbitrary<bool>()) tick(120000);
  // Races: runs of two to four steps started together. Short, because the
  // linearizability check's cost grows exponentially with the threads of a
  // section.
  if (w.concurrent) {
    for (size_t i = 0; i + 1 < steps.size(); ++i) {
      if (steps[i].kind == Step::Kind::kNetnsAdd || *inRange(0, 3) != 0) continue;
      const size_t end = std::min(steps.size(), i + size_t(*inRange(2, 5)));
      for (; i < end && steps[i].kind != Step::Kind::kNetnsAdd; ++i)
        steps[i].go =
            steps[i].kind != Step::Kind::kPolicyEvict && steps[i].kind != Step::Kind::kReasmList;
    }
  }
  return steps;
}

}  // namespace

rc::Gen<std::vector<Step>> frag_steps(FragGenOptions options) {
  // The size sets the number of datagrams only (up to one per 10 of size);
  // every other choice is made at the nominal size, uniform over its range
  // (rapidcheck's inRange narrows with the size: at small sizes datagrams
  // were cut into 8-byte pieces, and size 0 gave thousands of operations).
  return rc::gen::withSize([options](int size) {
    return rc::gen::resize(rc::kNominalSize,
                           rc::gen::exec([options, size] { return steps_of(options, size); }));
  });
}

std::string render(const std::vector<Step>& steps) {
  static const char* const kSrc4[] = {"127.0.0.1", "127.0.0.2"};
  static const char* const kSrc6[] = {"::1", "::2"};
  std::set<std::string> live = {"init"};
  std::string out = "netverify-trace 1\n";
  for (const Step& s : steps) {
    switch (s.kind) {
      case Step::Kind::kFrag: {
        if (!live.count(s.ns)) break;
        out += std::string(s.go ? "go " : "") + "frag " + s.ns + (s.v6 ? " v6" : " v4") +
               " id=" + std::to_string(s.id) + " off=" + std::to_string(s.off) +
               " len=" + std::to_string(s.len) + " mf=" + std::to_string(int(s.mf));
        if (s.peers >= 0)
          out += std::string(" src=") + kKernelPeers[s.v6][s.peers][0] +
                 " dst=" + kKernelPeers[s.v6][s.peers][1];
        else if (s.src % 2)
          out += std::string(" src=") + (s.v6 ? kSrc6 : kSrc4)[1];
        if (s.proto != 253) out += " proto=" + std::to_string(s.proto);
        if (s.ecn) out += " ecn=" + std::string(frag::kEcnNames[s.ecn]);
        if (s.df && !s.v6) out += " df=1";
        if (s.ext)
          out += s.v6 ? " ext=" + std::string(frag::kExtNames[s.ext])
                      : " opt=" + std::string(frag::kOptNames[s.ext]);
        if (s.fill >= 0) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "%02x", s.fill & 255);
          out += std::string(" data=fill:") + buf;
        }
        out += "\n";
        break;
      }
      case Step::Kind::kTick:
        out += std::string(s.go ? "go " : "") + "tick " + trace::format_duration_ms(s.value) + "\n";
        break;
      case Step::Kind::kSysctl:
        if (live.count(s.ns))
          out += std::string(s.go ? "go " : "") + "sysctl " + s.ns + " " + s.key + " " +
                 std::to_string(s.value) + "\n";
        break;
      case Step::Kind::kNetnsAdd:
        if (live.insert(s.ns).second) out += "netns add " + s.ns + "\n";
        break;
      case Step::Kind::kNetnsDel:
        if (s.ns != "init" && live.erase(s.ns))
          out += std::string(s.go ? "go " : "") + "netns del " + s.ns + "\n";
        break;
      case Step::Kind::kPolicyEvict:
        out += "policy frag evict\n";
        break;
      case Step::Kind::kReasmList:
        out += "policy frag-reasm list\n";
        break;
    }
  }
  return out;
}

uint64_t flood_queue_cost(const Flood& f) {
  const frag::Family family = f.v6 ? frag::Family::kV6 : frag::Family::kV4;
  return frag::kQueueTruesize[int(family)] + frag::frag_truesize(family, f.len);
}

rc::Gen<Flood> flood(bool evict) {
  return rc::gen::exec([evict] {
    Flood f{.evict = evict, .v6 = *rc::gen::arbitrary<bool>()};
    f.len = 8 * *inRange<uint32_t>(1, 64);
    // Small thresholds: tens of queues reach high_thresh, so that the
    // property stays fast; the default thresholds take thousands
    // (frag_properties_test.cc, FragFlood.DefaultThresholds).
    f.low = 1024 * *inRange<uint64_t>(4, 48);
    f.high = f.low + 1024 * *inRange<uint64_t>(1, 32);
    // Enough first fragments to pass high_thresh, and a few more.
    f.flood = uint32_t(f.high / flood_queue_cost(f) + *inRange<uint64_t>(2, 40));
    return f;
  });
}

std::string render_flood(const Flood& f) {
  const std::string fam = f.v6 ? "v6" : "v4";
  const std::string prefix = f.v6 ? "ipv6.ip6frag_" : "ipv4.ipfrag_";
  std::string out = "netverify-trace 1\n";
  if (f.evict) out += "policy frag evict\n";
  if (f.low || f.high) {
    out += "sysctl init " + prefix + "low_thresh " + std::to_string(f.low) + "\n";
    out += "sysctl init " + prefix + "high_thresh " + std::to_string(f.high) + "\n";
  }
  // The flood: first fragments of datagrams whose rest never comes (ids
  // 1..flood), each queue charged until it times out.
  for (uint32_t id = 1; id <= f.flood; ++id)
    out += "frag init " + fam + " id=" + std::to_string(id) +
           " off=0 len=" + std::to_string(f.len) + " mf=1\n";
  // The later datagram, complete in two fragments.
  const std::string later = std::to_string(f.flood + 1);
  out += "frag init " + fam + " id=" + later + " off=0 len=64 mf=1\n";
  out += "frag init " + fam + " id=" + later + " off=64 len=64 mf=0\n";
  if (f.evict) {
    // The evictor made room: delivered at once; the oldest flood queue went.
    out += "expect deliver init " + fam + " id=" + later + " len=128\n";
    out += "expect counter init " + std::string(f.v6 ? "Ip6ReasmOKs" : "IpReasmOKs") + " 1\n";
    return out;
  }
  // Refused: nothing reassembles while the flood holds the memory...
  out += "expect nodeliver init " + fam + " id=" + later + "\n";
  out += "expect counter init " + std::string(f.v6 ? "Ip6ReasmOKs" : "IpReasmOKs") + " 0\n";
  // ...until it times out; then the same datagram, sent again, is.
  out += std::string("tick ") + (f.v6 ? "61s" : "31s") + "\n";
  out += "frag init " + fam + " id=" + later + " off=0 len=64 mf=1\n";
  out += "frag init " + fam + " id=" + later + " off=64 len=64 mf=0\n";
  out += "expect deliver init " + fam + " id=" + later + " len=128\n";
  // Queued while the memory was at most high_thresh: one past it.
  const uint64_t queued = std::min<uint64_t>(f.flood, f.high / flood_queue_cost(f) + 1);
  out += "expect counter init " + std::string(f.v6 ? "Ip6ReasmTimeout" : "IpReasmTimeout") + " " +
         std::to_string(queued) + "\n";
  return out;
}

}  // namespace nv::gen
