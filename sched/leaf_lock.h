// LeafLock: a lock for short critical sections that contain no scheduling
// point and take no other lock (the innermost lock of an order), the same in
// both modes: a test-and-test-and-set spin lock on one atomic flag. Unlike
// SpinLock it is never a scheduling point itself, so code that must not
// yield (a cleanup pass between a namespace's unbind and its pre_exit) may
// take it, and under a scheduler its critical section is part of the step
// around it. For the same reason no fiber can switch out while holding one:
// in test mode it is never found held, and a thread that does find it held
// fails the run (its holder reached a scheduling point inside the section)
// rather than spinning forever. Cheaper than std::mutex: the uncontended
// lock is one exchange, the unlock one store.
//
// Memory ordering: lock()'s successful exchange is acquire and pairs with the
// release store in unlock(): the critical sections are ordered. A production
// waiter spins on a relaxed load (it only decides when to retry) and yields
// its CPU after a while, since the holder may have been preempted.
#pragma once

#include <atomic>

namespace nv::sched {

class LeafLock {
 public:
  void lock() {
    if (held_.exchange(true, std::memory_order_acquire)) [[unlikely]]
      lock_contended();
  }
  void unlock() { held_.store(false, std::memory_order_release); }  // pairs with lock()
  bool is_locked() const { return held_.load(std::memory_order_relaxed); }

 private:
  void lock_contended();

  std::atomic<bool> held_{false};
};

}  // namespace nv::sched
