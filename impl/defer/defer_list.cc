#include "impl/defer/defer_list.h"

#include <mutex>

#include "trace/defer/defer_ops.h"

namespace nv::defer {

DeferList::Push DeferList::push(DeferSkb* skb, const std::atomic<uint32_t>& defer_max,
                                uint64_t* count, MutantSet mutants) {
  const bool check_length = !mutants.has(DeferMutant::kNoLengthCheck);
  // Lockless first look (READ_ONCE(sd->defer_count) >= defer_max); relaxed:
  // the decision is taken again under the lock.
  if (check_length &&
      !may_defer(count_.load(std::memory_order_relaxed), defer_max.load(std::memory_order_relaxed)))
    return Push::kFull;
  std::lock_guard guard(lock_);
  const uint64_t n = count_.load(std::memory_order_relaxed);
  const uint32_t max = defer_max.load(std::memory_order_relaxed);
  if (check_length && !may_defer(n, max)) return Push::kFull;
  const bool kick = mutants.has(DeferMutant::kKickEveryDefer) || kicks(n, max);
  skb->next = head_.load(std::memory_order_relaxed);
  head_.store(skb, std::memory_order_relaxed);
  count_.store(n + 1, std::memory_order_relaxed);
  *count = n + 1;
  // Send the IPI once until the owner handles it (cmpxchg on
  // defer_ipi_scheduled in the kernel; here under the lock, see above).
  if (!kick || ipi_scheduled_) return Push::kDeferred;
  ipi_scheduled_ = true;
  return Push::kDeferredKick;
}

bool DeferList::check() const {
  uint64_t n = 0;
  for (const DeferSkb* s = head(); s; s = s->next) ++n;
  return n == count() && (!ipi_scheduled_ || n > 0);
}

}  // namespace nv::defer
