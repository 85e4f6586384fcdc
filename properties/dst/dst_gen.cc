#include "properties/dst/dst_gen.h"

#include <set>

namespace nv::gen {
namespace {

using Kind = DstStep::Kind;

constexpr const char* kNs[] = {"init", "a", "b"};
// 50ms: before the collector's first run (DST_GC_MIN is 100ms); then across
// several runs, up to past DST_GC_MAX.
constexpr const char* kTicks[] = {"50ms", "150ms", "1s", "5s", "30s", "2m", "3m", "100ms"};

bool can_race(Kind k) {
  return k == Kind::kHold || k == Kind::kPut || k == Kind::kFree;
}

// Each kind with its weight: how often a step is of that kind.
constexpr std::pair<Kind, int> kWeights[] = {
    {Kind::kNetnsAdd, 1}, {Kind::kNetnsDel, 1}, {Kind::kDevAdd, 3},  {Kind::kDevDel, 1},
    {Kind::kDevDown, 1},  {Kind::kAlloc, 6},    {Kind::kHold, 6},    {Kind::kPut, 5},
    {Kind::kFree, 5},     {Kind::kTick, 8},     {Kind::kRacePut, 2}, {Kind::kRaceFree, 2}};

// Swarm testing (Groce et al., ISSTA 2012), as the netns generator does: a
// trace draws its steps from a random subset of the kinds (an entry's life,
// alloc to put, and the clock are always in) and half the traces tick only
// past DST_GC_MAX, where a collector that stopped shows.
struct Swarm {
  std::vector<Kind> kinds;  // each kind as many times as its weight
  bool long_ticks = false;
};

rc::Gen<Swarm> swarm() {
  return rc::gen::exec([] {
    Swarm w;
    for (const auto& [kind, weight] : kWeights) {
      const bool life = kind == Kind::kAlloc || kind == Kind::kHold || kind == Kind::kPut ||
                        kind == Kind::kFree || kind == Kind::kTick;
      if (life || *rc::gen::arbitrary<bool>()) w.kinds.insert(w.kinds.end(), size_t(weight), kind);
    }
    w.long_ticks = *rc::gen::arbitrary<bool>();
    return w;
  });
}

rc::Gen<DstStep> step(const Swarm& w) {
  return rc::gen::apply(
      [long_ticks = w.long_ticks](Kind kind, uint8_t entry, uint8_t other, uint32_t value,
                                  bool go) {
        // kTicks[6] is 3m: past DST_GC_MAX + DST_GC_MIN.
        return DstStep{kind, entry, other, long_ticks && kind == Kind::kTick ? 6 : value,
                       can_race(kind) && go};
      },
      rc::gen::elementOf(w.kinds), rc::gen::element<uint8_t>(0, 1, 2, 3),
      rc::gen::element<uint8_t>(0, 1, 2, 3), rc::gen::element<uint32_t>(0, 1, 2, 3, 4, 5, 6, 7),
      rc::gen::element(false, true));
}

}  // namespace

rc::Gen<std::vector<DstStep>> dst_steps() {
  return rc::gen::mapcat(
      swarm(), [](const Swarm& w) { return rc::gen::container<std::vector<DstStep>>(step(w)); });
}

std::string render(const std::vector<DstStep>& steps) {
  std::set<std::string> ns = {"init"}, devs, entries, refs;
  std::string out = "netverify-trace 1\n";
  auto ensure_dev = [&](const std::string& dev) {
    if (devs.insert(dev).second) out += "dev add init " + dev + "\n";
  };
  for (const DstStep& s : steps) {
    auto line = [&](const std::string& text) { out += (s.async ? "go " : "") + text + "\n"; };
    const std::string name = kNs[s.entry % 3];
    const std::string dev = "d" + std::to_string(s.other % 3);
    const std::string entry = "e" + std::to_string(s.entry);
    const std::string ref = "r" + std::to_string(s.other);
    switch (s.kind) {
      case Kind::kNetnsAdd:
        if (ns.insert(name).second) line("netns add " + name);
        break;
      case Kind::kNetnsDel:
        // Its devices go with it; their names stay taken (the parser cannot
        // know), so an entry allocated on one later is refused.
        if (name != "init" && ns.erase(name)) line("netns del " + name);
        break;
      case Kind::kDevAdd: {
        const std::string in = ns.count(name) ? name : "init";
        if (devs.insert(dev).second) line("dev add " + in + " " + dev);
        break;
      }
      case Kind::kDevDel:
        if (devs.erase(dev)) line("dev del " + dev);
        break;
      case Kind::kDevDown:
        if (devs.count(dev)) line("dev down " + dev);
        break;
      case Kind::kAlloc:
        ensure_dev(dev);
        if (entries.insert(entry).second) line("dst alloc " + entry + " " + dev);
        break;
      case Kind::kHold:
        if (entries.count(entry) && refs.insert(ref).second) line("dst hold " + entry + " " + ref);
        break;
      case Kind::kPut:
        if (refs.erase(ref)) line("dst put " + ref);
        break;
      case Kind::kFree:
        if (entries.erase(entry)) line("dst free " + entry);
        break;
      case Kind::kTick:
        line(std::string("tick ") + kTicks[s.value % 8]);
        break;
      case Kind::kRacePut:
      case Kind::kRaceFree: {
        // A fresh entry on a device, held, then (put) freed and left for the
        // collector, whose next run the tick starts while the reference
        // goes; or (free) freed while its device is unregistered.
        const std::string victim = "x" + std::to_string(s.entry);
        const std::string held = "q" + std::to_string(s.entry);
        if (entries.count(victim) || refs.count(held)) break;
        ensure_dev(dev);
        out += "dst alloc " + victim + " " + dev + "\n";
        out += "dst hold " + victim + " " + held + "\n";
        if (s.kind == Kind::kRacePut) {
          out += "dst free " + victim + "\n";
          out += "go dst put " + held + "\n";
          out += "go tick 150ms\n";
        } else {
          refs.insert(held);
          out += "go dst free " + victim + "\n";
          out += "go dev del " + dev + "\n";
          devs.erase(dev);
        }
        for (uint32_t k = 0; k < s.value % 5; ++k) out += "sched " + std::to_string(s.other) + "\n";
        break;
      }
    }
  }
  return out;
}

rc::Gen<std::string> dst_trace() {
  return rc::gen::map(dst_steps(), [](const std::vector<DstStep>& s) { return render(s); });
}

}  // namespace nv::gen
