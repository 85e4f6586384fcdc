#include "sched/work_queue.h"

#include <algorithm>
#include <chrono>

#include "sched/rcu.h"

namespace nv::sched {

WorkQueue::~WorkQueue() {
  std::thread worker;
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    for (auto& [key, dw] : delayed_) dw->work_.pending_.store(false, std::memory_order_release);
    delayed_.clear();
    worker = std::move(worker_);
  }
  cv_.notify_all();
  if (worker.joinable()) worker.join();
}

void WorkQueue::enqueue(Work& work) {
  queue_.push_back(&work);
  ++queued_;
  if (Scheduler* s = current_scheduler()) {
    if (!test_worker_) {
      test_worker_ = true;
      s->spawn(name_ + "/worker", [this, s] { worker_test(*s); });
    }
    return;
  }
  if (!worker_.joinable()) worker_ = std::thread([this] { worker_production(); });
  cv_.notify_one();
}

bool WorkQueue::queue_work(Work& work) {
  if (Scheduler* s = current_scheduler()) [[unlikely]] {
    s->point(Point::kQueueWork);
    if (work.pending_.load(std::memory_order_relaxed)) return false;
    work.pending_.store(true, std::memory_order_relaxed);
    enqueue(work);
    return true;
  }
  std::lock_guard lock(mu_);
  if (work.pending_.load(std::memory_order_relaxed)) return false;
  work.pending_.store(true, std::memory_order_release);
  enqueue(work);
  return true;
}

bool WorkQueue::queue_delayed_work(DelayedWork& dwork, uint64_t delay_ms) {
  if (delay_ms == 0) return queue_work(dwork.work_);
  Work& work = dwork.work_;
  if (Scheduler* s = current_scheduler()) [[unlikely]] {
    s->point(Point::kQueueWork);
    if (work.pending_.load(std::memory_order_relaxed)) return false;
    work.pending_.store(true, std::memory_order_relaxed);
    dwork.timer_armed_ = true;
    dwork.timer_ = s->add_timer(delay_ms, name_, [this, &dwork] {
      dwork.timer_armed_ = false;
      enqueue(dwork.work_);
    });
    return true;
  }
  std::lock_guard lock(mu_);
  if (work.pending_.load(std::memory_order_relaxed)) return false;
  work.pending_.store(true, std::memory_order_release);
  delayed_.emplace(std::pair(now_ms() + delay_ms, delayed_seq_++), &dwork);
  if (!worker_.joinable()) worker_ = std::thread([this] { worker_production(); });
  cv_.notify_one();
  return true;
}

void WorkQueue::worker_test(Scheduler& s) {
  while (!queue_.empty()) {
    Work* w = queue_.front();
    queue_.pop_front();
    w->pending_.store(false, std::memory_order_relaxed);
    s.point(Point::kRunWork);
    w->fn_();
    ++done_;
    s.wake_all(flushers_);
  }
  test_worker_ = false;
}

void WorkQueue::worker_production() {
  RcuThread rcu;
  std::unique_lock lock(mu_);
  for (;;) {
    const uint64_t now = now_ms();
    while (!delayed_.empty() && delayed_.begin()->first.first <= now) {
      queue_.push_back(&delayed_.begin()->second->work_);
      ++queued_;
      delayed_.erase(delayed_.begin());
    }
    if (!queue_.empty()) {
      Work* w = queue_.front();
      queue_.pop_front();
      w->pending_.store(false, std::memory_order_release);
      lock.unlock();
      w->fn_();
      lock.lock();
      ++done_;
      flushed_cv_.notify_all();
      continue;
    }
    if (stop_) return;
    if (delayed_.empty()) {
      cv_.wait(lock);
    } else {
      const uint64_t wait_ms = delayed_.begin()->first.first - now;
      cv_.wait_for(lock, std::chrono::milliseconds(wait_ms));
    }
  }
}

void WorkQueue::dequeue(Work& work) {
  queue_.erase(std::find(queue_.begin(), queue_.end(), &work));
  ++done_;  // flush() waits for it no longer
  if (Scheduler* s = current_scheduler()) {
    s->wake_all(flushers_);
  } else {
    flushed_cv_.notify_all();
  }
}

bool WorkQueue::cancel_delayed_work(DelayedWork& dwork) {
  Work& work = dwork.work_;
  if (Scheduler* s = current_scheduler()) [[unlikely]] {
    s->point(Point::kCancelWork);
    if (!work.pending_.load(std::memory_order_relaxed)) return false;
    if (dwork.timer_armed_) {
      s->cancel_timer(dwork.timer_);
      dwork.timer_armed_ = false;
    } else {
      dequeue(work);
    }
    work.pending_.store(false, std::memory_order_relaxed);
    return true;
  }
  std::lock_guard lock(mu_);
  if (!work.pending_.load(std::memory_order_relaxed)) return false;
  auto it = std::find_if(delayed_.begin(), delayed_.end(),
                         [&](const auto& entry) { return entry.second == &dwork; });
  if (it != delayed_.end()) {
    delayed_.erase(it);
  } else {
    dequeue(work);
  }
  work.pending_.store(false, std::memory_order_release);
  return true;
}

void WorkQueue::flush() {
  if (Scheduler* s = current_scheduler()) [[unlikely]] {
    s->point(Point::kFlush);
    const uint64_t target = queued_;
    while (done_ < target) s->block(flushers_, "flush_workqueue", this);
    return;
  }
  std::unique_lock lock(mu_);
  const uint64_t target = queued_;
  flushed_cv_.wait(lock, [&] { return done_ >= target; });
}

uint64_t WorkQueue::executed() const {
  if (current_scheduler()) return done_;
  std::lock_guard lock(mu_);
  return done_;
}

}  // namespace nv::sched
