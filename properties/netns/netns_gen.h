// rapidcheck generator of namespace-lifecycle traces, for the property tests
// and `netverify gen --subsystem netns`.
//
// A trace is generated as a list of Steps drawn from every netns operation:
// namespaces created and deleted (names reused), references taken and
// dropped (also by identity, maybe_get), pernet operations registered
// (subsystem or device, some with an init that fails for one namespace) and
// unregistered, devices added, deleted and moved, fragments queued in the
// namespaces so that teardown has reassembly state to dismantle, and clock
// ticks, and targeted races (a namespace's last reference dropped while
// something reaches for it; a timer race comes with the sched lines that
// put the tick inside the cleanup pass, give or take a few steps). Half the steps that can race
// start with "go", so that runs of them race each other and the cleanup worker (the property runs
// them under a PCT scheduler, runner::RunOptions::strategy). render() keeps only the steps that are
// valid where they stand (a name must be alive to be used), so every shrink is still a valid trace.
#pragma once

#include <rapidcheck.h>

#include <cstdint>
#include <string>
#include <vector>

namespace nv::gen {

struct NetnsStep {
  enum class Kind : uint8_t {
    kAdd,
    kDel,
    kGet,
    kPut,
    kMaybeGet,
    kRegister,
    kUnregister,
    kDevAdd,
    kDevDel,
    kDevMove,
    kFrag,
    kTick,
    kRace,  // go netns del NAME racing a maybe_get, a registration, a put, a tick or a fragment
  };
  Kind kind = Kind::kAdd;
  uint8_t ns = 0;      // namespace name index ("init", "a", "b", "c")
  uint8_t other = 0;   // ref, device or pernet operation index
  uint32_t value = 0;  // which recent identity maybe_get names; fail; frag id; tick
  bool flag = false;   // device operation; physical device
  bool async = false;  // started with "go"
};

rc::Gen<std::vector<NetnsStep>> netns_steps();
std::string render(const std::vector<NetnsStep>& steps);
rc::Gen<std::string> netns_trace();

}  // namespace nv::gen
