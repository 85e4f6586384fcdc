#include "properties/defer/defer_gen.h"

#include <array>
#include <set>

#include "trace/defer/defer_ops.h"

namespace nv::gen {
namespace {

using Kind = DeferStep::Kind;
using defer::kNrCpus;

constexpr uint32_t kSkbNames = 12;
// skb_defer_max values: small ones reach half-way and full within a few
// frees; 64 is the default; 2^31 is refused (above INT_MAX).
constexpr uint64_t kDeferMax[] = {0, 1, 2, 3, 4, 4, 6, 8, 64, 2147483648ull};

bool can_race(Kind k) {
  return k == Kind::kAlloc || k == Kind::kFree || k == Kind::kRx || k == Kind::kDown ||
         k == Kind::kUp;
}

rc::Gen<DeferStep> step() {
  return rc::gen::apply(
      [](Kind kind, uint8_t cpu, uint8_t other, uint8_t skb, uint32_t value, bool go) {
        return DeferStep{kind, cpu, other, skb, value, can_race(kind) && go};
      },
      rc::gen::weightedElement<Kind>({{6, Kind::kAlloc},
                                      {6, Kind::kFree},
                                      {3, Kind::kRx},
                                      {1, Kind::kDown},
                                      {1, Kind::kUp},
                                      {2, Kind::kSysctl},
                                      {2, Kind::kBurst},
                                      {3, Kind::kRaceFreeDrain},
                                      {2, Kind::kRaceTwoFrees},
                                      {2, Kind::kTeardown}}),
      // Uniform whatever the size (rapidcheck's inRange scales with it).
      rc::gen::element<uint8_t>(0, 1, 2, 3), rc::gen::element<uint8_t>(0, 1, 2, 3, 4, 5),
      rc::gen::element<uint8_t>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11),
      rc::gen::arbitrary<uint32_t>(), rc::gen::element(false, true));
}

// What render() knows of the trace so far: which names are live (and on
// which CPU they were allocated), which CPUs are up.
class Scene {
 public:
  std::string out = "netverify-trace 1\n";

  void line(const std::string& text, bool go = false) {
    out += (go ? "go " : "") + text + "\n";
    // An ordinary line ends the concurrent section.
    if (!go && !text.starts_with("sched")) {
      racing_alloc_.fill(false);
      racing_free_.fill(false);
    }
  }
  bool live(uint32_t skb) const { return alloc_cpu_[skb] >= 0; }
  bool online(uint32_t cpu) const { return online_[cpu]; }
  // A name that is not live, or -1.
  int free_name(uint32_t from) const {
    for (uint32_t k = 0; k < kSkbNames; ++k)
      if (!live((from + k) % kSkbNames)) return int((from + k) % kSkbNames);
    return -1;
  }
  // Racing lines never share an skb name (trace/section_names.h): an alloc
  // of a name that a go line of the section freed, or a free of one that a
  // go line allocated, waits for the section's end.
  void alloc(uint32_t skb, uint32_t cpu, bool go = false) {
    go &= !racing_free_[skb];
    line("skb alloc " + name(skb) + " cpu=" + std::to_string(cpu), go);
    alloc_cpu_[skb] = int(cpu);
    racing_alloc_[skb] = go;
  }
  void free(uint32_t skb, uint32_t cpu, bool go = false) {
    go &= !racing_alloc_[skb];
    line("skb free " + name(skb) + " cpu=" + std::to_string(cpu), go);
    alloc_cpu_[skb] = -1;
    racing_free_[skb] = go;
  }
  void up(uint32_t cpu, bool go = false) {
    if (cpu == 0) return;
    line("cpu up " + std::to_string(cpu), go);
    online_[cpu] = true;
  }
  void down(uint32_t cpu, bool go = false) {
    if (cpu == 0) return;
    line("cpu down " + std::to_string(cpu), go);
    online_[cpu] = false;
  }
  // Up to eight sched lines, from the bits of `bits`.
  void sched(uint32_t bits) {
    const uint32_t n = bits % 9;
    for (uint32_t k = 0; k < n; ++k) line("sched " + std::to_string((bits >> (4 + k)) & 1));
  }
  // Every CPU up, every live skb freed, every CPU's rx.
  void finish() {
    for (uint32_t c = 1; c < kNrCpus; ++c)
      if (!online(c)) up(c);
    for (uint32_t s = 0; s < kSkbNames; ++s)
      if (live(s)) free(s, s % kNrCpus);
    for (uint32_t c = 0; c < kNrCpus; ++c) line("cpu rx " + std::to_string(c));
  }
  static std::string name(uint32_t skb) { return "s" + std::to_string(skb); }
  // A namespace t0..t3 that is not live (marked live), or -1.
  int new_netns(uint32_t from) {
    for (uint32_t k = 0; k < netns_.size(); ++k) {
      const uint32_t n = (from + k) % netns_.size();
      if (!netns_[n]) {
        netns_[n] = true;
        return int(n);
      }
    }
    return -1;
  }
  void netns_del(uint32_t n, bool go) {
    line("netns del t" + std::to_string(n), go);
    netns_[n] = false;
  }

