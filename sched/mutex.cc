#include "sched/mutex.h"

namespace nv::sched {

void Mutex::lock_test(Scheduler& s) {
  s.point(Point::kMutexLock);
  if (locked_ && owner_ == s.current() && s.in_thread())
    s.fail("mutex_lock: recursive locking of a mutex this thread holds");
  while (locked_) s.block(waiters_, "mutex", this);
  locked_ = true;
  owner_ = s.current();
}

bool Mutex::try_lock_test(Scheduler& s) {
  s.point(Point::kMutexLock);
  if (locked_) return false;
  locked_ = true;
  owner_ = s.current();
  return true;
}

void Mutex::unlock_test(Scheduler& s) {
  if (!locked_ || owner_ != s.current()) {
    s.report("mutex_unlock: mutex not held by this thread");
    s.point(Point::kMutexUnlock);
    return;
  }
  locked_ = false;
  owner_ = kNoThread;
  s.wake_all(waiters_);
  s.point(Point::kMutexUnlock);
}

}  // namespace nv::sched
