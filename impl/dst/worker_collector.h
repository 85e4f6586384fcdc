// WorkerCollector: the 2007 design ("NET: convert IP route cache garbage
// collection from softirq processing to a workqueue", E. Dumazet).
//
// dst_free puts a referenced entry onto the garbage list under the garbage
// spinlock in O(1) (GarbageList; the owner's last reference destroys it at
// once). The collector, a delayed work item, walks the busy list (entries it
// found referenced before) under dst_gc_mutex, destroys what is
// unreferenced, keeps the rest, then splices the garbage list (O(1) under
// the spinlock) and walks that too, until the garbage list is empty; it
// reschedules itself while the busy list is not empty, with an adaptive
// delay: back off (expires += inc, capped at DST_GC_MAX; inc += DST_GC_INC)
// when it destroyed at most a tenth of what it delayed, otherwise
// DST_GC_MIN. A device event walks the busy list and the spliced garbage
// list.
//
// Concurrency: gc_mutex_ (dst_gc_mutex) guards busy_ and the freed
// entries' dev; the garbage lock (lock_, dst_garbage.lock, taken inside the
// mutex and inside the engine's cache lock) guards garbage_ and the timer
// fields, and every section under it touches at most one node (checked:
// CountedLock). Memory ordering: Refcount's release/acquire orders a user's
// last accesses before the destruction; the lists are lock-protected.
#pragma once

#include "impl/dst/garbage_list.h"
#include "sched/mutex.h"

namespace nv::dst {

class WorkerCollector final : public GarbageList {
 public:
  explicit WorkerCollector(MutantSet mutants) : GarbageList(1, "dst_gc"), mutants_(mutants) {}
  void ifdown(NetDevice* dev, NetDevice* to) override;
  void for_each(const std::function<void(DstEntry*)>& fn) const override;

 private:
  void run() override;  // dst_gc_task

  const MutantSet mutants_;
  sched::Mutex gc_mutex_;
  DstEntry* busy_ = nullptr;  // gc_mutex_
};

}  // namespace nv::dst