 private:
  std::array<int, kSkbNames> alloc_cpu_ = [] {
    std::array<int, kSkbNames> a;
    a.fill(-1);
    return a;
  }();
  std::array<bool, kSkbNames> racing_alloc_ = {};
  std::array<bool, kSkbNames> racing_free_ = {};  // freed by a go line of this section
  std::array<bool, 4> netns_ = {};                // t0..t3 live
  std::array<bool, kNrCpus> online_ = {true, true, true, true};
};

// Another CPU than `cpu`: the k-th after it.
uint32_t remote(uint32_t cpu, uint32_t k) {
  return (cpu + 1 + k % (kNrCpus - 1)) % kNrCpus;
}

}  // namespace

rc::Gen<std::vector<DeferStep>> defer_steps() {
  return rc::gen::container<std::vector<DeferStep>>(step());
}

namespace {

// The steps' lines, then the lines that end every trace (every CPU up,
// every skb freed, every CPU's rx), apart.
std::pair<std::string, std::string> render_parts(const std::vector<DeferStep>& steps) {
  Scene sc;
  for (const DeferStep& s : steps) {
    const uint32_t cpu = s.cpu % kNrCpus;
    switch (s.kind) {
      case Kind::kAlloc:
        if (!sc.live(s.skb)) sc.alloc(s.skb, cpu, s.async);
        break;
      case Kind::kFree:
        if (sc.live(s.skb)) sc.free(s.skb, cpu, s.async);
        break;
      case Kind::kRx:
        sc.line("cpu rx " + std::to_string(cpu), s.async);
        break;
      case Kind::kDown:
        sc.down(1 + s.cpu % (kNrCpus - 1), s.async);
        break;
      case Kind::kUp:
        sc.up(1 + s.cpu % (kNrCpus - 1), s.async);
        break;
      case Kind::kSysctl:
        sc.line("sysctl init " + std::string(defer::kDeferMaxKey) + " " +
                std::to_string(kDeferMax[s.value % std::size(kDeferMax)]));
        break;
      case Kind::kBurst: {
        // 2 to 7 skbs allocated on `cpu`, then freed on another CPU.
        std::vector<uint32_t> made;
        for (uint32_t k = 0; k < 2u + s.other; ++k) {
          const int n = sc.free_name(s.skb + k);
          if (n < 0) break;
          sc.alloc(uint32_t(n), cpu);
          made.push_back(uint32_t(n));
        }
        for (uint32_t n : made) sc.free(n, remote(cpu, s.value));
        break;
      }
      case Kind::kRaceFreeDrain: {
        // Something already on the owner's list (when there is room), and a
        // remote free of another of its skbs racing the owner's drain.
        if (!sc.online(cpu)) sc.up(cpu);
        const int first = sc.free_name(s.skb);
        if (first < 0) break;
        sc.alloc(uint32_t(first), cpu);
        const int second = sc.free_name(uint32_t(first) + 1);
        if (second < 0) break;
        sc.alloc(uint32_t(second), cpu);
        sc.free(uint32_t(first), remote(cpu, s.other));
        sc.free(uint32_t(second), remote(cpu, s.other + s.value), /*go=*/true);
        sc.line("cpu rx " + std::to_string(cpu), /*go=*/true);
        sc.sched(s.value >> 3);
        break;
      }
      case Kind::kRaceTwoFrees: {
        // Two remote frees to one owner from two other CPUs, together, at
        // the half-way mark: the owner's list emptied, p skbs put on it,
        // then skb_defer_max 2(p + 1) (the second of the two kicks) or
        // 2p + 1 (the first does).
        if (!sc.online(cpu)) sc.up(cpu);
        sc.line("cpu rx " + std::to_string(cpu));
        const uint32_t preload = s.other % 3;
        std::vector<uint32_t> made;
        for (uint32_t k = 0; k < preload + 2; ++k) {
          const int n = sc.free_name(s.skb + k);
          if (n < 0) break;
          sc.alloc(uint32_t(n), cpu);
          made.push_back(uint32_t(n));
        }
        if (made.size() < preload + 2) break;
        sc.line("sysctl init " + std::string(defer::kDeferMaxKey) + " " +
                std::to_string(2 * preload + 1 + (s.value & 1)));
        for (uint32_t k = 0; k < preload; ++k) sc.free(made[k], remote(cpu, k));
        sc.free(made[preload], remote(cpu, s.other), /*go=*/true);
        sc.free(made[preload + 1], remote(cpu, s.other + 1), /*go=*/true);
        sc.sched(s.value >> 1);
        break;
      }
      case Kind::kTeardown: {
        // Namespace t: a v4 datagram's first fragment received on `cpu`,
        // its last on another CPU, which reassembles it and frees the
        // first fragment through `cpu`'s defer list; then t is deleted
        // while (go, or after) `cpu` runs rx.
        const int n = sc.new_netns(s.skb);
        if (n < 0) break;
        const std::string t = "t" + std::to_string(n);
        const uint32_t other = remote(cpu, s.other);
        if (!sc.online(cpu)) sc.up(cpu);
        sc.line("netns add " + t);
        sc.line("cpu steer " + std::to_string(cpu));
        const std::string id = " v4 id=" + std::to_string(s.value % 4);
        sc.line("frag " + t + id + " off=0 len=8 mf=1");
        sc.line("cpu steer " + std::to_string(other));
        sc.line("frag " + t + id + " off=8 len=8 mf=0");
        sc.netns_del(uint32_t(n), (s.value & 4) != 0);
        sc.line("cpu rx " + std::to_string(cpu), (s.value & 4) != 0);
        sc.sched(s.value >> 3);
        sc.line("cpu steer 0");
        break;
      }
    }
  }
  std::string body = std::move(sc.out);
  sc.out.clear();
  sc.finish();
  return {std::move(body), std::move(sc.out)};
}

// A text's lines in chunks that stay whole: an ordinary line, or a run of
// go and sched lines (a concurrent section). The header line is dropped.
std::vector<std::string> chunks(const std::string& text) {
  std::vector<std::string> out;
  bool in_section = false;
  size_t at = 0;
  while (at < text.size()) {
    const size_t end = text.find('\n', at);
    const std::string line = text.substr(at, end - at + 1);
    at = end + 1;
    if (line.starts_with("netverify-trace")) continue;
    const bool section = line.starts_with("go ") || line.starts_with("sched ");
    if (section && in_section)
      out.back() += line;
    else
      out.push_back(line);
    in_section = section;
  }
  return out;
}

}  // namespace

