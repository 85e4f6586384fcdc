#include "sched/spinlock.h"

namespace nv::sched {

void SpinLock::lock_test(Scheduler& s) {
  s.point(Point::kSpinLock);
  if (s.in_thread() && held_.load(std::memory_order_relaxed) && owner_ == s.current())
    s.fail("spin_lock: recursive locking (self-deadlock)");
  while (held_.load(std::memory_order_relaxed)) s.block(waiters_, "spinlock", this, true);
  held_.store(true, std::memory_order_relaxed);
  owner_ = s.current();
  if (s.in_thread()) ++s.self().spin_depth;
}

void SpinLock::unlock_test(Scheduler& s) {
  if (!held_.load(std::memory_order_relaxed) || owner_ != s.current()) {
    s.report("spin_unlock: spinlock not held by this thread");
    s.point(Point::kSpinUnlock);
    return;
  }
  held_.store(false, std::memory_order_relaxed);
  owner_ = kNoThread;
  if (s.in_thread()) --s.self().spin_depth;
  s.wake_all(waiters_);
  s.point(Point::kSpinUnlock);
}

}  // namespace nv::sched
