// TimerCollector: the design before 2007 (net/core/dst.c's dst_run_gc, a
// softirq timer). One garbage list under dst_lock: dst_free pushes a
// referenced entry onto it, and the timer walks all of it under the lock,
// destroying what is unreferenced, then re-arms itself while the list is
// not empty: DST_GC_MIN after a run that destroyed anything, otherwise
// expires += inc (capped at DST_GC_MAX), inc += DST_GC_INC. A device event
// walks the list under the lock. The lock's sections are unbounded (the
// full scan): the benchmark's baseline, and what the 2007 seed fixed.
//
// Concurrency: lock_ (dst_lock) guards garbage_, the timer fields and the
// listed entries' dev. Memory ordering: as WorkerCollector.
#pragma once

#include "impl/dst/collector.h"
#include "sched/work_queue.h"

namespace nv::dst {

class TimerCollector final : public Collector {
 public:
  TimerCollector();
  void free(DstEntry* e) override;
  void release(DstEntry* e) override;
  void ifdown(NetDevice* dev, NetDevice* to) override;
  void for_each(const std::function<void(DstEntry*)>& fn) const override;
  void run_now() override;

 private:
  void run_gc();

  DstEntry* garbage_ = nullptr;  // lock_
  uint64_t timer_inc_ = kGcMaxMs;
  uint64_t timer_expires_ = 0;
  // The timer softirq, as delayed work on the virtual clock.
  sched::DelayedWork gc_timer_{[this] { run_gc(); }};
  sched::WorkQueue softirq_{"dst_gc_timer"};  // last: destroyed (joined) first
};

}  // namespace nv::dst