std::string render(const std::vector<DeferStep>& steps) {
  auto [body, finish] = render_parts(steps);
  return body + finish;
}

std::string compose(const std::vector<DeferStep>& steps, const std::vector<NetnsStep>& netns,
                    const std::vector<uint8_t>& picks) {
  auto [body, finish] = render_parts(steps);
  const std::vector<std::string> a = chunks(body), b = chunks(render(netns));
  std::string out = "netverify-trace 1\n";
  size_t i = 0, j = 0, k = 0;
  while (i < a.size() || j < b.size()) {
    const uint8_t pick = k < picks.size() ? picks[k++] : 0;
    // Now and then the NIC steers packets elsewhere: the netns trace's
    // fragments then arrive on, and are reassembled on, other CPUs.
    if ((pick & 0x30) == 0x30) out += "cpu steer " + std::to_string((pick >> 6) % kNrCpus) + "\n";
    if (j == b.size() || (i < a.size() && !(pick & 1)))
      out += a[i++];
    else
      out += b[j++];
  }
  return out + "cpu steer 0\n" + finish;
}

rc::Gen<std::string> defer_trace() {
  return rc::gen::map(
      rc::gen::tuple(defer_steps(), netns_steps(), rc::gen::arbitrary<std::vector<uint8_t>>()),
      [](const std::tuple<std::vector<DeferStep>, std::vector<NetnsStep>, std::vector<uint8_t>>&
             t) { return compose(std::get<0>(t), std::get<1>(t), std::get<2>(t)); });
}

}  // namespace nv::gen
