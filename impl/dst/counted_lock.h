// CountedLock: a spinlock whose sections count the list work done under
// them, so that "the garbage-list lock is held for O(1) work" is a checked
// property and not a hope: a section that did more than the bound is
// counted (overwork()), and the benchmark can ask for the longest section in
// nanoseconds (measure(true), production).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "sched/spinlock.h"

namespace nv::dst {

class CountedLock {
 public:
  // bound: most nodes a section may touch (UINT64_MAX: unbounded, the old
  // design's full scan).
  explicit CountedLock(uint64_t bound) : bound_(bound) {}

  class Section {
   public:
    explicit Section(CountedLock& l) : l_(l) {
      l_.lock_.lock();
      if (l_.measure_) start_ = std::chrono::steady_clock::now();
    }
    ~Section() {
      if (work_ > l_.bound_) ++l_.overwork_;
      if (l_.measure_) {
        const auto held = std::chrono::steady_clock::now() - start_;
        l_.longest_ns_ = std::max<uint64_t>(
            l_.longest_ns_,
            uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(held).count()));
      }
      l_.lock_.unlock();
    }
    Section(const Section&) = delete;
    Section& operator=(const Section&) = delete;
    void work() { ++work_; }

   private:
    CountedLock& l_;
    uint64_t work_ = 0;
    std::chrono::steady_clock::time_point start_;
  };

  // Written under the lock; read where nothing runs.
  uint64_t overwork() const { return overwork_; }
  uint64_t longest_ns() const { return longest_ns_; }
  void measure(bool on) { measure_ = on; }

 private:
  sched::SpinLock lock_;
  const uint64_t bound_;
  bool measure_ = false;
  uint64_t overwork_ = 0;    // guarded by lock_
  uint64_t longest_ns_ = 0;  // guarded by lock_
};

}  // namespace nv::dst
