// RandomStrategy: a seeded random walk over schedules; every decision picks a
// runnable thread uniformly. The same seed gives the same schedule on every
// platform (sched/internal/rng.h).
#pragma once

#include <cstdint>

#include "sched/internal/rng.h"
#include "sched/strategy.h"

namespace nv::sched {

class RandomStrategy : public Strategy {
 public:
  explicit RandomStrategy(uint64_t seed) : rng_(seed) {}

  size_t pick(std::span<const ThreadId> runnable, ThreadId, uint64_t) override {
    return size_t(rng_.below(runnable.size()));
  }

 private:
  internal::Rng rng_;
};

}  // namespace nv::sched
