// Scheduler: the controlled world of test mode. Threads are fibers
// (sched/fiber.h) on the OS thread that owns the Scheduler; exactly one runs
// at a time and control changes hands only at instrumented scheduling points
// (lock and unlock, waits and wake-ups, refcount changes, RCU read-side
// sections and grace periods, work items, spawn, exit, sched::yield()).
// A decision picks one runnable thread and runs it to its next point; the
// index picked is recorded (decisions()), so a schedule is data and
// ReplayStrategy(decisions()) on a fresh Scheduler with the same bodies runs
// the same steps again.
//
// Mode: the primitives (mutex.h, spinlock.h, rwsem.h, wait_queue.h,
// refcount.h, rcu.h, work_queue.h) ask current_scheduler() on every call: one
// thread_local load and a branch. It is non-null on the OS thread that owns a
// live Scheduler, both while one of its fibers runs and in the scheduler's own
// context (the test body between steps). In the scheduler's own context calls
// never yield (they run atomically) and a call that would block throws
// std::logic_error. Null (every other thread) is production mode: real locks.
//
// Virtual clock: now_ms() starts at 0 and moves only by advance() or by run()
// when no thread is runnable and a timer is pending (unless
// Options::idle_fires_timers is false). A timer that falls due is
// fired in (deadline, creation) order: its callback becomes a new runnable
// thread (the timer softirq), named "timer:<name>".
//
// Failures: an exception escaping a thread's body, or sched::fail() (a broken
// invariant, a primitive misused: sleeping under a spinlock, incrementing a
// refcount from zero) stops the run: run() returns kFailure and failure()
// says which thread and why. The process does not crash. Misuse found in a
// releasing call (unlocking a mutex not held, a refcount underflow) is
// recorded with report() instead of thrown, since those calls often run in
// destructors: the thread continues to its next point, then the run stops.
//
// Teardown (~Scheduler): threads never started are dropped without running.
// Every started, unfinished thread is resumed once more in teardown mode: if
// it was suspended in a wait or at an acquiring point (lock, yield, ...) that
// call throws sched::Cancelled, which unwinds its stack (destructors run) up
// to the thread's entry, where it is caught; if it was suspended at a
// releasing point (unlock, up_read, rcu_read_unlock, dec_and_test, wake,
// complete) the call returns, since such calls often sit in destructors, and
// the thread runs on without switching until it next yields or would block,
// which throws Cancelled. A thread that would block while already unwinding
// (a destructor that must wait at teardown) aborts the process with a message
// naming it. Do not swallow Cancelled in catch (...) blocks: it is not a
// std::exception, so catch (const std::exception&) lets it through.
//
// Exceptions: the C++ runtime keeps its "currently caught" exception stack per
// OS thread, not per fiber, so a thread must not reach a scheduling point
// inside a catch block (rethrowing there after a switch could rethrow another
// fiber's exception). Throwing through points, and catching, is fine.
//
// Invariants (check() verifies them; debug builds check after every step):
//   * live_ holds, in increasing id order, exactly the threads not kDone;
//   * a kBlocked thread has a wait description (what it waits on);
//   * current_ is kNoThread outside step(), and names a live thread inside;
//   * timers_ is keyed by (deadline, seq), seq unique and increasing (by
//     construction: a std::map, seq from a counter; not re-checked).
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "sched/strategy.h"

