// SpinLock: the kernel's spinlock_t for both modes. Kernel semantics: the
// holder never sleeps. In test mode, a thread that holds one and reaches a
// sleeping wait (a Mutex, RwSem, WaitQueue, Completion, synchronize_rcu,
// rcu_barrier, flush) fails with "sleeping ... while holding a spinlock". A
// contended lock in test mode blocks the waiter (the kernel would spin: same
// interleavings, and a spin deadlock becomes a reported deadlock). In
// production it is a test-and-test-and-set lock on one atomic flag.
//
// Memory ordering (production): lock()'s successful exchange is acquire and
// pairs with the release store in unlock(): the critical sections are
// ordered. The spinning load is relaxed (it only decides when to retry).
// Test mode needs none (one fiber at a time).
//
// lock() and unlock() are forced inline: in production each is a
// thread-local load, a branch and one atomic access, and GCC had left
// unlock() an out-of-line call on the fragment engine's per-packet path.
#pragma once

#include <atomic>

#include "sched/scheduler.h"

namespace nv::sched {

class SpinLock {
 public:
  [[gnu::always_inline]] void lock() {
    if (Scheduler* s = current_scheduler()) [[unlikely]]
      return lock_test(*s);
    while (held_.exchange(true, std::memory_order_acquire)) {
      while (held_.load(std::memory_order_relaxed)) __builtin_ia32_pause();
    }
  }
  [[gnu::always_inline]] void unlock() {
    if (Scheduler* s = current_scheduler()) [[unlikely]]
      return unlock_test(*s);
    held_.store(false, std::memory_order_release);  // pairs with lock()'s exchange
  }
  bool is_locked() const { return held_.load(std::memory_order_relaxed); }

 private:
  void lock_test(Scheduler& s);
  void unlock_test(Scheduler& s);

  std::atomic<bool> held_{false};  // both modes (test mode: plain use)
  ThreadId owner_ = kNoThread;     // test mode
  WaitList waiters_;               // test mode
};

}  // namespace nv::sched
