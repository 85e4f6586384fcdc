// Which sanitizer this translation unit is built with, and the few
// sanitizer calls netverify's scheduler makes, as no-ops when it is built
// without them. GCC defines __SANITIZE_ADDRESS__ / __SANITIZE_THREAD__;
// clang answers __has_feature(address_sanitizer / thread_sanitizer).
#pragma once

#if defined(__SANITIZE_ADDRESS__)
#define NV_SCHED_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NV_SCHED_ASAN 1
#endif
#endif

#if defined(__SANITIZE_THREAD__)
#define NV_SCHED_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define NV_SCHED_TSAN 1
#endif
#endif

#if defined(NV_SCHED_ASAN)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(NV_SCHED_TSAN)
#include <sanitizer/tsan_interface.h>
#endif

namespace nv::sched::internal {

// Happens-before edges TSan cannot see because they go through code it does
// not instrument (liburcu's grace periods and call_rcu thread): a
// tsan_release(p) happens before every later tsan_acquire(p).
inline void tsan_release([[maybe_unused]] void* addr) {
#if defined(NV_SCHED_TSAN)
  __tsan_release(addr);
#endif
}
inline void tsan_acquire([[maybe_unused]] void* addr) {
#if defined(NV_SCHED_TSAN)
  __tsan_acquire(addr);
#endif
}

}  // namespace nv::sched::internal