namespace nv::sched {

class Scheduler;
namespace internal {
class Fiber;
}

// The scheduler controlling this OS thread, or null in production mode.
// Written only by Scheduler's constructor and destructor, on its own thread.
extern constinit thread_local Scheduler* tls_scheduler;
inline Scheduler* current_scheduler() {
  return tls_scheduler;
}

// Where a thread switched: the kind of each scheduling point.
enum class Point : uint8_t {
  kSpawn,
  kExit,
  kYield,
  kBlock,
  kMutexLock,
  kMutexUnlock,
  kSpinLock,
  kSpinUnlock,
  kDownRead,
  kUpRead,
  kDownWrite,
  kUpWrite,
  kWait,
  kWake,
  kComplete,
  kRefInc,
  kRefDec,
  kRcuReadLock,
  kRcuReadUnlock,
  kRcuAssign,
  kSyncRcu,
  kCallRcu,
  kRcuBarrier,
  kQueueWork,
  kRunWork,
  kCancelWork,
  kFlush,
  kTimer,
};
const char* point_name(Point p);
// Releasing points return at teardown instead of throwing (see above).
bool releasing(Point p);

// One entry of the trace: `thread` reached `point` (or, for kTimer, was
// created by a timer firing).
struct Event {
  ThreadId thread = kNoThread;
  Point point = Point::kYield;
  friend auto operator<=>(const Event&, const Event&) = default;
};

enum class RunStatus : uint8_t {
  kOk,         // quiescent: every thread finished, no timer pending
  kDeadlock,   // threads blocked, none runnable, no timer that could wake them
  kStepBound,  // max_steps decisions and still runnable threads (livelock?)
  kFailure,    // a thread failed: see failure()
};
const char* status_name(RunStatus s);

struct Failure {
  ThreadId thread = kNoThread;
  std::string thread_name;
  std::string message;
};

// Thrown into a thread's stack at teardown (see above). Not a std::exception.
struct Cancelled {};

// Thrown by fail() inside a thread; caught at the thread's entry. Not a
// std::exception, so user code catching std::exception does not hide it.
struct FailureSignal {
  std::string message;
};

// The per-thread state primitives keep in test mode.
struct ThreadState {
  uint32_t spin_depth = 0;   // spinlocks held (spinlock.h)
  uint32_t rcu_nesting = 0;  // rcu_read_lock depth (rcu.h)
  uint64_t rcu_epoch = 0;    // outermost read-side sections entered so far
};

// Threads waiting for one thing; each test-mode primitive keeps one. Only the
// scheduler's own thread touches it (no lock: one fiber runs at a time).
class WaitList {
 public:
  bool empty() const { return waiters_.empty(); }

 private:
  friend class Scheduler;
  std::vector<ThreadId> waiters_;
};

// What RCU did, for reports ("grace periods waited").
struct RcuStats {
  // Grace periods waited: synchronize_rcu calls, and in test mode also the one
  // each call_rcu callback waits (production: liburcu batches callbacks on
  // its own grace periods, which are not counted).
  uint64_t grace_periods = 0;
  uint64_t callbacks = 0;  // call_rcu callbacks run
  uint64_t barriers = 0;   // rcu_barrier calls
};

// RCU's test-mode state, one domain per Scheduler (rcu.cc).
struct RcuDomain {
  WaitList grace_period_waiters;  // woken by every outermost rcu_read_unlock
  WaitList barrier_waiters;       // woken when pending_callbacks drops to 0
  uint64_t pending_callbacks = 0;
  RcuStats stats;
};

class Scheduler {
 public:
  struct Options {
    bool record_events = true;  // keep events() (the benchmark turns it off)
    size_t stack_size = 0;      // 0: 256 KiB (1 MiB under ASan)
    // run() fires the next timer when no thread can run. False: the clock
    // moves only by advance() (the runner's tick), so periodic work that
    // re-arms itself waits for the trace's time instead of running forever.
    bool idle_fires_timers = true;
  };
  using TimerId = uint64_t;

  Scheduler() : Scheduler(Options{}) {}
  explicit Scheduler(Options options);
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;
  ~Scheduler();

  // A new runnable thread. From a thread, also a scheduling point (kSpawn).
  ThreadId spawn(std::string name, std::function<void()> body);

  // One decision: false (nothing done) when no thread is runnable or a thread
  // has failed.
  bool step(Strategy& strategy);
  // One decision, the k-th runnable thread (k modulo their number).
  bool step_k(uint32_t k);
  // Decides until no thread is runnable (firing timers when idle), a thread
  // fails, or max_steps decisions were made by this call. A timer that keeps
  // re-arming itself (periodic work) keeps the run going: it ends kStepBound.
  RunStatus run(Strategy& strategy, uint64_t max_steps);

  const std::vector<uint32_t>& decisions() const { return decisions_; }
  const std::vector<Event>& events() const { return events_; }
  const std::optional<Failure>& failure() const { return failure_; }
  uint64_t steps() const { return decisions_.size(); }
  // Every thread: id, name, state and what a blocked one waits on; the
  // schedule so far (to replay) and the failure, if any.
  std::string describe() const;
  std::optional<std::string> check() const;

