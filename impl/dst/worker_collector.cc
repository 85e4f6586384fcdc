#include "impl/dst/worker_collector.h"

#include <mutex>
#include <optional>

namespace nv::dst {

// dst_gc_task.
void WorkerCollector::run() {
  std::lock_guard mutex(gc_mutex_);
  // The mutant scans under the spinlock, from the first node to the last.
  std::optional<CountedLock::Section> scan;
  if (mutants_.has(DstMutant::kScanLocked)) scan.emplace(lock_);
  const uint32_t unreferenced = mutants_.has(DstMutant::kDestroyReferenced) ? 1 : 0;
  uint64_t delayed = 0, performed = 0;
  DstEntry* kept = nullptr;
  DstEntry** tail = &kept;
  DstEntry* next = busy_;
  for (;;) {
    while (DstEntry* e = next) {
      next = e->next;
      if (scan) scan->work();
      if (e->count.read() > unreferenced) {
        *tail = e;
        tail = &e->next;
        ++delayed;
        continue;
      }
      ++performed;
      destroy(e);
    }
    std::optional<CountedLock::Section> own;
    if (!scan) own.emplace(lock_);
    CountedLock::Section& lock = scan ? *scan : *own;
    next = garbage_;
    if (next) {  // splice the garbage list and walk it too
      lock.work();
      garbage_ = nullptr;
      continue;
    }
    *tail = nullptr;
    busy_ = kept;
    if (!busy_) {
      timer_.inc = kGcMaxMs;
      return;
    }
    // Destroyed at most a tenth of what was delayed: sleep longer.
    const uint64_t delay = timer_.next(performed <= delayed / 10);
    if (!mutants_.has(DstMutant::kGcStops) || performed > 0) rearm(delay);
    return;
  }
}

// dst_dev_event's part: the busy list, then the garbage list spliced onto it.
void WorkerCollector::ifdown(NetDevice* dev, NetDevice* to) {
  std::lock_guard mutex(gc_mutex_);
  DstEntry* last = nullptr;
  for (DstEntry* e = busy_; e; e = e->next) {
    last = e;
    dst_ifdown(e, dev, to);
  }
  if (mutants_.has(DstMutant::kIfdownBusyOnly)) return;
  DstEntry* spliced;
  {
    CountedLock::Section lock(lock_);
    lock.work();
    spliced = garbage_;
    garbage_ = nullptr;
  }
  (last ? last->next : busy_) = spliced;
  for (DstEntry* e = spliced; e; e = e->next) dst_ifdown(e, dev, to);
}

void WorkerCollector::for_each(const std::function<void(DstEntry*)>& fn) const {
  for (DstEntry* e = busy_; e; e = e->next) fn(e);
  for (DstEntry* e = garbage_; e; e = e->next) fn(e);
}

}  // namespace nv::dst
