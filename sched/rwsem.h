// RwSem: the kernel's rw_semaphore (down_read/up_read, down_write/up_write)
// for both modes. Production: std::shared_mutex. Test mode mirrors the
// kernel's fairness rule (rwsem_down_read_slowpath queues a reader behind a
// waiting writer): down_read blocks while a writer holds the semaphore or
// waits for it, so a recursive down_read with a writer queued in between
// deadlocks here as it can in the kernel.
//
// Memory ordering: production is std::shared_mutex (up_write synchronizes
// with later down_read/down_write; up_read with a later down_write). Test
// mode needs none (one fiber at a time).
#pragma once

#include <cstdint>
#include <shared_mutex>

#include "sched/scheduler.h"

namespace nv::sched {

class RwSem {
 public:
  void down_read() {
    if (Scheduler* s = current_scheduler()) [[unlikely]]
      return down_read_test(*s);
    mu_.lock_shared();
  }
  void up_read() {
    if (Scheduler* s = current_scheduler()) [[unlikely]]
      return up_read_test(*s);
    mu_.unlock_shared();
  }
  void down_write() {
    if (Scheduler* s = current_scheduler()) [[unlikely]]
      return down_write_test(*s);
    mu_.lock();
  }
  void up_write() {
    if (Scheduler* s = current_scheduler()) [[unlikely]]
      return up_write_test(*s);
    mu_.unlock();
  }
  // std::shared_lock / std::unique_lock compatibility.
  void lock_shared() { down_read(); }
  void unlock_shared() { up_read(); }
  void lock() { down_write(); }
  void unlock() { up_write(); }

 private:
  void down_read_test(Scheduler& s);
  void up_read_test(Scheduler& s);
  void down_write_test(Scheduler& s);
  void up_write_test(Scheduler& s);

  std::shared_mutex mu_;  // production
  // Test mode. Invariant: !(writer_ && readers_ > 0).
  uint32_t readers_ = 0;
  uint32_t writers_waiting_ = 0;
  bool writer_ = false;
  WaitList waiters_;
};

}  // namespace nv::sched
