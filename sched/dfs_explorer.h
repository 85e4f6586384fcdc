// DfsExplorer: bounded exhaustive search over the schedules of a tiny
// scenario (iterative context bounding: Musuvathi, Qadeer, "Iterative Context
// Bounding for Systematic Testing of Multithreaded Programs", PLDI 2007).
// It enumerates, depth first, every decision sequence with at most B
// preemptions, a preemption being a switch away from a thread that is still
// runnable (switching after the running thread blocked or finished is free).
//
// The explorer is a Strategy: run a fresh Scheduler with it, then call
// next_schedule() to move to the next unexplored sequence, until it returns
// false. Each run replays the current prefix and extends it with the lowest
// allowed index. explore() is the driver: it builds a fresh scheduler per
// schedule with setup(), runs it, and hands the result to check().
//
// Determinism is required: a replayed prefix must meet the same number of
// runnable threads at each step; otherwise the explorer reports it
// (nondeterminism() is set and explore() stops with that message).
//
// Invariants: stack_[i].chosen < stack_[i].n; the preemptions counted along
// the stack never exceed the bound.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "sched/scheduler.h"
#include "sched/strategy.h"

namespace nv::sched {

class DfsExplorer : public Strategy {
 public:
  explicit DfsExplorer(uint32_t preemption_bound) : bound_(preemption_bound) {}

  size_t pick(std::span<const ThreadId> runnable, ThreadId current, uint64_t step) override;
  // Prepares the next schedule; false when all have been explored.
  bool next_schedule();
  // The decisions of the current schedule (a prefix, for replay).
  std::vector<uint32_t> schedule() const;
  const std::optional<std::string>& nondeterminism() const { return nondeterminism_; }

 private:
  struct Frame {
    uint32_t n;            // runnable threads at this step
    uint32_t chosen;       // index run
    int32_t current;       // index of the previous step's thread if runnable, else -1
    uint32_t preemptions;  // preemptions before this step
  };
  bool allowed(const Frame& f, uint32_t index) const {
    const bool preempts = f.current >= 0 && index != uint32_t(f.current);
    return f.preemptions + (preempts ? 1 : 0) <= bound_;
  }

  uint32_t bound_;
  std::vector<Frame> stack_;
  size_t depth_ = 0;  // decisions taken in the current run
  std::optional<std::string> nondeterminism_;
};

struct ExploreResult {
  uint64_t schedules = 0;  // runs explored
  // The first schedule check() rejected (replay it with ReplayStrategy), and
  // its message.
  std::optional<std::vector<uint32_t>> failing_schedule;
  std::string message;
};

// Runs every schedule with at most preemption_bound preemptions: for each, a
// fresh Scheduler, setup(s) spawns the threads, s.run(max_steps), then
// check(s, status) returns an error message or nullopt. Stops at the first
// error, or after max_schedules.
ExploreResult explore(uint32_t preemption_bound, const std::function<void(Scheduler&)>& setup,
                      const std::function<std::optional<std::string>(Scheduler&, RunStatus)>& check,
                      uint64_t max_steps = 10000, uint64_t max_schedules = 1000000);

}  // namespace nv::sched
