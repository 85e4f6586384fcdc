// Planted bugs of the dst garbage collector (trace/mutant_set.h), each a
// kernel-style bug of net/core/dst.c's worker design.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "trace/mutant_set.h"

namespace nv::dst {

enum class DstMutant : uint8_t {
  kDestroyReferenced,
  kIfdownBusyOnly,
  kGcStops,
  kScanLocked,
};
inline constexpr size_t kDstMutantCount = 4;

using MutantSet = trace::MutantSet<DstMutant, kDstMutantCount>;
using DstMutantInfo = trace::MutantInfo<DstMutant>;

inline constexpr std::array<DstMutantInfo, kDstMutantCount> kDstMutants = {{
    {DstMutant::kDestroyReferenced, "dst-destroy-referenced",
     "the worker takes an entry with one reference left for an unreferenced one and destroys "
     "it while it is still held (a use after free when the holder drops it)"},
    {DstMutant::kIfdownBusyOnly, "dst-ifdown-busy-only",
     "dst_dev_event walks only the busy list: entries freed since the worker's last run, still "
     "on the garbage list, keep pointing at the device (\"unregister_netdevice: waiting for lo "
     "to become free\")"},
    {DstMutant::kGcStops, "dst-gc-stops",
     "the worker reschedules itself only when its run destroyed something, so entries left on "
     "the busy list are never looked at again once their last reference goes (a leak)"},
    {DstMutant::kScanLocked, "dst-gc-scan-locked",
     "the worker scans its lists under the garbage-list spinlock, as the softirq timer did "
     "before 2007: correct results, but the lock is held for work that grows with the list"},
}};

}  // namespace nv::dst
