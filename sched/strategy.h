// Strategy: the scheduler's one question, "which runnable thread runs next?",
// as a narrow interface. Each policy is a file of its own (random_strategy.h,
// pct_strategy.h, dfs_explorer.h) and replaying a recorded schedule is just
// another strategy (replay_strategy.h): a schedule is data, the list of
// indices that pick() returned.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace nv::sched {

// Threads of a Scheduler are numbered 0, 1, 2, ... in spawn order.
using ThreadId = uint32_t;
inline constexpr ThreadId kNoThread = UINT32_MAX;

class Strategy {
 public:
  virtual ~Strategy() = default;
  // runnable: the runnable threads in increasing ThreadId order (never
  // empty); current: the thread that ran the previous step (kNoThread before
  // the first), which may or may not be runnable; step: decisions made so
  // far. Returns an index into runnable (taken modulo its size).
  virtual size_t pick(std::span<const ThreadId> runnable, ThreadId current, uint64_t step) = 0;
};

}  // namespace nv::sched
