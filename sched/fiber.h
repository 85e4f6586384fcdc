// Fiber: a user-space thread of control on its own stack, switched with
// Boost.Context's fcontext primitives (make_fcontext / jump_fcontext), for
// the scheduler's test mode. A Fiber is resumed from some context (the
// scheduler's) and runs until it suspends itself back to that context or its
// body returns; it never switches to another fiber directly.
//
// Stacks come from a process-wide pool (StackPool): mmap'd with a PROT_NONE
// guard page below the usable area, so an overflow faults instead of
// corrupting a neighbour, and reused across fibers, schedulers and OS threads.
//
// Sanitizers: under ASan every switch is announced with
// __sanitizer_start_switch_fiber / __sanitizer_finish_switch_fiber, so ASan
// knows which stack is live (and unpoisons a stack before it is reused);
// under TSan each Fiber has its own TSan fiber context
// (__tsan_create_fiber / __tsan_switch_to_fiber / __tsan_destroy_fiber), and
// a switch is a synchronizing hand-off (flags 0): everything before it
// happens before everything after it.
//
// A Fiber is not thread-safe: one OS thread resumes it at a time (it may be a
// different OS thread from one resume to the next only if the caller
// synchronizes the hand-off).
#pragma once

#include <cstddef>
#include <functional>

namespace nv::sched::internal {

// A stack: [base, base + size) usable, the guard page just below base.
struct Stack {
  void* base = nullptr;
  size_t size = 0;
};

// Memory ordering: free_ is guarded by a std::mutex (the pool is shared by
// every OS thread); acquire/release are the only entry points.
class StackPool {
 public:
  // A stack of at least `size` bytes (rounded up to whole pages).
  static Stack acquire(size_t size);
  // Returns s to the pool (or unmaps it when the pool is full).
  static void release(Stack s);
};

class Fiber {
 public:
  // The fiber does not run until the first resume(); body must not throw
  // (an exception escaping it terminates the process).
  Fiber(std::function<void()> body, size_t stack_size);
  Fiber(const Fiber&) = delete;
  Fiber& operator=(const Fiber&) = delete;
  // The fiber has finished or was never resumed: a suspended fiber's stack
  // still holds live frames, and destroying it would skip their destructors.
  ~Fiber();

  // From outside the fiber: runs it until it suspends or finishes; true when
  // it has finished.
  bool resume();
  // From inside the fiber: back to the context that resumed it.
  void suspend() { switch_out(false); }

  bool finished() const { return finished_; }
  bool started() const { return started_; }

 private:
  static void entry(void* transfer);
  void switch_out(bool final);

  std::function<void()> body_;
  Stack stack_;
  void* ctx_ = nullptr;     // the fiber's suspended context
  void* caller_ = nullptr;  // the resumer's context, while the fiber runs
  bool started_ = false;
  bool finished_ = false;
  // ASan: the resumer's stack, learnt from __sanitizer_finish_switch_fiber.
  const void* caller_bottom_ = nullptr;
  size_t caller_size_ = 0;
  // TSan: this fiber's context and the resumer's.
  void* tsan_fiber_ = nullptr;
  void* tsan_caller_ = nullptr;
};

}  // namespace nv::sched::internal
