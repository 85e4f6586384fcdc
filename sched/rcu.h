// RCU for both modes: rcu_read_lock/rcu_read_unlock (and the RcuReadGuard),
// rcu_dereference/rcu_assign_pointer, synchronize_rcu, call_rcu, rcu_barrier,
// and RcuThread, the registration every production thread that enters a
// read-side section needs.
//
// Production: liburcu's memb flavour (urcu/urcu-memb.h, membarrier-based
// readers; -lurcu-memb). A thread must be registered (RcuThread) before its
// first rcu_read_lock and for as long as it may read.
//
// Test mode: one RCU domain per Scheduler (RcuDomain). A grace period started
// by synchronize_rcu() ends when every thread that was inside a read-side
// section when it started has left that section (outermost unlock); readers
// that enter later do not delay it. The caller blocks until then (that
// blocking is the scheduling point the explorer interleaves around).
// call_rcu(cb) spawns a thread "rcu_callback" that waits a grace period and
// then runs cb; rcu_barrier() blocks until every queued callback has run.
// Misuse fails the thread: synchronize_rcu or rcu_barrier inside a read-side
// section (self-deadlock), sleeping inside one (see Scheduler::block), an
// unlock without a lock.
//
// Memory ordering (production): rcu_assign_pointer is a release store and
// rcu_dereference an acquire load (the kernel's consume, strengthened); they
// pair, so a reader sees the pointee initialised. liburcu orders each reader's
// section before the end of any grace period that waits for it, through
// membarrier, which TSan cannot see: under TSan, rcu_read_unlock releases and
// synchronize_rcu / a call_rcu callback acquire a token (tsan_release /
// tsan_acquire) to make that edge visible.
#pragma once

#include <atomic>
#include <functional>

#include "sched/scheduler.h"

namespace nv::sched {

void rcu_read_lock();
void rcu_read_unlock();
void synchronize_rcu();
void call_rcu(std::function<void()> callback);
void rcu_barrier();
// Grace periods, callbacks and barriers so far: the controlling scheduler's
// in test mode, the process's in production.
RcuStats rcu_stats();

class RcuReadGuard {
 public:
  RcuReadGuard() { rcu_read_lock(); }
  ~RcuReadGuard() { rcu_read_unlock(); }
  RcuReadGuard(const RcuReadGuard&) = delete;
  RcuReadGuard& operator=(const RcuReadGuard&) = delete;
};

// Publishes p (a scheduling point in test mode). Pairs with rcu_dereference.
template <class T>
void rcu_assign_pointer(std::atomic<T*>& slot, T* p) {
  if (Scheduler* s = current_scheduler()) [[unlikely]]
    s->point(Point::kRcuAssign);
  slot.store(p, std::memory_order_release);
}

// Reads a published pointer inside a read-side section. Pairs with
// rcu_assign_pointer.
template <class T>
T* rcu_dereference(const std::atomic<T*>& slot) {
  return slot.load(std::memory_order_acquire);
}

// Registers the calling OS thread with liburcu for its lifetime (production
// mode; harmless to construct under a scheduler, where it does nothing).
class RcuThread {
 public:
  RcuThread();
  ~RcuThread();
  RcuThread(const RcuThread&) = delete;
  RcuThread& operator=(const RcuThread&) = delete;

 private:
  bool registered_;
};

}  // namespace nv::sched
