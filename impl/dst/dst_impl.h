// DstImpl: route cache entries and their garbage collection, the worker
// design of "NET: convert IP route cache garbage collection from softirq
// processing to a workqueue" (E. Dumazet, 2007; net/core/dst.c).
//
// The route cache owns cached entries (cache_, by name). dst_free unhashes
// an entry: unreferenced, it is destroyed at once; otherwise it goes onto
// the garbage list under dst_garbage.lock in O(1), and the collector, a
// delayed work item, takes it from there: under dst_gc_mutex it walks the
// busy list (entries it found referenced before), destroys what is
// unreferenced, keeps the rest, then splices the garbage list (O(1) under
// the spinlock) and walks that too, until the garbage list is empty; it
// reschedules itself while the busy list is not empty, with an adaptive
// delay: back off (expires += inc, capped at DST_GC_MAX; inc += DST_GC_INC)
// when it destroyed at most a tenth of what it delayed, otherwise back to
// DST_GC_MIN. dst_dev_event walks the cache, the busy list and the spliced
// garbage list, moving entries off the device (dst_ifdown).
//
// Invariants (find_invariant_violation checks them):
//   * every entry is in exactly one place: cached (in cache_, not obsolete),
//     on the garbage or busy list (obsolete, not destroyed), or destroyed;
//   * a destroyed entry holds no device reference;
//   * each device's refcnt is the number of undestroyed entries pointing at
//     it.
//
// Concurrency (the trace's ops on threads of their own, the collector on
// the "dst_gc" workqueue's worker, device events on netns's threads):
//   * gc_mutex_ (dst_gc_mutex) guards busy_; outermost;
//   * cache_lock_ (the route cache's lock, and RTNL for device state)
//     guards cache_, refs_, generations_, devices_, and each cached entry's
//     dev; an entry leaves the cache and joins the garbage list with it held,
//     so a device event walking the cache and then the lists misses none;
//   * garbage_lock_ (dst_garbage.lock) guards garbage_ and the timer
//     fields; taken inside the others, for O(1) work only (counted);
//   * count is a refcount_t: one reference per user plus the owner's,
//     dropped by dst_free; the collector destroys at count 0 under gc_mutex_.
// Memory ordering: Refcount's release/acquire (refcount.h) orders a user's
// last accesses before the collector's destruction; every list is
// lock-protected.
//
// Destroyed entries are poisoned, not freed (until the engine goes): a
// reference dropped on one fails the thread ("dst: put on a destroyed
// entry"), the use after free the kernel would have.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "impl/dst/dst_mutants.h"
#include "sched/mutex.h"
#include "sched/refcount.h"
#include "sched/spinlock.h"
#include "sched/work_queue.h"
#include "trace/dst/dst_ops.h"
#include "trace/engine.h"
#include "trace/netns/netns_ops.h"

namespace nv::dst {

// The seed's constants, in milliseconds (HZ/10, HZ/2, 120 HZ).
inline constexpr uint64_t kGcMinMs = 100;
inline constexpr uint64_t kGcIncMs = 500;
inline constexpr uint64_t kGcMaxMs = 120000;
// An unreferenced freed entry is destroyed within this long of being seen
// unreferenced: the collector runs at least every kGcMaxMs while it has
// entries.
inline constexpr uint64_t kGcDeadlineMs = kGcMaxMs + kGcMinMs;
// Most list nodes touched in one garbage-lock section (a push, a splice).
inline constexpr uint64_t kLockWorkBound = 1;

class DstImpl final : public trace::Engine, public netns::NetdevNotifier {
 public:
  DstImpl(netns::PernetHost& host, MutantSet mutants = {});
  ~DstImpl() override;
  DstImpl(const DstImpl&) = delete;
  DstImpl& operator=(const DstImpl&) = delete;

