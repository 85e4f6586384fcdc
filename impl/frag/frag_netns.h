// FragNetns: the reassembly state of one network namespace (the kernel's
// netns_ipv4.fqdir and netns_ipv6.fqdir plus the inet_peer base used by
// ip_frag_too_far): its sysctls, its counters, and per family the table of
// live queues, the memory they are charged, and the pools they come from.
//
// Locking (FragImpl's "Locking" comment has the whole order):
//   * fam[f].lock, the table lock, guards fam[f]: its table, mem, pools, every
//     queue in the table and its skbs, the family's counters (reqds[f],
//     oks[f], fails[f], timeout[f], hdr_errors[f]; overlaps and peer_rid
//     under the v4 lock), and readers of the family's sysctls;
//   * sysctls are written under both table locks (v4, then v6), so either
//     lock suffices to read them;
//   * name is under name_lock, a sched::LeafLock, no scheduling point
//     (relabel runs inside the cleanup pass, which must have none);
//   * unbound and dead are set by relabel and pre_exit (no lock, for the
//     same reason) and read under a table lock or the engine's timer lock,
//     hence atomic; each release store pairs with the acquire loads.
//
// Invariants (FragImpl::check_invariants verifies them):
//   * fam[f].queues holds exactly the live queues of family f whose ns is
//     this namespace, and they are exactly fam[f].queue_pool's live objects;
//     their skbs are exactly fam[f].skb_pool's;
//   * fam[f].mem is the sum over those queues of kQueueTruesize[f] plus the
//     queue's truesize (64-bit, never wraps) — except under the
//     frag-coalesce-head-truesize mutant, which leaks and only keeps it >=;
//   * a queue's timer is armed unless the namespace is dead (a timer that
//     fires in a dead namespace does nothing and is not re-armed);
//   * peer_rid holds one rid per v4 source address seen by a queue created
//     with max_dist != 0; entries are never erased while the namespace lives,
//     so queues keep pointers to them.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "impl/frag/frag_queue.h"
#include "impl/frag/hash_table.h"
#include "impl/frag/object_pool.h"
#include "impl/frag/skb.h"
#include "sched/leaf_lock.h"
#include "sched/spinlock.h"
#include "trace/frag/frag_ops.h"
#include "trace/netns/netns_ops.h"

namespace nv::frag {

struct FragNetns {
  struct PerFamily {
    mutable sched::SpinLock lock;
    IntrusiveHashTable<FragQueue> queues;
    uint64_t mem = 0;
    ObjectPool<FragQueue> queue_pool;
    ObjectPool<Skb> skb_pool;
  };

  netns::NetId id = 0;
  mutable sched::LeafLock name_lock;  // guards name
  std::string name;                   // its label (netns::label): the name while bound
  // Its name was unbound (relabel: by its cleanup pass, or taken by a new
  // namespace): a receive or sysctl write that found it by that name earlier
  // looks the name up again once it holds the table lock (frag_impl.h,
  // "Concurrency"). Set before dead, by the cleanup pass.
  std::atomic<bool> unbound{false};
  // pre_exit ran: its reassembly is closed (unbound already turns receives
  // away), its timers do nothing.
  std::atomic<bool> dead{false};
  Sysctls sysctls;
  Counters counters;
  PerFamily fam[2];  // indexed by Family
  // inet_peer rid per v4 source address (its 4 bytes, native order).
  std::unordered_map<uint32_t, uint32_t> peer_rid;

  std::string label() const {
    std::lock_guard guard(name_lock);
    return name;
  }
};

}  // namespace nv::frag
