// The dst (route cache entry) subsystem's part of the trace language, and
// what its engines share: the operations' field indices, the events, and the
// observable state of an entry, which is the same for every design of the
// garbage collector (when an unreferenced entry is destroyed is not part of
// it: the designs differ there, and properties on the impl check it).
//
//   dst alloc DST DEV     dst_alloc: a new entry DST pointing at device DEV,
//                         owned by the route cache (the owner's link is not
//                         a user reference)
//   dst hold DST REF      dst_hold on the cached entry DST: the reference REF
//   dst put REF           dst_release: drop the reference REF
//   dst free DST          dst_free: the owner drops DST (it leaves the cache,
//                         is obsolete, and is destroyed once unreferenced)
//
// Device events come from the netns engines (trace/netns/netns_ops.h,
// NetdevNotifier): `dev down` and the unregistration of a device (`dev del`,
// a dying namespace's devices) move every entry pointing at it to the
// blackhole device (dst_ifdown; blackhole_netdev, which never goes away, as
// today's kernel does where the 2007 seed used loopback).
//
// An entry's label is NAME/GEN, GEN counting the allocations of NAME (a name
// is reused once its entry was freed, while the old entry may still be
// referenced). Snapshot keys, in namespace "init": dst.LABEL.refs (user
// references), dst.LABEL.obsolete, dst.LABEL.blackhole, for every entry that
// is not yet destroyable (not freed, or still referenced); and the impl's
// self-checks, dst.overdue (unreferenced freed entries left undestroyed past
// the collector's deadline) and dst.lock-overwork (garbage-list lock
// sections that did more than constant work), which a correct impl keeps at
// 0 and the model never reports.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "trace/event.h"
#include "trace/registry.h"

namespace nv::dst {

inline constexpr std::string_view kScopeDst = "dst";        // a cached entry's name
inline constexpr std::string_view kScopeDstRef = "dstref";  // a reference taken by hold
inline constexpr std::string_view kBlackhole = "blackhole";

namespace fields {
inline constexpr size_t kAllocDst = 0, kAllocDev = 1;  // dst alloc DST DEV
inline constexpr size_t kHoldDst = 0, kHoldRef = 1;    // dst hold DST REF
inline constexpr size_t kPutRef = 0;                   // dst put REF
inline constexpr size_t kFreeDst = 0;                  // dst free DST
}  // namespace fields

// The namespace whose snapshot carries dst state (entries are global; their
// devices move between namespaces).
inline constexpr std::string_view kSnapshotNs = "init";

std::string entry_label(std::string_view name, uint32_t generation);

// What both engines report of one entry that is not yet destroyable.
struct EntryGauges {
  uint64_t refs = 0;       // user references
  uint64_t obsolete = 0;   // 1 once freed
  uint64_t blackhole = 0;  // 1 once a device event moved it off its device
  void add_to(trace::Snapshot& out, const std::string& label) const;
  uint64_t digest(std::string_view label) const;
};

// The impl's self-checks (0 in a correct impl; the model reports none).
struct CheckGauges {
  uint64_t overdue = 0;
  uint64_t lock_overwork = 0;
  void add_to(trace::Snapshot& out) const;
  uint64_t digest() const;  // 0 when both are 0
};

// "dst-alloc-failed": reason "no-device" (DEV is not registered) or
// "exists" (DST names a cached entry: go lines reordered).
trace::Event alloc_failed_event(std::string_view dst, std::string_view dev,
                                std::string_view reason);

void register_ops(trace::Registry& registry);

}  // namespace nv::dst