  void apply(const trace::Op& op, std::vector<trace::Event>& out) override;
  void snapshot(trace::Snapshot& out) const override;
  uint64_t digest() const override;
  uint64_t digest(std::string_view ns) const override;
  std::string describe() const override;

  void netdev_event(netns::NetdevEvent event, std::string_view dev,
                    std::vector<trace::Event>& out) override;
  std::vector<std::string> holders(std::string_view dev) const override;

  // The benchmark's view: the longest garbage-lock section (ns, production
  // only when measure_lock_hold is set), entries destroyed so far, and a
  // collector run now (production: flush_workqueue after queueing it).
  void set_measure_lock_hold(bool on) { measure_lock_hold_ = on; }
  uint64_t longest_lock_hold_ns() const { return longest_hold_ns_; }
  uint64_t destroyed() const { return destroyed_.load(std::memory_order_relaxed); }
  void run_gc_now();
  size_t pending() const;  // entries on the garbage and busy lists

  std::optional<std::string> find_invariant_violation() const;

 private:
  struct NetDevice {
    std::string name;
    std::atomic<uint64_t> refcnt{0};  // undestroyed entries pointing at it
    bool registered = true;           // cache_lock_
  };
  struct DstEntry {
    std::string label;
    uint64_t seq = 0;  // allocation order (describe's order, as the model's)
    NetDevice* dev = nullptr;
    sched::Refcount count{1};  // users + the owner's until dst_free
    bool obsolete = false;
    bool destroyed = false;                 // poisoned
    DstEntry* next = nullptr;               // garbage or busy list
    uint64_t unreferenced_at = UINT64_MAX;  // the audit first saw it at 0
    bool overdue = false;                   // counted by the audit
  };
  // garbage_lock_ held by the caller's scope; counts the list work done
  // under it (and, when measured, how long it is held).
  class GarbageLock;

  void alloc(const trace::Op& op, std::vector<trace::Event>& out);
  void hold(const trace::Op& op);
  void put(const trace::Op& op);
  void free(const trace::Op& op);
  void destroy(DstEntry* e);  // gc_mutex_ held, or the entry never listed
  void gc_task();
  void ifdown(DstEntry* e, NetDevice* dev);
  // Test mode, between operations: marks entries newly seen unreferenced
  // on the lists and counts those left past kGcDeadlineMs.
  void audit();
  EntryGauges gauges(const DstEntry& e) const;
  bool live(const DstEntry& e) const {
    return !e.destroyed && !(e.obsolete && e.count.read() == 0);
  }
  std::vector<const DstEntry*> live_entries() const;  // by allocation order

  MutantSet mutants_;
  bool measure_lock_hold_ = false;
  mutable sched::Mutex gc_mutex_;
  mutable sched::SpinLock cache_lock_;
  mutable sched::SpinLock garbage_lock_;

  std::unordered_map<std::string, DstEntry*> cache_;
  std::unordered_map<std::string, DstEntry*> refs_;
  std::unordered_map<std::string, uint32_t> generations_;
  std::unordered_map<std::string, NetDevice*> devices_;  // registered, by name
  std::deque<std::unique_ptr<NetDevice>> all_devices_;   // every device ever (entries point)
  std::deque<std::unique_ptr<DstEntry>> store_;          // every entry ever (poisoned ones too)
  NetDevice blackhole_;
  uint64_t next_seq_ = 0;

  DstEntry* garbage_ = nullptr;  // garbage_lock_
  uint64_t timer_inc_ = kGcMaxMs;
  uint64_t timer_expires_ = 0;
  DstEntry* busy_ = nullptr;  // gc_mutex_

  CheckGauges checks_;
  uint64_t longest_hold_ns_ = 0;  // garbage_lock_
  std::atomic<uint64_t> destroyed_{0};

  sched::DelayedWork gc_work_{[this] { gc_task(); }};
  sched::WorkQueue gc_wq_{"dst_gc"};  // last: destroyed (joined) first
};

}  // namespace nv::dst
