#include "sched/dfs_explorer.h"

#include <algorithm>

namespace nv::sched {

size_t DfsExplorer::pick(std::span<const ThreadId> runnable, ThreadId current, uint64_t) {
  const auto n = uint32_t(runnable.size());
  int32_t cur = -1;
  for (uint32_t i = 0; i < n; ++i)
    if (runnable[i] == current) cur = int32_t(i);
  if (depth_ < stack_.size()) {  // replaying the prefix
    Frame& f = stack_[depth_++];
    if (f.n != n || f.current != cur) {
      if (!nondeterminism_)
        nondeterminism_ = "possible nondeterminism: step " + std::to_string(depth_ - 1) + " had " +
                          std::to_string(f.n) + " runnable threads, now " + std::to_string(n);
      return std::min(f.chosen, n - 1);
    }
    return f.chosen;
  }
  const uint32_t before = stack_.empty()
                              ? 0
                              : stack_.back().preemptions +
                                    (stack_.back().current >= 0 &&
                                             stack_.back().chosen != uint32_t(stack_.back().current)
                                         ? 1
                                         : 0);
  Frame f{n, 0, cur, before};
  // Index `cur` is always allowed (no preemption), so some index is.
  while (!allowed(f, f.chosen)) ++f.chosen;
  stack_.push_back(f);
  ++depth_;
  return f.chosen;
}

bool DfsExplorer::next_schedule() {
  depth_ = 0;
  while (!stack_.empty()) {
    Frame& f = stack_.back();
    for (uint32_t i = f.chosen + 1; i < f.n; ++i) {
      if (allowed(f, i)) {
        f.chosen = i;
        return true;
      }
    }
    stack_.pop_back();
  }
  return false;
}

std::vector<uint32_t> DfsExplorer::schedule() const {
  std::vector<uint32_t> out;
  for (const Frame& f : stack_) out.push_back(f.chosen);
  return out;
}

ExploreResult explore(uint32_t preemption_bound, const std::function<void(Scheduler&)>& setup,
                      const std::function<std::optional<std::string>(Scheduler&, RunStatus)>& check,
                      uint64_t max_steps, uint64_t max_schedules) {
  ExploreResult result;
  DfsExplorer dfs(preemption_bound);
  do {
    Scheduler s;
    setup(s);
    const RunStatus status = s.run(dfs, max_steps);
    ++result.schedules;
    if (dfs.nondeterminism()) {
      result.failing_schedule = s.decisions();
      result.message = *dfs.nondeterminism();
      return result;
    }
    if (auto error = check(s, status)) {
      result.failing_schedule = s.decisions();
      result.message = *error;
      return result;
    }
  } while (result.schedules < max_schedules && dfs.next_schedule());
  return result;
}

}  // namespace nv::sched
