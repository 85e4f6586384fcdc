#include "sched/fiber.h"

#include <sys/mman.h>
#include <unistd.h>

#include <boost/context/detail/fcontext.hpp>
#include <cassert>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <utility>
#include <vector>

#include "sched/internal/sanitizers.h"

namespace nv::sched::internal {
namespace {

namespace bcd = boost::context::detail;

size_t page_size() {
  static const size_t size = size_t(sysconf(_SC_PAGESIZE));
  return size;
}

// The pool: stacks of every size handed back, up to kMaxPooled of them.
constexpr size_t kMaxPooled = 256;
std::mutex pool_mu;
std::vector<Stack>& pool() {  // guarded by pool_mu
  static std::vector<Stack> stacks;
  return stacks;
}

}  // namespace

Stack StackPool::acquire(size_t size) {
  const size_t page = page_size();
  size = (size + page - 1) / page * page;
  {
    std::lock_guard lock(pool_mu);
    auto& free = pool();
    for (size_t i = free.size(); i-- > 0;) {
      if (free[i].size == size) {
        Stack s = free[i];
        free[i] = free.back();
        free.pop_back();
        return s;
      }
    }
  }
  void* mem =
      mmap(nullptr, size + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    std::perror("nv::sched: mmap of a fiber stack");
    std::abort();
  }
  if (mprotect(mem, page, PROT_NONE) != 0) {
    std::perror("nv::sched: mprotect of a fiber stack's guard page");
    std::abort();
  }
  return {static_cast<char*>(mem) + page, size};
}

void StackPool::release(Stack s) {
#if defined(NV_SCHED_ASAN)
  // Frames that never returned (the fiber's entry frame) leave redzones.
  ASAN_UNPOISON_MEMORY_REGION(s.base, s.size);
#endif
  {
    std::lock_guard lock(pool_mu);
    if (pool().size() < kMaxPooled) {
      pool().push_back(s);
      return;
    }
  }
  munmap(static_cast<char*>(s.base) - page_size(), s.size + page_size());
}

Fiber::Fiber(std::function<void()> body, size_t stack_size)
    : body_(std::move(body)), stack_(StackPool::acquire(stack_size)) {
  ctx_ = bcd::make_fcontext(static_cast<char*>(stack_.base) + stack_.size, stack_.size,
                            [](bcd::transfer_t t) { entry(&t); });
#if defined(NV_SCHED_TSAN)
  tsan_fiber_ = __tsan_create_fiber(0);
#endif
}

Fiber::~Fiber() {
  if (started_ && !finished_) {
    std::fputs("nv::sched: destroying a suspended fiber\n", stderr);
    std::abort();
  }
#if defined(NV_SCHED_TSAN)
  __tsan_destroy_fiber(tsan_fiber_);
#endif
  StackPool::release(stack_);
}

void Fiber::entry(void* transfer) {
  auto* t = static_cast<bcd::transfer_t*>(transfer);
  Fiber* self = static_cast<Fiber*>(t->data);
  self->caller_ = t->fctx;
#if defined(NV_SCHED_ASAN)
  __sanitizer_finish_switch_fiber(nullptr, &self->caller_bottom_, &self->caller_size_);
#endif
  self->body_();
  self->body_ = nullptr;  // the captures die on the fiber, like its other locals
  self->finished_ = true;
  self->switch_out(true);
  __builtin_unreachable();
}

bool Fiber::resume() {
  assert(!finished_);
  started_ = true;
#if defined(NV_SCHED_ASAN)
  void* fake_stack = nullptr;
  __sanitizer_start_switch_fiber(&fake_stack, stack_.base, stack_.size);
#endif
#if defined(NV_SCHED_TSAN)
  tsan_caller_ = __tsan_get_current_fiber();
  __tsan_switch_to_fiber(tsan_fiber_, 0);
#endif
  const bcd::transfer_t t = bcd::jump_fcontext(ctx_, this);
  ctx_ = t.fctx;
#if defined(NV_SCHED_ASAN)
  __sanitizer_finish_switch_fiber(fake_stack, nullptr, nullptr);
#endif
  return finished_;
}

void Fiber::switch_out(bool final) {
#if defined(NV_SCHED_ASAN)
  void* fake_stack = nullptr;
  // A null save slot on the last switch lets ASan free this fiber's fake stack.
  __sanitizer_start_switch_fiber(final ? nullptr : &fake_stack, caller_bottom_, caller_size_);
#else
  (void) final;
#endif
#if defined(NV_SCHED_TSAN)
  __tsan_switch_to_fiber(tsan_caller_, 0);
#endif
  const bcd::transfer_t t = bcd::jump_fcontext(caller_, nullptr);
  caller_ = t.fctx;
#if defined(NV_SCHED_ASAN)
  __sanitizer_finish_switch_fiber(fake_stack, &caller_bottom_, &caller_size_);
#endif
}

}  // namespace nv::sched::internal
