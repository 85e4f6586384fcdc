// ReplayStrategy: runs a recorded schedule again. The schedule is the list of
// indices Scheduler::decisions() recorded; each is taken modulo the number of
// runnable threads (so any list of numbers is a valid schedule, which lets a
// fuzzer or a shrinker edit one freely), and once the list is exhausted the
// lowest-numbered runnable thread (index 0) runs.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "sched/strategy.h"

namespace nv::sched {

class ReplayStrategy : public Strategy {
 public:
  explicit ReplayStrategy(std::vector<uint32_t> ks) : ks_(std::move(ks)) {}

  size_t pick(std::span<const ThreadId> runnable, ThreadId, uint64_t) override {
    if (next_ >= ks_.size()) return 0;
    return ks_[next_++] % runnable.size();
  }

 private:
  std::vector<uint32_t> ks_;
  size_t next_ = 0;
};

}  // namespace nv::sched
