#include "sched/pct_strategy.h"

#include <algorithm>

namespace nv::sched {

PctStrategy::PctStrategy(uint64_t seed, uint32_t depth, uint64_t max_steps)
    : rng_(seed), depth_(std::max<uint32_t>(depth, 1)) {
  for (uint32_t i = 1; i < depth_; ++i) change_points_.push_back(1 + rng_.below(max_steps));
  std::sort(change_points_.begin(), change_points_.end());
}

uint64_t PctStrategy::priority_of(ThreadId t) {
  auto it = priority_.find(t);
  if (it != priority_.end()) return it->second;
  // Initial priorities lie in [d, 2^63): random, and distinct (redrawn on a
  // clash), so the order between any two threads is uniformly random.
  for (;;) {
    const uint64_t p = depth_ + (rng_.next() >> 1);
    bool clash = false;
    for (const auto& [other, q] : priority_) clash |= q == p;
    if (!clash) return priority_[t] = p;
  }
}

size_t PctStrategy::pick(std::span<const ThreadId> runnable, ThreadId, uint64_t step) {
  auto highest = [&] {
    size_t best = 0;
    for (size_t i = 1; i < runnable.size(); ++i)
      if (priority_of(runnable[i]) > priority_of(runnable[best])) best = i;
    return best;
  };
  size_t chosen = highest();
  // Step numbers from 1; several change points may fall on one step.
  while (next_change_ < change_points_.size() && change_points_[next_change_] == step + 1) {
    ++next_change_;
    priority_[runnable[chosen]] = depth_ - next_change_;  // the i-th change point: d - i
    chosen = highest();
  }
  return chosen;
}

}  // namespace nv::sched
