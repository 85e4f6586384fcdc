// Refcount: the kernel's refcount_t (refcount_inc, refcount_dec_and_test,
// refcount_inc_not_zero) for both modes. In test mode each operation is a
// scheduling point, and the kernel's WARNs are failures of the thread:
// incrementing from zero (a use after free: the object is being destroyed)
// and decrementing below zero. In production these are assert()ed (debug
// builds) on a std::atomic.
//
// Memory ordering (production, as Documentation/core-api/refcount-vs-atomic.rst
// gives the kernel's): inc() is relaxed (taking a reference orders nothing;
// the caller already holds one). dec_and_test() is a release RMW (this
// thread's accesses to the object happen before the count drops) plus, when
// it returns true, an acquire load of the count (pairs with every other
// dropper's release, so the freeing thread sees all their accesses). inc_not_zero() succeeds
// with acquire (the kernel relies on a control dependency; acquire is the
// C++ way to say "nothing after this moves before it", and lets TSan see it).
#pragma once

#include <atomic>
#include <cassert>
#include <cstdint>

#include "sched/scheduler.h"

namespace nv::sched {

class Refcount {
 public:
  explicit Refcount(uint32_t initial = 1) : count_(initial) {}

  void inc() {
    if (Scheduler* s = current_scheduler()) [[unlikely]] {
      s->point(Point::kRefInc);
      if (count_.load(std::memory_order_relaxed) == 0)
        s->fail("refcount_t: addition on 0; use-after-free");
    } else {
      assert(count_.load(std::memory_order_relaxed) != 0);
    }
    count_.fetch_add(1, std::memory_order_relaxed);
  }

  // True when this call dropped the last reference: the caller frees.
  bool dec_and_test() {
    if (Scheduler* s = current_scheduler()) [[unlikely]] {
      s->point(Point::kRefDec);
      if (count_.load(std::memory_order_relaxed) == 0) {
        s->report("refcount_t: underflow; use-after-free");  // puts run in destructors
        return false;  // the kernel saturates instead of wrapping
      }
    }
    const uint32_t old = count_.fetch_sub(1, std::memory_order_release);
    assert(old != 0);
    if (old != 1) return false;
    // An acquire load of the value our RMW wrote: it reads from the release
    // sequence of every earlier dropper's release, so it synchronizes with
    // them all (the kernel uses an acquire fence; TSan does not model fences).
    (void)count_.load(std::memory_order_acquire);
    return true;
  }

  // Takes a reference unless the count is zero (the object is going away).
  bool inc_not_zero() {
    if (Scheduler* s = current_scheduler()) [[unlikely]]
      s->point(Point::kRefInc);
    uint32_t old = count_.load(std::memory_order_relaxed);
    do {
      if (old == 0) return false;
    } while (!count_.compare_exchange_weak(old, old + 1, std::memory_order_acquire,
                                           std::memory_order_relaxed));
    return true;
  }

  uint32_t read() const { return count_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint32_t> count_;
};

}  // namespace nv::sched