  // Virtual clock.
  uint64_t now_ms() const { return now_ms_; }
  // Moves the clock ms forward, firing every timer due by then in order;
  // from the scheduler's context only.
  void advance(uint64_t ms);
  TimerId add_timer(uint64_t delay_ms, std::string name, std::function<void()> fn);
  // False when the timer already fired or was cancelled.
  bool cancel_timer(TimerId id);
  size_t pending_timers() const { return timers_.size(); }
  // The earliest pending timer's deadline (absolute ms), if any.
  std::optional<uint64_t> next_deadline() const {
    if (timers_.empty()) return std::nullopt;
    return timers_.begin()->first.first;
  }

  const RcuStats& rcu_stats() const { return rcu_.stats; }

  // --- For the primitives -------------------------------------------------
  // The running thread, or kNoThread in the scheduler's own context.
  ThreadId current() const { return current_; }
  bool in_thread() const { return current_ != kNoThread; }
  // A scheduling point of the running thread; a no-op in the scheduler's
  // context.
  void point(Point p);
  // Blocks the running thread on `list` until wake_*(list) ("what" and obj
  // say what it waits on, for describe()). Sleeping while holding a spinlock
  // or inside an RCU read-side section fails the thread, unless `spinning`
  // (a spinlock's waiter, which the kernel would busy-wait). Callers re-check
  // their condition in a loop: a wake-up is a hint.
  void block(WaitList& list, const char* what, const void* obj, bool spinning = false);
  void wake_all(WaitList& list);
  void wake_one(WaitList& list);
  // Fails the running thread (throws FailureSignal); in the scheduler's
  // context, throws std::logic_error.
  [[noreturn]] void fail(std::string message);
  // Records a failure of the running thread without throwing: for misuse
  // found in releasing calls (unlock, up_read, rcu_read_unlock, a refcount
  // underflow), which often run in destructors where a throw would
  // terminate. The thread goes on to its next point; run() then stops with
  // kFailure.
  void report(std::string message);
  // The running thread's primitive state (in_thread() only).
  ThreadState& self();
  // Threads not finished, in id order, and their state.
  std::span<const ThreadId> live() const { return live_; }
  const ThreadState& state_of(ThreadId id) const;
  RcuDomain& rcu() { return rcu_; }

 private:
  struct Thread;
  enum class RunState : uint8_t { kRunnable, kBlocked, kDone };

  bool collect_runnable();
  void run_index(size_t index);
  void thread_main(ThreadId id);
  void switch_out(Point p);
  bool fire_next_timer();
  void record(ThreadId t, Point p) {
    if (options_.record_events) events_.push_back({t, p});
  }

  Options options_;
  Scheduler* previous_;  // tls_scheduler before this one (nested schedulers)
  std::vector<std::unique_ptr<Thread>> threads_;  // by id
  std::vector<ThreadId> live_;
  std::vector<ThreadId> runnable_;  // scratch for step()
  ThreadId current_ = kNoThread;
  size_t done_ = 0;            // threads that reached kDone
  ThreadId last_ = kNoThread;  // the thread of the previous step
  std::vector<uint32_t> decisions_;
  std::vector<Event> events_;
  std::optional<Failure> failure_;
  bool tearing_down_ = false;
  uint64_t now_ms_ = 0;
  uint64_t next_timer_seq_ = 0;
  struct Timer {
    std::string name;
    std::function<void()> fn;
  };
  std::map<std::pair<uint64_t, TimerId>, Timer> timers_;  // by (deadline, seq)
  RcuDomain rcu_;
};

// --- Calls that work in both modes ------------------------------------------

// A scheduling point; in production, std::this_thread::yield().
void yield();
// Fails the running thread in test mode (see Scheduler::fail); in production
// prints the message and aborts.
[[noreturn]] void fail(std::string message);
// Milliseconds: the virtual clock in test mode, std::chrono::steady_clock in
// production.
uint64_t now_ms();

}  // namespace nv::sched
