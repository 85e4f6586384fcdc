// rapidcheck generator of dst traces, for the property tests and `netverify
// gen --subsystem dst`.
//
// A trace is a list of Steps: namespaces and devices added, taken down and
// deleted (a namespace's deletion unregisters its devices), entries
// allocated on devices, held, released and freed (names reused), clock
// ticks that run the collector, and targeted races with their sched lines:
// a reference dropped while a tick starts the collector's scan, and an
// entry freed while its device is unregistered. render() keeps only the
// steps that are valid where they stand, so every shrink is a valid trace.
#pragma once

#include <rapidcheck.h>

#include <cstdint>
#include <string>
#include <vector>

namespace nv::gen {

struct DstStep {
  enum class Kind : uint8_t {
    kNetnsAdd,
    kNetnsDel,
    kDevAdd,
    kDevDel,
    kDevDown,
    kAlloc,
    kHold,
    kPut,
    kFree,
    kTick,
    kRacePut,   // go dst put racing the collector started by go tick
    kRaceFree,  // go dst free racing go dev del of its device
  };
  Kind kind = Kind::kAlloc;
  uint8_t entry = 0;   // entry name index, or namespace index
  uint8_t other = 0;   // device or reference index
  uint32_t value = 0;  // tick length index; sched decisions
  bool async = false;  // started with "go"
};

rc::Gen<std::vector<DstStep>> dst_steps();
std::string render(const std::vector<DstStep>& steps);
rc::Gen<std::string> dst_trace();

}  // namespace nv::gen
