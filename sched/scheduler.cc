#include "sched/scheduler.h"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "sched/fiber.h"
#include "sched/internal/sanitizers.h"

namespace nv::sched {

constinit thread_local Scheduler* tls_scheduler = nullptr;

namespace {

#if defined(NV_SCHED_ASAN)
constexpr size_t kDefaultStack = 1 << 20;
#else
constexpr size_t kDefaultStack = 256 << 10;
#endif

}  // namespace

struct Scheduler::Thread {
  ThreadId id = kNoThread;
  std::string name;
  std::function<void()> body;
  std::unique_ptr<internal::Fiber> fiber;  // made at the first run
  RunState state = RunState::kRunnable;
  const char* wait_what = nullptr;  // kBlocked: what it waits on
  const void* wait_obj = nullptr;
  Point suspended_at = Point::kSpawn;  // the point it last switched out at
  ThreadState local;
};

const char* point_name(Point p) {
  switch (p) {
    case Point::kSpawn:
      return "spawn";
    case Point::kExit:
      return "exit";
    case Point::kYield:
      return "yield";
    case Point::kBlock:
      return "block";
    case Point::kMutexLock:
      return "mutex_lock";
    case Point::kMutexUnlock:
      return "mutex_unlock";
    case Point::kSpinLock:
      return "spin_lock";
    case Point::kSpinUnlock:
      return "spin_unlock";
    case Point::kDownRead:
      return "down_read";
    case Point::kUpRead:
      return "up_read";
    case Point::kDownWrite:
      return "down_write";
    case Point::kUpWrite:
      return "up_write";
    case Point::kWait:
      return "wait_event";
    case Point::kWake:
      return "wake_up";
    case Point::kComplete:
      return "complete";
    case Point::kRefInc:
      return "refcount_inc";
    case Point::kRefDec:
      return "refcount_dec";
    case Point::kRcuReadLock:
      return "rcu_read_lock";
    case Point::kRcuReadUnlock:
      return "rcu_read_unlock";
    case Point::kRcuAssign:
      return "rcu_assign_pointer";
    case Point::kSyncRcu:
      return "synchronize_rcu";
    case Point::kCallRcu:
      return "call_rcu";
    case Point::kRcuBarrier:
      return "rcu_barrier";
    case Point::kQueueWork:
      return "queue_work";
    case Point::kRunWork:
      return "run_work";
    case Point::kCancelWork:
      return "cancel_delayed_work";
    case Point::kFlush:
      return "flush_workqueue";
    case Point::kTimer:
      return "timer";
  }
  return "?";
}

bool releasing(Point p) {
  switch (p) {
    case Point::kMutexUnlock:
    case Point::kSpinUnlock:
    case Point::kUpRead:
    case Point::kUpWrite:
    case Point::kWake:
    case Point::kComplete:
    case Point::kRefDec:
    case Point::kRcuReadUnlock:
      return true;
    default:
      return false;
  }
}

const char* status_name(RunStatus s) {
  switch (s) {
    case RunStatus::kOk:
      return "ok";
    case RunStatus::kDeadlock:
      return "deadlock";
    case RunStatus::kStepBound:
      return "step bound exceeded";
    case RunStatus::kFailure:
      return "failure";
  }
  return "?";
}

Scheduler::Scheduler(Options options) : options_(options), previous_(tls_scheduler) {
  if (options_.stack_size == 0) options_.stack_size = kDefaultStack;
  tls_scheduler = this;
}

Scheduler::~Scheduler() {
  tearing_down_ = true;
  for (ThreadId id : std::vector<ThreadId>(live_)) {
    Thread& t = *threads_[id];
    if (!t.fiber || !t.fiber->started()) continue;
    current_ = id;
    t.fiber->resume();  // unwinds (see the header), then finishes
    current_ = kNoThread;
    assert(t.fiber->finished());
  }
  threads_.clear();
  tls_scheduler = previous_;
}

ThreadId Scheduler::spawn(std::string name, std::function<void()> body) {
  const auto id = ThreadId(threads_.size());
  auto t = std::make_unique<Thread>();
  t->id = id;
  t->name = std::move(name);
  t->body = std::move(body);
  threads_.push_back(std::move(t));
  live_.push_back(id);  // ids increase, so live_ stays sorted
  point(Point::kSpawn);
  return id;
}

bool Scheduler::collect_runnable() {
  runnable_.clear();
  for (ThreadId id : live_)
    if (threads_[id]->state == RunState::kRunnable) runnable_.push_back(id);
  return !runnable_.empty();
}

bool Scheduler::step(Strategy& strategy) {
  if (failure_ || !collect_runnable()) return false;
  run_index(strategy.pick(runnable_, last_, steps()) % runnable_.size());
  return true;
}

bool Scheduler::step_k(uint32_t k) {
  if (failure_ || !collect_runnable()) return false;
  run_index(k % runnable_.size());
  return true;
}

void Scheduler::run_index(size_t index) {
  assert(!in_thread());
  decisions_.push_back(uint32_t(index));
  Thread& t = *threads_[runnable_[index]];
  if (!t.fiber) {
    const ThreadId id = t.id;
    t.fiber =
        std::make_unique<internal::Fiber>([this, id] { thread_main(id); }, options_.stack_size);
  }
  current_ = last_ = t.id;
  const bool finished = t.fiber->resume();
  current_ = kNoThread;
  if (finished) {
    t.fiber.reset();  // back to the pool
    live_.erase(std::find(live_.begin(), live_.end(), t.id));
  }
#ifndef NDEBUG
  if (auto e = check()) {
    std::fprintf(stderr, "nv::sched: invariant broken: %s\n", e->c_str());
    std::abort();
  }
#endif
}

void Scheduler::thread_main(ThreadId id) {
  Thread& t = *threads_[id];
  try {
    t.body();
  } catch (const Cancelled&) {
  } catch (const FailureSignal& f) {
    if (!failure_) failure_ = Failure{id, t.name, f.message};
  } catch (const std::exception& e) {
    if (!failure_) failure_ = Failure{id, t.name, std::string("exception: ") + e.what()};
  } catch (...) {
    if (!failure_) failure_ = Failure{id, t.name, "exception of unknown type"};
  }
  t.body = nullptr;
  t.state = RunState::kDone;
  ++done_;
  if (!tearing_down_) record(id, Point::kExit);
}

RunStatus Scheduler::run(Strategy& strategy, uint64_t max_steps) {
  for (uint64_t n = 0;;) {
    if (failure_) return RunStatus::kFailure;
    if (!collect_runnable()) {
      if (options_.idle_fires_timers && fire_next_timer()) continue;
      for (ThreadId id : live_)
        if (threads_[id]->state == RunState::kBlocked) return RunStatus::kDeadlock;
      return RunStatus::kOk;
    }
    if (n == max_steps) return RunStatus::kStepBound;
    ++n;
    run_index(strategy.pick(runnable_, last_, steps()) % runnable_.size());
  }
}

void Scheduler::switch_out(Point p) {
  Thread& t = *threads_[current_];
  t.suspended_at = p;
  t.fiber->suspend();
  if (tearing_down_ && !releasing(p)) throw Cancelled{};
}

void Scheduler::point(Point p) {
  if (current_ == kNoThread) return;  // the scheduler's context: atomic
  if (tearing_down_) {
    if (p == Point::kYield && std::uncaught_exceptions() == 0) throw Cancelled{};
    return;
  }
  record(current_, p);
  switch_out(p);
}

void Scheduler::block(WaitList& list, const char* what, const void* obj, bool spinning) {
  if (current_ == kNoThread)
    throw std::logic_error(std::string("nv::sched: ") + what +
                           " would block in the scheduler's own context");
  Thread& t = *threads_[current_];
  if (!spinning && t.local.spin_depth > 0)
    fail(std::string("sleeping in ") + what + " while holding a spinlock");
  if (!spinning && t.local.rcu_nesting > 0)
    fail(std::string("sleeping in ") + what + " inside an RCU read-side critical section");
  if (tearing_down_) {
    if (std::uncaught_exceptions() == 0) throw Cancelled{};
    std::fprintf(stderr, "nv::sched: thread %u '%s' must wait (%s) while unwinding at teardown\n",
                 t.id, t.name.c_str(), what);
    std::abort();
  }
  t.state = RunState::kBlocked;
  t.wait_what = what;
  t.wait_obj = obj;
  list.waiters_.push_back(t.id);
  record(current_, Point::kBlock);
  switch_out(Point::kBlock);
}

void Scheduler::wake_all(WaitList& list) {
  for (ThreadId id : list.waiters_) {
    Thread& t = *threads_[id];
    if (t.state != RunState::kBlocked) continue;
    t.state = RunState::kRunnable;
    t.wait_what = nullptr;
    t.wait_obj = nullptr;
  }
  list.waiters_.clear();
}

void Scheduler::wake_one(WaitList& list) {
  while (!list.waiters_.empty()) {
    Thread& t = *threads_[list.waiters_.front()];
    list.waiters_.erase(list.waiters_.begin());
    if (t.state != RunState::kBlocked) continue;
    t.state = RunState::kRunnable;
    t.wait_what = nullptr;
    t.wait_obj = nullptr;
    return;
  }
}

void Scheduler::fail(std::string message) {
  if (current_ == kNoThread) throw std::logic_error("nv::sched: " + message);
  throw FailureSignal{std::move(message)};
}

void Scheduler::report(std::string message) {
  if (failure_) return;
  if (current_ == kNoThread) {
    failure_ = Failure{kNoThread, "scheduler context", std::move(message)};
  } else {
    failure_ = Failure{current_, threads_[current_]->name, std::move(message)};
  }
}

ThreadState& Scheduler::self() {
  assert(in_thread());
  return threads_[current_]->local;
}

const ThreadState& Scheduler::state_of(ThreadId id) const {
  return threads_[id]->local;
}

void Scheduler::advance(uint64_t ms) {
  if (in_thread()) fail("advance() from a thread: the clock moves from the scheduler's context");
  const uint64_t target = now_ms_ + ms;
  while (!timers_.empty() && timers_.begin()->first.first <= target) fire_next_timer();
  now_ms_ = target;
}

Scheduler::TimerId Scheduler::add_timer(uint64_t delay_ms, std::string name,
                                        std::function<void()> fn) {
  const TimerId id = next_timer_seq_++;
  timers_.emplace(std::pair(now_ms_ + delay_ms, id), Timer{std::move(name), std::move(fn)});
  return id;
}

bool Scheduler::cancel_timer(TimerId id) {
  for (auto it = timers_.begin(); it != timers_.end(); ++it) {
    if (it->first.second == id) {
      timers_.erase(it);
      return true;
    }
  }
  return false;
}

bool Scheduler::fire_next_timer() {
  if (timers_.empty()) return false;
  auto node = timers_.extract(timers_.begin());
  now_ms_ = std::max(now_ms_, node.key().first);
  const ThreadId saved = current_;
  current_ = kNoThread;  // the timer thread is spawned by the clock, not a thread
  const ThreadId id = spawn("timer:" + node.mapped().name, std::move(node.mapped().fn));
  current_ = saved;
  record(id, Point::kTimer);
  return true;
}

std::string Scheduler::describe() const {
  std::ostringstream out;
  out << "scheduler: " << steps() << " steps, virtual time " << now_ms_ << " ms, " << timers_.size()
      << " timers pending\n";
  for (const auto& t : threads_) {
    out << "  thread " << t->id << " '" << t->name << "': ";
    switch (t->state) {
      case RunState::kRunnable:
        out << (t->fiber ? "runnable (at " + std::string(point_name(t->suspended_at)) + ")"
                         : "runnable (not started)");
        break;
      case RunState::kBlocked:
        out << "blocked on " << t->wait_what << " " << t->wait_obj;
        break;
      case RunState::kDone:
        out << "done";
        break;
    }
    if (t->local.spin_depth) out << ", holds " << t->local.spin_depth << " spinlock(s)";
    if (t->local.rcu_nesting) out << ", in RCU read-side section";
    out << "\n";
  }
  out << "schedule (ReplayStrategy decisions):";
  for (uint32_t k : decisions_) out << ' ' << k;
  out << "\n";
  if (failure_)
    out << "failure in thread " << failure_->thread << " '" << failure_->thread_name
        << "': " << failure_->message << "\n";
  return out.str();
}

std::optional<std::string> Scheduler::check() const {
  // O(live threads), not O(every thread ever spawned: a long tick spawns one
  // per timer that fires): live_ strictly increasing and not kDone, and as
  // many as the threads not done (each thread finishes once, counting done_),
  // is live_ being exactly the threads not done.
  if (std::adjacent_find(live_.begin(), live_.end(), std::greater_equal<>()) != live_.end())
    return "live threads out of order";
  for (ThreadId id : live_) {
    const Thread& t = *threads_[id];
    if (t.state == RunState::kDone) return "a finished thread is still live";
    if (t.state == RunState::kBlocked && !t.wait_what)
      return "thread " + std::to_string(id) + " blocked on nothing";
  }
  if (done_ + live_.size() != threads_.size()) return "a thread not done is not live";
  if (current_ != kNoThread) return "a thread is current outside a step";
  return std::nullopt;
}

void yield() {
  if (Scheduler* s = current_scheduler()) {
    s->point(Point::kYield);
    return;
  }
  std::this_thread::yield();
}

void fail(std::string message) {
  if (Scheduler* s = current_scheduler()) s->fail(std::move(message));
  std::fprintf(stderr, "nv::sched: %s\n", message.c_str());
  std::abort();
}

uint64_t now_ms() {
  if (Scheduler* s = current_scheduler()) return s->now_ms();
  return uint64_t(std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count());
}

}  // namespace nv::sched
