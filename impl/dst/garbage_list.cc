#include "impl/dst/garbage_list.h"

#include <algorithm>

namespace nv::dst {

uint64_t GarbageList::Timer::next(bool back_off) {
  if (back_off) {
    expires = std::min(expires + inc, kGcMaxMs);
    inc += kGcIncMs;
  } else {
    inc = kGcIncMs;
    expires = kGcMinMs;
  }
  return expires;
}

void GarbageList::free(DstEntry* e) {
  if (e->count.dec_and_test()) {  // nobody holds it: destroyed at once
    destroy(e);
    return;
  }
  CountedLock::Section lock(lock_);
  lock.work();
  e->next = garbage_;
  garbage_ = e;
  if (timer_.inc > kGcIncMs) rearm(timer_.next(false));
}

void GarbageList::run_now() {
  queue_.cancel_delayed_work(work_);
  queue_.queue_delayed_work(work_, 0);
  queue_.flush();
}

}  // namespace nv::dst
