#include "properties/netns/netns_gen.h"

#include <map>
#include <set>

namespace nv::gen {
namespace {

using Kind = NetnsStep::Kind;

constexpr const char* kNs[] = {"init", "a", "b", "c"};
const std::vector<uint8_t> kFour = {0, 1, 2, 3};

// Operations a trace may start with "go" (the others set the scene).
bool can_race(Kind k) {
  return k == Kind::kAdd || k == Kind::kDel || k == Kind::kPut || k == Kind::kMaybeGet ||
         k == Kind::kRegister || k == Kind::kUnregister || k == Kind::kFrag || k == Kind::kTick;
}

// Each kind with its weight: how often a step is of that kind.
constexpr std::pair<Kind, int> kWeights[] = {
    {Kind::kAdd, 6},      {Kind::kDel, 5},      {Kind::kGet, 3},        {Kind::kPut, 3},
    {Kind::kMaybeGet, 2}, {Kind::kRegister, 3}, {Kind::kUnregister, 2}, {Kind::kDevAdd, 3},
    {Kind::kDevDel, 1},   {Kind::kDevMove, 2},  {Kind::kFrag, 4},       {Kind::kTick, 1},
    {Kind::kRace, 8}};

// Swarm testing (Groce et al., ISSTA 2012): a trace draws its steps from a
// random subset of the kinds, on a random subset of the namespace names, so
// that what a bug needs (a physical device in a namespace that dies, a
// registration racing a cleanup) is dense in some traces rather than
// diluted in all. Namespaces are always added and deleted: the other kinds
// act on them.
struct Swarm {
  std::vector<Kind> kinds;     // each kind as many times as its weight
  std::vector<uint8_t> names;  // indices into kNs
  std::vector<uint8_t> races;  // what kRace steps race the del with (render's cases)
};

rc::Gen<Swarm> swarm() {
  return rc::gen::exec([] {
    Swarm w;
    // Two traces in five mix a random subset of the kinds, two are races
    // and little else, one is devices and little else.
    enum Focus { kMixed, kRaces, kDevices };
    const Focus focus = *rc::gen::element(kMixed, kMixed, kRaces, kRaces, kDevices);
    auto enabled = [&](Kind kind) {
      if (kind == Kind::kAdd || kind == Kind::kDel) return true;
      if (focus == kRaces) return kind == Kind::kRace;
      if (focus == kDevices)
        return kind == Kind::kDevAdd || kind == Kind::kDevDel || kind == Kind::kDevMove;
      return kind == Kind::kRace || *rc::gen::arbitrary<bool>();
    };
    for (const auto& [kind, weight] : kWeights)
      if (enabled(kind)) w.kinds.insert(w.kinds.end(), size_t(weight), kind);
    for (uint8_t i = 0; i < std::size(kNs); ++i)
      if (*rc::gen::arbitrary<bool>()) w.names.push_back(i);
    if (w.names.empty()) w.names.push_back(1);
    w.races = {*rc::gen::element<uint8_t>(0, 1, 2, 3, 4)};
    if (*rc::gen::arbitrary<bool>()) w.races = {0, 1, 2, 3, 4};
    return w;
  });
}

rc::Gen<NetnsStep> step(const Swarm& w) {
  return rc::gen::exec([w] {
    // Uniform whatever the size (rapidcheck's inRange scales with it, and
    // then small traces would only ever race the first kind).
    const Kind kind = *rc::gen::elementOf(w.kinds);
    const uint8_t ns = *rc::gen::elementOf(w.names);
    const uint8_t other = *rc::gen::elementOf(kind == Kind::kRace ? w.races : kFour);
    const uint32_t value = *rc::gen::element<uint32_t>(0, 1, 2, 3, 4, 5, 6, 7);
    const bool flag = *rc::gen::element(false, true), go = *rc::gen::element(false, true);
    return NetnsStep{kind, ns, other, value, flag, can_race(kind) && go};
  });
}

}  // namespace

rc::Gen<std::vector<NetnsStep>> netns_steps() {
  return rc::gen::mapcat(
      swarm(), [](const Swarm& w) { return rc::gen::container<std::vector<NetnsStep>>(step(w)); });
}

std::string render(const std::vector<NetnsStep>& steps) {
  std::set<std::string> ns = {"init"}, refs, devs, ops;
  // Identities in creation order, as both engines hand them out (a failed
  // creation uses one too): maybe_get names one of the last few made.
  std::vector<uint32_t> made = {0};
  auto recent = [&](uint32_t k) {
    return made[made.size() - 1 - k % std::min<size_t>(made.size(), 3)];
  };
  std::map<std::string, uint32_t> id_of = {{"init", 0}};
  uint32_t racing_registrations = 0;
  std::string out = "netverify-trace 1\n";
  for (const NetnsStep& s : steps) {
    auto line = [&](const std::string& text) { out += (s.async ? "go " : "") + text + "\n"; };
    const std::string name = kNs[s.ns];
    const std::string ref = "r" + std::to_string(s.other);
    const std::string dev = "d" + std::to_string(s.other);
    const std::string op = "p" + std::to_string(s.other);
    switch (s.kind) {
      case Kind::kAdd:
        if (ns.insert(name).second) {
          line("netns add " + name);
          id_of[name] = uint32_t(made.size());
          made.push_back(uint32_t(made.size()));
        }
        break;
      case Kind::kRace: {
        // A namespace's last reference dropped while something else reaches
        // for it: maybe_get by its identity, registrations, a reference put,
        // or the timer of a queue it holds. The victim is made if needed
        // (never init).
        const std::string victim = kNs[1 + s.ns % 3];
        if (ns.insert(victim).second) {
          out += "netns add " + victim + "\n";
          id_of[victim] = uint32_t(made.size());
          made.push_back(uint32_t(made.size()));
        }
        if (s.other == 3) out += "frag " + victim + " v4 id=1 off=0 len=8 mf=1\n";
        if (s.other == 4) {
          // A fragment that overlaps the victim's queue, started before the
          // del: its receive finds the namespace (sched 0), the del and the
          // cleanup pass run (sched 1, then sched 2: unbind, pre_exit), and
          // then it takes its table lock, in a namespace pre_exit closed.
          out += "frag " + victim + " v4 id=1 off=0 len=16 mf=1\n";
          out += "go frag " + victim + " v4 id=1 off=8 len=16 mf=1\n";
        }
        ns.erase(victim);
        out += "go netns del " + victim + "\n";
        switch (s.other) {
          case 0:
            if (refs.insert(ref).second)
              out += "go netns maybe_get " + std::to_string(id_of[victim]) + " " + ref + "\n";
            break;
          case 1: {  // a device and a subsystem operation
            // Operations of their own (p8 and p9, then p10 and p11, ...),
            // so that every such race registers.
            const std::string dev_op = "p" + std::to_string(8 + 2 * racing_registrations++);
            const std::string sub_op = "p" + std::to_string(8 + 2 * racing_registrations++);
            ops.insert(dev_op);
            ops.insert(sub_op);
            out += "go pernet register " + dev_op + " device=1\n";
            out += "go pernet register " + sub_op + "\n";
            // Both registrations wait (sched 2) while the del and its
            // cleanup pass run a few points, then go (sched 0): the window
            // between two exits is a few points wide.
            for (uint32_t k = 0; k < s.value; ++k) out += "sched 2\n";
            for (uint32_t k = 0; k < 2u + 2u * s.flag + s.ns % 2u; ++k) out += "sched 0\n";
            break;
          }
          case 2:
            if (refs.erase(ref)) out += "go netns put " + ref + "\n";
            break;
          case 4:
            // (2, 5 and 4 such decisions are what corpora/regressions/
            // frag-pre-exit-open.trace needs today; others around them.)
            for (uint32_t k = 0; k < 1u + s.value % 3u; ++k) out += "sched 0\n";
            for (uint32_t k = 0; k < 5; ++k) out += "sched 1\n";
            for (uint32_t k = 0; k < (s.flag ? 4 : 2u + s.value % 6u); ++k) out += "sched 2\n";
            break;
          default:
            // The tick waits while the del runs (its thread is the first
            // runnable: sched 0), then the cleanup worker goes ahead of it
            // (sched 1), so that the queue's timer fires inside the pass.
            out += "go tick 31s\n";
            // (6 is how many points a del crosses today; others around it.)
            for (uint32_t k = 0; k < (s.flag ? 6 : 3 + s.value % 6); ++k) out += "sched 0\n";
            // (8 such decisions are what corpora/regressions/
            // frag-expire-dead.trace needs today: the tick takes its table
            // lock before it expires the queue.)
            for (int k = 0; k < 9; ++k) out += "sched 1\n";
            break;
        }
        break;
      }
      case Kind::kDel:
        if (name != "init" && ns.erase(name)) line("netns del " + name);
        break;
      case Kind::kGet:
        if (ns.count(name) && refs.insert(ref).second) line("netns get " + name + " " + ref);
        break;
      case Kind::kMaybeGet:
        if (refs.insert(ref).second)
          line("netns maybe_get " + std::to_string(recent(s.value)) + " " + ref);
        break;
      case Kind::kPut:
        if (refs.erase(ref)) line("netns put " + ref);
        break;
      case Kind::kRegister:
        if (ops.insert(op).second)
          line("pernet register " + op + (s.flag ? " device=1" : "") +
               (s.value % 3 == 0 ? " fail=" + std::to_string(s.value / 3) : ""));
        break;
      case Kind::kUnregister:
        if (ops.erase(op)) line("pernet unregister " + op);
        break;
      case Kind::kDevAdd:
        if (ns.count(name) && devs.insert(dev).second)
          line("dev add " + name + " " + dev + (s.flag ? " phys=1" : ""));
        break;
      case Kind::kDevDel:
        if (devs.erase(dev)) line("dev del " + dev);
        break;
      case Kind::kDevMove:
        if (ns.count(name) && devs.count(dev)) line("dev move " + dev + " " + name);
        break;
      case Kind::kFrag:
        if (ns.count(name))
          line("frag " + name + " v4 id=" + std::to_string(s.value) +
               " off=" + std::to_string(8 * s.other) + " len=8 mf=" + (s.flag ? "1" : "0"));
        break;
      case Kind::kTick:
        line("tick " + std::to_string(1 + s.value * 5) + "s");
        break;
    }
  }
  return out;
}

rc::Gen<std::string> netns_trace() {
  return rc::gen::map(netns_steps(), [](const std::vector<NetnsStep>& s) { return render(s); });
}

}  // namespace nv::gen
