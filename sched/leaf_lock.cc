#include "sched/leaf_lock.h"

#include <thread>

#include "sched/scheduler.h"

namespace nv::sched {

void LeafLock::lock_contended() {
  if (current_scheduler())
    fail("leaf lock found held: its holder reached a scheduling point inside it");
  for (unsigned spins = 0;;) {
    while (held_.load(std::memory_order_relaxed)) {
      if (++spins < 1024) {
        __builtin_ia32_pause();
      } else {
        spins = 0;
        std::this_thread::yield();  // the holder may be off its CPU
      }
    }
    if (!held_.exchange(true, std::memory_order_acquire)) return;
  }
}

}  // namespace nv::sched
