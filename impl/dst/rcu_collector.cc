#include "impl/dst/rcu_collector.h"

#include "sched/rcu.h"
#include "sched/scheduler.h"

namespace nv::dst {

void RcuCollector::free(DstEntry* e) {
  {
    CountedLock::Section lock(lock_);
    lock.work();
    e->prev = nullptr;
    e->next = head_;
    if (head_) head_->prev = e;
    head_ = e;
  }
  if (e->count.dec_and_test()) last_put(e);
}

void RcuCollector::release(DstEntry* e) {
  if (e->count.dec_and_test()) last_put(e);
}

void RcuCollector::last_put(DstEntry* e) {
  {
    CountedLock::Section lock(lock_);
    lock.work();
    (e->prev ? e->prev->next : head_) = e->next;
    if (e->next) e->next->prev = e->prev;
  }
  sched::call_rcu([this, e] { destroy(e); });  // dst_destroy_rcu
}

void RcuCollector::ifdown(NetDevice* dev, NetDevice* to) {
  CountedLock::Section lock(lock_);
  for (DstEntry* e = head_; e; e = e->next) dst_ifdown(e, dev, to);
}

void RcuCollector::for_each(const std::function<void(DstEntry*)>& fn) const {
  for (DstEntry* e = head_; e; e = e->next) fn(e);
}

void RcuCollector::run_now() {
  sched::rcu_barrier();
}

void RcuCollector::barrier() {
  if (sched::Scheduler* s = sched::current_scheduler(); s && !s->in_thread()) return;
  sched::rcu_barrier();
}

}  // namespace nv::dst
