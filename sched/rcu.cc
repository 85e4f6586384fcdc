#include "sched/rcu.h"

#include <urcu/urcu-memb.h>
// liburcu maps the generic names onto its flavour with macros; this file
// defines nv::sched functions of those names and calls urcu_memb_* directly.
#undef rcu_read_lock
#undef rcu_read_unlock
#undef synchronize_rcu
#undef call_rcu
#undef rcu_barrier
#undef rcu_dereference
#undef rcu_assign_pointer

#include <atomic>
#include <memory>
#include <utility>
#include <vector>

#include "sched/internal/sanitizers.h"

#if defined(NV_SCHED_TSAN)
// liburcu is not instrumented: the hand-offs inside it (urcu_memb_barrier
// allocates a record that its call_rcu thread frees, ordered by futexes and
// barriers TSan does not see) look like races between its own frames. Our
// side of every edge is annotated (tsan_release / tsan_acquire above and
// below), so only races with a liburcu frame on the stack are suppressed.
extern "C" const char* __tsan_default_suppressions() {
  return "race:liburcu-memb.so\n";
}
#endif

namespace nv::sched {
namespace {

// Production counters. Relaxed: they are statistics, read after the work
// they count was joined.
std::atomic<uint64_t> prod_grace_periods{0};
std::atomic<uint64_t> prod_callbacks{0};
std::atomic<uint64_t> prod_barriers{0};

// The TSan token for reader-section -> grace-period-end edges.
char tsan_gp_token;

// A call_rcu callback in liburcu's form.
struct UrcuCallback {
  rcu_head head;  // first: liburcu hands back its address
  std::function<void()> fn;
};

void urcu_trampoline(rcu_head* head) {
  std::unique_ptr<UrcuCallback> cb(reinterpret_cast<UrcuCallback*>(head));
  internal::tsan_acquire(&tsan_gp_token);
  internal::tsan_acquire(cb.get());  // pairs with tsan_release in call_rcu
  cb->fn();
  prod_callbacks.fetch_add(1, std::memory_order_relaxed);
}

// Test mode: (thread, epoch) of every reader inside a section now.
std::vector<std::pair<ThreadId, uint64_t>> readers_now(const Scheduler& s) {
  std::vector<std::pair<ThreadId, uint64_t>> out;
  for (ThreadId id : s.live()) {
    const ThreadState& st = s.state_of(id);
    if (st.rcu_nesting > 0) out.emplace_back(id, st.rcu_epoch);
  }
  return out;
}

bool any_still_inside(const Scheduler& s, const std::vector<std::pair<ThreadId, uint64_t>>& rs) {
  for (const auto& [id, epoch] : rs) {
    const ThreadState& st = s.state_of(id);  // a finished thread keeps its state
    if (st.rcu_nesting > 0 && st.rcu_epoch == epoch) return true;
  }
  return false;
}

void synchronize_rcu_test(Scheduler& s) {
  s.point(Point::kSyncRcu);
  if (s.in_thread() && s.self().rcu_nesting > 0)
    s.fail("synchronize_rcu inside an RCU read-side critical section");
  ++s.rcu().stats.grace_periods;
  const auto readers = readers_now(s);
  while (any_still_inside(s, readers))
    s.block(s.rcu().grace_period_waiters, "RCU grace period", &s.rcu());
}

}  // namespace

void rcu_read_lock() {
  if (Scheduler* s = current_scheduler()) [[unlikely]] {
    s->point(Point::kRcuReadLock);
    if (!s->in_thread()) return;  // the scheduler's context runs atomically
    ThreadState& st = s->self();
    if (st.rcu_nesting++ == 0) ++st.rcu_epoch;
    return;
  }
  urcu_memb_read_lock();
}

void rcu_read_unlock() {
  if (Scheduler* s = current_scheduler()) [[unlikely]] {
    if (s->in_thread()) {
      ThreadState& st = s->self();
      if (st.rcu_nesting == 0) {
        s->report("rcu_read_unlock without rcu_read_lock");
      } else if (--st.rcu_nesting == 0) {
        s->wake_all(s->rcu().grace_period_waiters);
      }
    }
    s->point(Point::kRcuReadUnlock);
    return;
  }
  internal::tsan_release(&tsan_gp_token);
  urcu_memb_read_unlock();
}

void synchronize_rcu() {
  if (Scheduler* s = current_scheduler()) [[unlikely]]
    return synchronize_rcu_test(*s);
  urcu_memb_synchronize_rcu();
  internal::tsan_acquire(&tsan_gp_token);
  prod_grace_periods.fetch_add(1, std::memory_order_relaxed);
}

void call_rcu(std::function<void()> callback) {
  if (Scheduler* s = current_scheduler()) [[unlikely]] {
    s->point(Point::kCallRcu);
    ++s->rcu().pending_callbacks;
    s->spawn("rcu_callback", [s, cb = std::move(callback)] {
      synchronize_rcu_test(*s);
      cb();
      ++s->rcu().stats.callbacks;
      if (--s->rcu().pending_callbacks == 0) s->wake_all(s->rcu().barrier_waiters);
    });
    return;
  }
  auto* cb = new UrcuCallback{{}, std::move(callback)};
  internal::tsan_release(cb);
  urcu_memb_call_rcu(&cb->head, urcu_trampoline);
}

void rcu_barrier() {
  if (Scheduler* s = current_scheduler()) [[unlikely]] {
    s->point(Point::kRcuBarrier);
    if (s->in_thread() && s->self().rcu_nesting > 0)
      s->fail("rcu_barrier inside an RCU read-side critical section");
    ++s->rcu().stats.barriers;
    while (s->rcu().pending_callbacks > 0)
      s->block(s->rcu().barrier_waiters, "rcu_barrier", &s->rcu());
    return;
  }
  urcu_memb_barrier();
  prod_barriers.fetch_add(1, std::memory_order_relaxed);
}

RcuStats rcu_stats() {
  if (Scheduler* s = current_scheduler()) return s->rcu_stats();
  return {prod_grace_periods.load(std::memory_order_relaxed),
          prod_callbacks.load(std::memory_order_relaxed),
          prod_barriers.load(std::memory_order_relaxed)};
}

RcuThread::RcuThread() : registered_(current_scheduler() == nullptr) {
  if (registered_) urcu_memb_register_thread();
}

RcuThread::~RcuThread() {
  if (registered_) urcu_memb_unregister_thread();
}

}  // namespace nv::sched
