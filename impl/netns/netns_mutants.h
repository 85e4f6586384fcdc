// Planted bugs of the optimized namespace engine, each a kernel-style bug of
// net/core/net_namespace.c or the default device exit (trace/mutant_set.h).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "trace/mutant_set.h"

namespace nv::netns {

enum class NetnsMutant : uint8_t {
  kExitForward,
  kDataFreedEarly,
  kPhysDevDeleted,
  kPutNoCleanup,
  kMaybeGetDying,
  kRegisterRace,
};
inline constexpr size_t kNetnsMutantCount = 6;

using MutantSet = trace::MutantSet<NetnsMutant, kNetnsMutantCount>;
using NetnsMutantInfo = trace::MutantInfo<NetnsMutant>;

inline constexpr std::array<NetnsMutantInfo, kNetnsMutantCount> kNetnsMutants = {{
    {NetnsMutant::kExitForward, "netns-exit-forward",
     "a cleanup pass runs the pernet exits in list order instead of reverse, so device "
     "operations exit after the subsystems they depend on"},
    {NetnsMutant::kDataFreedEarly, "netns-data-freed-early",
     "an operation's per-namespace data is freed right after its own exits, before the later "
     "operations' exits ran (before the core freed net_generic data after every exit)"},
    {NetnsMutant::kPhysDevDeleted, "netns-phys-dev-deleted",
     "a dying namespace's physical devices are unregistered with the virtual ones instead of "
     "going back to init"},
    {NetnsMutant::kPutNoCleanup, "netns-put-no-cleanup",
     "the last put_net drops the count to 0 without queueing the namespace for cleanup: it "
     "and its pernet data are never freed"},
    {NetnsMutant::kMaybeGetDying, "netns-maybe-get-dying",
     "maybe_get_net takes a reference on a namespace whose count already reached 0 (an "
     "increment instead of refcount_inc_not_zero), resurrecting a dying namespace"},
    {NetnsMutant::kRegisterRace, "netns-register-race",
     "cleanup_net drops pernet_ops_rwsem between exits and unlinks its batch only at the "
     "end, so a registration racing it gives a dying namespace an init without an exit"},
}};

}  // namespace nv::netns
