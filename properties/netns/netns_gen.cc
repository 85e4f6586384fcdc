#include "properties/netns/netns_gen.h"

#include <map>
#include <set>

namespace nv::gen {
namespace {

using Kind = NetnsStep::Kind;

constexpr const char* kNs[] = {"init", "a", "b", "c"};

// Operations a trace may start with "go" (the others set the scene).
bool can_race(Kind k) {
  return k == Kind::kAdd || k == Kind::kDel || k == Kind::kPut || k == Kind::kMaybeGet ||
         k == Kind::kRegister || k == Kind::kUnregister || k == Kind::kFrag || k == Kind::kTick;
}

rc::Gen<NetnsStep> step() {
  return rc::gen::apply(
      [](Kind kind, uint8_t ns, uint8_t other, uint32_t value, bool flag, bool go) {
        return NetnsStep{kind, ns, other, value, flag, can_race(kind) && go};
      },
      rc::gen::weightedElement<Kind>({{6, Kind::kAdd},
                                      {5, Kind::kDel},
                                      {3, Kind::kGet},
                                      {3, Kind::kPut},
                                      {2, Kind::kMaybeGet},
                                      {3, Kind::kRegister},
                                      {2, Kind::kUnregister},
                                      {3, Kind::kDevAdd},
                                      {1, Kind::kDevDel},
                                      {2, Kind::kDevMove},
                                      {4, Kind::kFrag},
                                      {1, Kind::kTick},
                                      {8, Kind::kRace}}),
      // Uniform whatever the size (rapidcheck's inRange scales with it, and
      // then small traces would only ever race the first kind).
      rc::gen::element<uint8_t>(0, 1, 2, 3), rc::gen::element<uint8_t>(0, 1, 2, 3),
      rc::gen::element<uint32_t>(0, 1, 2, 3, 4, 5, 6, 7), rc::gen::element(false, true),
      rc::gen::element(false, true));
}

}  // namespace

rc::Gen<std::vector<NetnsStep>> netns_steps() {
  return rc::gen::container<std::vector<NetnsStep>>(step());
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
        ns.erase(victim);
        out += "go netns del " + victim + "\n";
        switch (s.other) {
          case 0:
            if (refs.insert(ref).second)
              out += "go netns maybe_get " + std::to_string(id_of[victim]) + " " + ref + "\n";
            break;
          case 1:  // a device and a subsystem operation
            for (const char* add : {"p8 device=1", "p9"}) {
              const std::string reg(add);
              if (ops.insert(reg.substr(0, 2)).second) out += "go pernet register " + reg + "\n";
            }
            break;
          case 2:
            if (refs.erase(ref)) out += "go netns put " + ref + "\n";
            break;
          default:
            // The tick waits while the del runs (its thread is the first
            // runnable: sched 0), then the cleanup worker goes ahead of it
            // (sched 1), so that the queue's timer fires inside the pass.
            out += "go tick 31s\n";
            // (6 is how many points a del crosses today; others around it.)
            for (uint32_t k = 0; k < (s.flag ? 6 : 3 + s.value % 6); ++k) out += "sched 0\n";
            for (int k = 0; k < 8; ++k) out += "sched 1\n";
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
