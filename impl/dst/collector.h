// Collector: what a garbage-collector design does with the entries the
// route cache frees (impl/dst/dst_impl.h owns the cache and runs one
// design). Three designs: TimerCollector (the softirq timer's full scan
// before 2007), WorkerCollector (the 2007 workqueue), RcuCollector (today's:
// the last reference destroys after a grace period).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>

#include "impl/dst/counted_lock.h"
#include "impl/dst/dst_entry.h"
#include "impl/dst/dst_mutants.h"

namespace nv::dst {

// Test mode, between operations: an entry seen unreferenced must be gone
// within this long (the collectors run at least every DST_GC_MAX while
// they hold entries).
inline constexpr uint64_t kGcMinMs = 100;     // DST_GC_MIN: HZ/10
inline constexpr uint64_t kGcIncMs = 500;     // DST_GC_INC: HZ/2
inline constexpr uint64_t kGcMaxMs = 120000;  // DST_GC_MAX: 120 HZ
inline constexpr uint64_t kGcDeadlineMs = kGcMaxMs + kGcMinMs;

class Collector {
 public:
  explicit Collector(uint64_t lock_bound) : lock_(lock_bound) {}
  virtual ~Collector() = default;
  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;

  // dst_free: the entry left the cache (obsolete); drop the owner's
  // reference and take care of the entry. The engine's cache lock is held,
  // so a device event sees the entry in the cache or here, never neither.
  virtual void free(DstEntry* e) = 0;
  // dst_release: drop a user's reference.
  virtual void release(DstEntry* e) = 0;
  // dst_dev_event's walk: every freed, undestroyed entry moves off `dev`.
  virtual void ifdown(NetDevice* dev, NetDevice* to) = 0;
  // Every freed entry not yet destroyed that the collector lists (where
  // nothing runs: the engine's snapshot, checks and holders).
  virtual void for_each(const std::function<void(DstEntry*)>& fn) const = 0;
  // Production (the benchmark): run the collector now and wait for it.
  virtual void run_now() = 0;
  // netdev_wait_allrefs's rcu_barrier(): destructions already queued have
  // run (from a thread or production; where nothing runs, they have).
  virtual void barrier() {}

  uint64_t destroyed() const { return destroyed_.load(std::memory_order_relaxed); }
  CountedLock& lock() { return lock_; }
  const CountedLock& lock() const { return lock_; }

 protected:
  // dst_destroy: drops the device reference and poisons the entry.
  void destroy(DstEntry* e) {
    e->destroyed.store(true, std::memory_order_relaxed);
    e->dev->refcnt.fetch_sub(1, std::memory_order_relaxed);  // dev_put
    destroyed_.fetch_add(1, std::memory_order_relaxed);
  }

  CountedLock lock_;  // the list lock whose sections are counted

 private:
  std::atomic<uint64_t> destroyed_{0};
};

}  // namespace nv::dst
