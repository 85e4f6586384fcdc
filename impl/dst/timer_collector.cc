#include "impl/dst/timer_collector.h"

#include <algorithm>

namespace nv::dst {

TimerCollector::TimerCollector() : Collector(UINT64_MAX) {}

// dst_free, then __dst_free.
void TimerCollector::free(DstEntry* e) {
  if (e->count.dec_and_test()) {
    destroy(e);
    return;
  }
  CountedLock::Section lock(lock_);
  lock.work();
  e->next = garbage_;
  garbage_ = e;
  if (timer_inc_ > kGcIncMs) {
    timer_inc_ = kGcIncMs;
    timer_expires_ = kGcMinMs;
    softirq_.queue_delayed_work(gc_timer_, timer_expires_);
  }
}

void TimerCollector::release(DstEntry* e) {
  e->count.dec_and_test();
}

// dst_run_gc: the whole list under the lock.
void TimerCollector::run_gc() {
  CountedLock::Section lock(lock_);
  bool performed = false;
  for (DstEntry** link = &garbage_; DstEntry* e = *link;) {
    lock.work();
    if (e->count.read() != 0) {
      link = &e->next;
      continue;
    }
    *link = e->next;
    performed = true;
    destroy(e);
  }
  if (!garbage_) {
    timer_inc_ = kGcMaxMs;
    return;
  }
  if (!performed) {
    timer_expires_ = std::min(timer_expires_ + timer_inc_, kGcMaxMs);
    timer_inc_ += kGcIncMs;
  } else {
    timer_inc_ = kGcIncMs;
    timer_expires_ = kGcMinMs;
  }
  softirq_.queue_delayed_work(gc_timer_, timer_expires_);
}

void TimerCollector::ifdown(NetDevice* dev, NetDevice* to) {
  CountedLock::Section lock(lock_);
  for (DstEntry* e = garbage_; e; e = e->next) {
    lock.work();
    dst_ifdown(e, dev, to);
  }
}

void TimerCollector::for_each(const std::function<void(DstEntry*)>& fn) const {
  for (DstEntry* e = garbage_; e; e = e->next) fn(e);
}

void TimerCollector::run_now() {
  softirq_.cancel_delayed_work(gc_timer_);
  softirq_.queue_delayed_work(gc_timer_, 0);
  softirq_.flush();
}

}  // namespace nv::dst
