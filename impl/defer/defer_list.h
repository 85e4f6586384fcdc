// DeferList: one CPU's defer list (the defer_list, defer_count,
// defer_lock and defer_ipi_scheduled fields of struct softnet_data, Linux
// v5.19 to 6.17): the skbs other CPUs freed that this CPU allocated, freed
// in one go by this CPU's rx action.
//
// A DeferSkb is the intrusive node (skb->next). push() is the deferring half
// of skb_attempt_defer_free; flush() is what the owner's rx does with the
// list: trigger_rx_softirq's reset of the kick flag, then
// skb_defer_free_flush, in one critical section.
//
// Invariants (guarded by lock_; check() verifies them in debug builds):
//   * count_ is the length of the chain from head_, which ends in nullptr;
//   * ipi_scheduled_ is set iff a kick was sent and the owner's rx has not
//     handled it since; then the list is not empty (only a flush empties
//     it, and a flush clears the flag in the same critical section, where
//     the kernel clears it in the IPI handler, before the softirq: a push
//     between the two would leave the flag set on an empty list).
//
// Concurrency: any CPU pushes, only the owner flushes.
//   * lock_ (defer_lock) guards head_, count_ and ipi_scheduled_ for writes
//     and for every decision: the length check, the kick and its
//     de-duplication are taken again under it, so that a push is one atomic
//     step against flushes and other pushes (the kernel checks the count
//     before the lock only and tests the flag after it, so concurrent frees
//     can overshoot defer_max by one per CPU and a kick can race the IPI
//     handler; re-checking keeps the bound exact and the history
//     linearizable against the model).
//   * count_ is read without the lock first (READ_ONCE in the kernel), a
//     hint that spares a full list the lock; head_ likewise in flush(), so
//     that an rx with nothing deferred takes no lock.
// Memory ordering: both lockless reads are relaxed: they only decide
// whether to take the lock, and every read that matters is repeated under
// it (lock() acquire pairs with unlock() release, sched/spinlock.h). A push
// missed by a lockless emptiness check is freed by the next rx; the list
// is then non-empty and its kick (if it reached half) is pending.
#pragma once

#include <atomic>
#include <cstdint>

#include "impl/defer/defer_mutants.h"
#include "sched/spinlock.h"

namespace nv::defer {

struct DeferSkb {
  DeferSkb* next = nullptr;  // on a defer list: the next older skb
  uint32_t alloc_cpu = 0;    // skb->alloc_cpu
};

class DeferList {
 public:
  enum class Push : uint8_t { kFull, kDeferred, kDeferredKick };
  // Pushes `skb` unless the list holds defer_max skbs (the caller then
  // frees it at once); *count is the list's length after the push. Kicks
  // (kDeferredKick) when the list held half of defer_max and no kick is
  // pending; the caller sends the IPI.
  Push push(DeferSkb* skb, const std::atomic<uint32_t>& defer_max, uint64_t* count,
            MutantSet mutants = {});
  // Clears the pending kick and detaches the whole list under the lock,
  // then calls free_skb on each skb, newest first, outside it. Returns how
  // many were freed. An empty list has no kick pending: nothing to do.
  template <class Free>
  uint64_t flush(Free&& free_skb, MutantSet mutants = {});

  // For snapshots, when no push or flush runs (quiescent).
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  bool ipi_scheduled() const { return ipi_scheduled_; }
  const DeferSkb* head() const { return head_.load(std::memory_order_relaxed); }
  bool check() const;

 private:
  // The mutant defer-flush-race: frees before detaching.
  template <class Free>
  uint64_t flush_racy(Free&& free_skb);

  sched::SpinLock lock_;
  std::atomic<DeferSkb*> head_{nullptr};  // guarded by lock_; read lockless in flush()
  std::atomic<uint64_t> count_{0};        // guarded by lock_; read lockless in push()
  bool ipi_scheduled_ = false;            // guarded by lock_
};

template <class Free>
uint64_t DeferList::flush(Free&& free_skb, MutantSet mutants) {
  // Lockless emptiness check (relaxed: see "Memory ordering").
  if (!head_.load(std::memory_order_relaxed)) return 0;
  if (mutants.has(DeferMutant::kFlushRace)) return flush_racy(free_skb);
  lock_.lock();
  ipi_scheduled_ = false;
  DeferSkb* skb = head_.load(std::memory_order_relaxed);
  head_.store(nullptr, std::memory_order_relaxed);
  count_.store(0, std::memory_order_relaxed);
  lock_.unlock();
  uint64_t n = 0;
  while (skb) {
    DeferSkb* next = skb->next;  // read before free_skb may reuse the node
    free_skb(skb);
    skb = next;
    ++n;
  }
  return n;
}

template <class Free>
uint64_t DeferList::flush_racy(Free&& free_skb) {
  lock_.lock();
  ipi_scheduled_ = false;
  DeferSkb* const first = head_.load(std::memory_order_relaxed);
  lock_.unlock();
  uint64_t n = 0;
  for (DeferSkb* skb = first; skb;) {
    DeferSkb* next = skb->next;
    free_skb(skb);
    skb = next;
    ++n;
  }
  lock_.lock();
  if (head_.load(std::memory_order_relaxed) == first)
    head_.store(nullptr, std::memory_order_relaxed);
  count_.store(count_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
  lock_.unlock();
  return n;
}

}  // namespace nv::defer
