// WaitQueue: the kernel's wait_queue_head_t with wait_event()/wake_up() for
// both modes. wait_event(cond) returns once cond() holds; cond is checked
// first, and again only after a wake_up(): in test mode a condition made true
// without a wake_up() leaves the waiter blocked, and run() reports the
// missed wake-up as a deadlock, as the kernel would hang.
//
// Memory ordering (production): a std::mutex and std::condition_variable.
// cond() is evaluated with mu_ held; wake_up() takes and drops mu_ before
// notifying, so a waker that made cond true before calling wake_up() either
// precedes the waiter's check (which then sees it, mu_ orders them) or finds
// the waiter asleep (and wakes it): no lost wake-up. The state cond reads
// must itself be free of data races (atomics, or a lock cond takes).
// Test mode needs none (one fiber at a time).
#pragma once

#include <condition_variable>
#include <mutex>

#include "sched/scheduler.h"

namespace nv::sched {

class WaitQueue {
 public:
  template <class Cond>
  void wait_event(Cond cond) {
    if (Scheduler* s = current_scheduler()) [[unlikely]] {
      s->point(Point::kWait);
      while (!cond()) s->block(waiters_, "wait queue", this);
      return;
    }
    std::unique_lock lock(mu_);
    cv_.wait(lock, cond);
  }

  // Wakes every waiter (each re-checks its condition).
  void wake_up() {
    if (Scheduler* s = current_scheduler()) [[unlikely]] {
      s->wake_all(waiters_);
      s->point(Point::kWake);
      return;
    }
    { std::lock_guard lock(mu_); }  // orders the caller's writes before a waiter's check
    cv_.notify_all();
  }

 private:
  std::mutex mu_;               // production
  std::condition_variable cv_;  // production, waits on mu_
  WaitList waiters_;            // test mode
};

}  // namespace nv::sched
