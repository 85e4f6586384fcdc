// PctStrategy: Probabilistic Concurrency Testing, from
//   S. Burckhardt, P. Kothari, M. Musuvathi, S. Nagarakatte,
//   "A Randomized Scheduler with Probabilistic Guarantees of Finding Bugs",
//   ASPLOS 2010.
// Every thread gets a random priority when first seen (new threads too), all
// distinct and above d - 1; d - 1 priority change points are drawn uniformly
// from the steps [1, k]. The highest-priority runnable thread always runs;
// at the i-th change point the thread about to run drops to priority d - i
// (below every initial priority), which forces the switch there. For a
// program of n threads and at most k steps, one run finds a given bug of
// depth d (the number of ordering constraints it needs) with probability at
// least 1 / (n k^(d-1)) (the paper's Theorem 1), so repeating with fresh seeds
// finds it with overwhelming probability.
//
// Steps are counted from 1 as in the paper: step s is the (s)-th decision.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "sched/internal/rng.h"
#include "sched/strategy.h"

namespace nv::sched {

class PctStrategy : public Strategy {
 public:
  // depth d >= 1; max_steps k >= 1 (an estimate of the run's length).
  PctStrategy(uint64_t seed, uint32_t depth, uint64_t max_steps);

  size_t pick(std::span<const ThreadId> runnable, ThreadId current, uint64_t step) override;

  const std::vector<uint64_t>& change_points() const { return change_points_; }

 private:
  uint64_t priority_of(ThreadId t);

  internal::Rng rng_;
  uint32_t depth_;
  std::vector<uint64_t> change_points_;  // sorted; the i-th lowers to d - 1 - i
  size_t next_change_ = 0;
  std::unordered_map<ThreadId, uint64_t> priority_;
};

}  // namespace nv::sched
