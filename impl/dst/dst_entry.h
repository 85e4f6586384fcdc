// A route cache entry (struct dst_entry) and a device as the dst engine
// sees it (struct net_device's refcount), shared by the engine and every
// garbage-collector design.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "sched/refcount.h"

namespace nv::dst {

struct NetDevice {
  std::string name;
  // Undestroyed entries pointing at it (dev_hold / dev_put): relaxed, a
  // count read only where nothing runs (netdev_wait_allrefs, the checks).
  std::atomic<uint64_t> refcnt{0};
  bool registered = true;  // the engine's cache lock
};

// Invariants: in exactly one place (cached; on a collector's list or
// awaiting its grace period; destroyed); a destroyed entry holds no device
// reference and is never touched again but by the poison check.
struct DstEntry {
  std::string label;
  uint64_t seq = 0;  // allocation order
  // Moved by dst_ifdown: under the engine's cache lock while cached, under
  // the collector's lock once freed.
  NetDevice* dev = nullptr;
  sched::Refcount count{1};  // users + the owner's reference until dst_free
  bool obsolete = false;
  std::atomic<bool> destroyed{false};     // poisoned (relaxed: read by the poison check)
  DstEntry* next = nullptr;               // a collector's list
  DstEntry* prev = nullptr;               // the RCU design's doubly linked list
  uint64_t unreferenced_at = UINT64_MAX;  // the audit first saw it at 0
  bool overdue = false;                   // counted by the audit
};

// dst_ifdown: the entry lets go of `dev` for `to` (the blackhole device).
inline void dst_ifdown(DstEntry* e, NetDevice* dev, NetDevice* to) {
  if (e->dev != dev) return;
  e->dev = to;
  to->refcnt.fetch_add(1, std::memory_order_relaxed);
  dev->refcnt.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace nv::dst
