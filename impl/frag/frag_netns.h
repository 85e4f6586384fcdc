// FragNetns: the reassembly state of one network namespace (the kernel's
// netns_ipv4.fqdir and netns_ipv6.fqdir plus the inet_peer base used by
// ip_frag_too_far): its sysctls, its counters, and per family the table of
// live queues and the memory they are charged.
//
// Invariants (FragImpl::check_invariants verifies them):
//   * fam[f].queues holds exactly the live queues of family f whose ns is
//     this namespace;
//   * fam[f].mem is the sum over those queues of kQueueTruesize[f] plus the
//     queue's truesize (64-bit, never wraps) — except under the
//     frag-coalesce-head-truesize mutant, which leaks and only keeps it >=;
//   * a queue's timer is armed unless the namespace is dead (a timer that
//     fires in a dead namespace does nothing and is not re-armed);
//   * peer_rid holds one rid per v4 source address seen by a queue created
//     with max_dist != 0; entries are never erased while the namespace lives,
//     so queues keep pointers to them.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

#include "impl/frag/frag_queue.h"
#include "impl/frag/hash_table.h"
#include "trace/frag/frag_ops.h"
#include "trace/netns/netns_ops.h"

namespace nv::frag {

struct FragNetns {
  struct PerFamily {
    IntrusiveHashTable<FragQueue> queues;
    uint64_t mem = 0;
  };

  netns::NetId id = 0;
  std::string name;   // its label (netns::label): the name while bound
  bool dead = false;  // pre_exit ran: its memory limit is closed, its timers do nothing
  Sysctls sysctls;
  Counters counters;
  PerFamily fam[2];  // indexed by Family
  // inet_peer rid per v4 source address (its 4 bytes, native order).
  std::unordered_map<uint32_t, uint32_t> peer_rid;
};

}  // namespace nv::frag
