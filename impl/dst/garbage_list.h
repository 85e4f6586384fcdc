// GarbageList: what the two list-based designs share (TimerCollector,
// WorkerCollector): dst_free's push onto a garbage list under the list lock,
// dst_release that leaves destruction to the collector, and the collector
// itself as delayed work on a queue of its own, re-armed with the seed's
// adaptive delay (DST_GC_MIN, backing off by DST_GC_INC up to DST_GC_MAX).
//
// Concurrency: lock_ guards garbage_ and timer_. A subclass's run() is the
// collector; it runs on the queue's worker.
#pragma once

#include "impl/dst/collector.h"
#include "sched/work_queue.h"

namespace nv::dst {

class GarbageList : public Collector {
 public:
  // The adaptive delay's state.
  struct Timer {
    uint64_t inc = kGcMaxMs;  // DST_GC_MAX: idle, the next free arms the timer
    uint64_t expires = 0;
    // The delay before the next run: back off, or start over at DST_GC_MIN.
    uint64_t next(bool back_off);
  };

  // __dst_free: unreferenced, destroyed at once; otherwise pushed, and the
  // collector armed at DST_GC_MIN unless it is already on its way.
  void free(DstEntry* e) final;
  // The collector destroys the entry once it sees it at 0; the entry is not
  // touched after the decrement.
  void release(DstEntry* e) final { e->count.dec_and_test(); }
  void run_now() final;

  // Test-visible: the delay the collector last chose (lock_ or quiescent).
  uint64_t expires() const { return timer_.expires; }

 protected:
  GarbageList(uint64_t lock_bound, const char* queue) : Collector(lock_bound), queue_(queue) {}
  virtual void run() = 0;
  // Re-arms the collector after `delay_ms` (lock_ held).
  void rearm(uint64_t delay_ms) { queue_.queue_delayed_work(work_, delay_ms); }

  DstEntry* garbage_ = nullptr;  // lock_
  Timer timer_;                  // lock_

 private:
  sched::DelayedWork work_{[this] { run(); }};
  sched::WorkQueue queue_;  // last: destroyed (joined) first
};

}  // namespace nv::dst
