// RcuCollector: today's design (net/core/dst.c since 4.12, "net: remove
// dst gc related code"): no garbage collector. The owner's reference is a
// reference like any other; whoever drops the last one queues the
// destruction after an RCU grace period (dst_release -> call_rcu). Freed
// entries still referenced wait on a list of their own (as
// rt_uncached_list), only so that a device event finds them; joining and
// leaving it is O(1) under its lock (checked: CountedLock).
//
// Concurrency: lock_ guards the list and the listed entries' dev. An entry
// joins the list before the owner's reference goes, so the last put (which
// may come at once) always finds it there. Memory ordering: Refcount's
// release/acquire, then the grace period, order every user's accesses
// before the destruction.
#pragma once

#include "impl/dst/collector.h"

namespace nv::dst {

class RcuCollector final : public Collector {
 public:
  RcuCollector() : Collector(1) {}
  void free(DstEntry* e) override;
  void release(DstEntry* e) override;
  void ifdown(NetDevice* dev, NetDevice* to) override;
  void for_each(const std::function<void(DstEntry*)>& fn) const override;
  void run_now() override;
  void barrier() override;

 private:
  // The last reference went: off the list, destroyed after a grace period.
  void last_put(DstEntry* e);

  DstEntry* head_ = nullptr;  // lock_: doubly linked through next/prev
};

}  // namespace nv::dst
