// Completion: the kernel's struct completion (complete, complete_all,
// wait_for_completion) for both modes. complete() lets one waiter through
// (now or later: completions are counted), complete_all() every waiter from
// then on.
//
// Memory ordering (production): done_ is guarded by mu_; complete()
// releases mu_ after incrementing and wait_for_completion() acquires it
// before reading, so what the completer wrote before complete() is visible
// after wait_for_completion() returns. Test mode needs none.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "sched/scheduler.h"

namespace nv::sched {

class Completion {
 public:
  void wait_for_completion() {
    if (Scheduler* s = current_scheduler()) [[unlikely]] {
      s->point(Point::kWait);
      while (done_ == 0) s->block(waiters_, "completion", this);
      if (done_ != kAll) --done_;
      return;
    }
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return done_ > 0; });
    if (done_ != kAll) --done_;
  }
  void complete() { signal(false); }
  void complete_all() { signal(true); }
  // reinit_completion.
  void reinit() {
    std::lock_guard lock(mu_);
    done_ = 0;
  }
  bool done() const { return done_ > 0; }  // test mode, or for assertions

 private:
  static constexpr uint32_t kAll = UINT32_MAX;

  void signal(bool all) {
    if (Scheduler* s = current_scheduler()) [[unlikely]] {
      bump(all);
      s->wake_all(waiters_);
      s->point(Point::kComplete);
      return;
    }
    {
      std::lock_guard lock(mu_);
      bump(all);
    }
    cv_.notify_all();
  }
  void bump(bool all) {
    if (all) {
      done_ = kAll;
    } else if (done_ != kAll) {
      ++done_;
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  uint32_t done_ = 0;  // guarded by mu_ in production
  WaitList waiters_;   // test mode
};

}  // namespace nv::sched
