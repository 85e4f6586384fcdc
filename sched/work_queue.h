// WorkQueue: an ordered kernel workqueue (alloc_ordered_workqueue: one worker,
// items run one at a time in queueing order) for both modes, with Work
// (work_struct) and DelayedWork (delayed_work).
//
//   queue_work(w)                 kernel queue_work: false, doing nothing, when
//                                 w is already pending; pending is cleared
//                                 just before w runs, so w may requeue itself.
//   queue_delayed_work(dw, ms)    kernel queue_delayed_work: false when pending;
//                                 otherwise dw is queued ms milliseconds from
//                                 now (the virtual clock's timer in test mode,
//                                 std::chrono::steady_clock in production).
//   cancel_delayed_work(dw)       kernel cancel_delayed_work: true when dw was
//                                 pending (its timer armed, or queued) and is
//                                 no longer; false when it was idle or is
//                                 already running (it does not wait for it).
//   flush()                       kernel flush_workqueue: waits until every
//                                 item queued before the call has run (delayed
//                                 work whose timer has not fired is not waited
//                                 for, as in the kernel).
//
// Test mode: the worker is a thread "<name>/worker" spawned when work is
// queued and none is running; it runs until the queue is empty and exits
// (so an idle queue leaves no blocked thread behind, and run() can end kOk).
// Queueing and running an item are scheduling points. A timer that fires for
// a DelayedWork is a thread "timer:<name>" that queues it.
// Production: one std::thread, started at the first queue_work, registered
// with RCU (RcuThread); the destructor runs what is queued, drops pending
// delayed work (clearing its pending flag) and joins the worker.
//
// Work and DelayedWork objects must outlive their execution; objects used by
// a test-mode WorkQueue must outlive the Scheduler (declare them first).
//
// Memory ordering (production): queue_, delayed_, queued_, done_, stop_ and
// worker_ are guarded by mu_. Work::pending_ is written under mu_ (set by
// queue_*, cleared by the worker before it runs the item) and read by
// pending() with acquire, pairing with those writes' release: a caller that
// sees an item not pending sees the worker's view at the time it dequeued
// it. cv_ (worker) and flushed_cv_ (flush) wait on mu_. An item runs without
// mu_ held; done_ is incremented under mu_ after it returns, so flush()
// returning (mu_ acquired, done_ read) happens after the items it waited for.
// Test mode needs none (one fiber at a time).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "sched/scheduler.h"

namespace nv::sched {

class Work {
 public:
  explicit Work(std::function<void()> fn) : fn_(std::move(fn)) {}
  Work(const Work&) = delete;
  Work& operator=(const Work&) = delete;
  bool pending() const { return pending_.load(std::memory_order_acquire); }

 private:
  friend class WorkQueue;
  std::function<void()> fn_;
  std::atomic<bool> pending_{false};
};

class DelayedWork {
 public:
  explicit DelayedWork(std::function<void()> fn) : work_(std::move(fn)) {}
  bool pending() const { return work_.pending(); }

 private:
  friend class WorkQueue;
  Work work_;
  // Test mode: the virtual-clock timer while armed.
  Scheduler::TimerId timer_ = 0;
  bool timer_armed_ = false;
};

class WorkQueue {
 public:
  explicit WorkQueue(std::string name) : name_(std::move(name)) {}
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;
  ~WorkQueue();

  bool queue_work(Work& work);
  bool queue_delayed_work(DelayedWork& dwork, uint64_t delay_ms);
  bool cancel_delayed_work(DelayedWork& dwork);
  void flush();
  // Items run so far (cancelled queued items count as run, for flush()).
  uint64_t executed() const;

 private:
  void enqueue(Work& work);  // production: mu_ held
  void dequeue(Work& work);  // work is in queue_; production: mu_ held
  void worker_test(Scheduler& s);
  void worker_production();

  const std::string name_;
  mutable std::mutex mu_;  // production
  std::condition_variable cv_;
  std::condition_variable flushed_cv_;
  std::deque<Work*> queue_;
  // Production: delayed work by (deadline, seq).
  std::multimap<std::pair<uint64_t, uint64_t>, DelayedWork*> delayed_;
  uint64_t delayed_seq_ = 0;
  uint64_t queued_ = 0;  // items ever enqueued (to run now)
  uint64_t done_ = 0;    // items run
  bool stop_ = false;
  std::thread worker_;        // production
  bool test_worker_ = false;  // test mode: a worker thread exists
  WaitList flushers_;         // test mode
};

}  // namespace nv::sched
