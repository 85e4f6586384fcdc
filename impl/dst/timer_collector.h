// TimerCollector: the design before 2007 (net/core/dst.c's dst_run_gc, a
// softirq timer). One garbage list under dst_lock (GarbageList): the timer
// walks all of it under the lock, destroying what is unreferenced, then
// re-arms itself while the list is not empty: DST_GC_MIN after a run that
// destroyed anything, otherwise backing off. A device event walks the list
// under the lock. The lock's sections are unbounded (the full scan): the
// benchmark's baseline, and what the 2007 seed fixed.
//
// Concurrency: lock_ (dst_lock) guards the list, the timer and the listed
// entries' dev. Memory ordering: Refcount's release/acquire orders a
// user's last accesses before the destruction.
#pragma once

#include "impl/dst/garbage_list.h"

namespace nv::dst {

class TimerCollector final : public GarbageList {
 public:
  TimerCollector() : GarbageList(UINT64_MAX, "dst_gc_timer") {}
  void ifdown(NetDevice* dev, NetDevice* to) override;
  void for_each(const std::function<void(DstEntry*)>& fn) const override;

 private:
  void run() override;  // dst_run_gc
};

}  // namespace nv::dst
