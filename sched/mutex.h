// Mutex: a sleeping lock (the kernel's struct mutex) for both modes. In
// production it is a std::mutex; in test mode lock() is a scheduling point
// and a contended lock() blocks the thread until the owner unlocks, which
// wakes every waiter to compete again (more interleavings than the kernel's
// FIFO hand-off, never fewer). Meets BasicLockable/Lockable, so
// std::lock_guard<Mutex> and std::unique_lock<Mutex> work.
//
// One Mutex serves one mode for its whole life (test-mode state and the
// std::mutex are separate): do not lock it from a scheduler's fibers and from
// free threads.
//
// Memory ordering: production is std::mutex (unlock synchronizes with the
// next lock). Test mode needs none: fields are touched only by the thread
// running on the owning scheduler, and fiber switches are sequential.
#pragma once

#include <mutex>

#include "sched/scheduler.h"

namespace nv::sched {

class Mutex {
 public:
  void lock() {
    if (Scheduler* s = current_scheduler()) [[unlikely]]
      return lock_test(*s);
    mu_.lock();
  }
  bool try_lock() {
    if (Scheduler* s = current_scheduler()) [[unlikely]]
      return try_lock_test(*s);
    return mu_.try_lock();
  }
  void unlock() {
    if (Scheduler* s = current_scheduler()) [[unlikely]]
      return unlock_test(*s);
    mu_.unlock();
  }
  // Test mode: whether any thread holds it (for assertions).
  bool is_locked() const { return locked_; }

 private:
  void lock_test(Scheduler& s);
  bool try_lock_test(Scheduler& s);
  void unlock_test(Scheduler& s);

  std::mutex mu_;  // production
  // Test mode. Invariant: owner_ != kNoThread iff locked_ (the scheduler's own
  // context locks with owner kNoThread, so there: locked_ alone).
  bool locked_ = false;
  ThreadId owner_ = kNoThread;
  WaitList waiters_;
};

}  // namespace nv::sched
