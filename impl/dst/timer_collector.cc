#include "impl/dst/timer_collector.h"

namespace nv::dst {

// dst_run_gc: the whole list under the lock.
void TimerCollector::run() {
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
    timer_.inc = kGcMaxMs;
    return;
  }
  rearm(timer_.next(!performed));
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

}  // namespace nv::dst
