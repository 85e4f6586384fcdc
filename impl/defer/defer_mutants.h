// Planted bugs of the optimized deferred-free engine, each a plausible
// kernel-style bug of skb_attempt_defer_free / skb_defer_free_flush
// (trace/mutant_set.h).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "trace/mutant_set.h"

namespace nv::defer {

enum class DeferMutant : uint8_t {
  kFlushRace,
  kKickEveryDefer,
  kNoLengthCheck,
};
inline constexpr size_t kDeferMutantCount = 3;

using MutantSet = trace::MutantSet<DeferMutant, kDeferMutantCount>;
using DeferMutantInfo = trace::MutantInfo<DeferMutant>;

inline constexpr std::array<DeferMutantInfo, kDeferMutantCount> kDeferMutants = {{
    {DeferMutant::kFlushRace, "defer-flush-race",
     "skb_defer_free_flush frees the list it read under the lock before detaching it, and "
     "detaches it only if no free pushed meanwhile: an skb pushed during the walk keeps the "
     "freed chain linked behind it, and the next drain frees that chain again (double free)"},
    {DeferMutant::kKickEveryDefer, "defer-kick-every-defer",
     "every deferral kicks the owner (an IPI per free while none is pending) instead of one "
     "kick when the list reaches half of skb_defer_max"},
    {DeferMutant::kNoLengthCheck, "defer-no-length-check",
     "skb_attempt_defer_free skips the defer_count >= skb_defer_max check: a CPU that does not "
     "run rx collects remote frees without bound"},
}};

}  // namespace nv::defer
