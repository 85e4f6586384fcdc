// FragQueue: one datagram being reassembled (the kernel's struct ipq /
// frag_queue around struct inet_frag_queue), and QueueKey, what identifies it.
//
// A queue is at once an element of its namespace's IntrusiveHashTable (key,
// hash, hash_next), a timer of the engine's TimerHeap (timer), and the owner
// of a RunTree of skbs. Its lifecycle follows the kernel's verbs: created by
// the engine's find-or-create (inet_frag_find), killed (unhashed, its timer
// cancelled: inet_frag_kill) and destroyed (its skbs and itself freed:
// inet_frag_destroy). FragImpl does all of that; this header only defines the
// state and its invariants.
//
// Invariants (check() verifies them, given the queue is live in an engine):
//   * QueueState's (queue_state.h), the reassembly state's own;
//   * hash is queue_hash(key);
//   * the timer is armed unless the namespace is dead; has_peer implies peer_rid points at the rid
//     counter of key's source address in the queue's namespace, and a v4 key.
// Deliberately NOT an invariant: "no live queue is complete()". The last
// fragment sets last_in and len before it is inserted; if it then turns out
// to be a duplicate it is dropped and the queue stays, complete, until it
// times out. ip_frag_queue does the same (the completeness check only
// follows a successful inet_frag_queue_insert), and so does the model.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "impl/frag/queue_state.h"
#include "impl/frag/timer_heap.h"
#include "trace/frag/frag_ops.h"

namespace nv::frag {

struct FragNetns;

// v4: (src, dst, id, protocol); v6: (src, dst, id), plus the next header
// only under the frag-v6-key-nexthdr mutant. Addresses are stored as their
// 16 bytes (v4 in the first 4) packed into words, which makes equality and
// hashing a handful of word operations.
struct QueueKey {
  uint64_t words[5] = {};  // src[0..7], src[8..15], dst[0..7], dst[8..15], id | proto << 32

  // The key of f's queue (inline: every receive computes one).
  static QueueKey of(const Fragment& f, bool with_proto) {
    QueueKey k;
    std::memcpy(&k.words[0], f.src.bytes.data(), 16);
    std::memcpy(&k.words[2], f.dst.bytes.data(), 16);
    k.words[4] = uint64_t(f.id) | (with_proto ? uint64_t(f.proto) << 32 : 0);
    return k;
  }
  uint32_t id() const { return uint32_t(words[4]); }
  uint8_t proto() const { return uint8_t(words[4] >> 32); }
  trace::Addr src(Family family) const;
  trace::Addr dst(Family family) const;
  friend bool operator==(const QueueKey& a, const QueueKey& b) {
    uint64_t diff = 0;
    for (int i = 0; i < 5; ++i) diff |= a.words[i] ^ b.words[i];
    return diff == 0;
  }
};

// A deterministic mix of the key's words (wyhash's folded 128-bit
// multiplications): every output bit depends on every input bit, so the low
// bits the hash table uses are well spread. Unseeded, unlike the kernel's
// jhash with a random key, because runs must be reproducible.
inline uint64_t queue_hash(const QueueKey& key) {
  // wyhash's "mum" (the 128-bit product folded to 64 bits) with its secrets;
  // the first two products are independent and run in parallel.
  auto mum = [](uint64_t a, uint64_t b) {
    const unsigned __int128 p = static_cast<unsigned __int128>(a) * b;
    return uint64_t(p) ^ uint64_t(p >> 64);
  };
  constexpr uint64_t s0 = 0xa0761d6478bd642full, s1 = 0xe7037ed1a0b428dbull,
                     s2 = 0x8ebc6af09c88c6e3ull, s3 = 0x589965cc75374cc3ull;
  const uint64_t* w = key.words;
  const uint64_t h = mum(w[0] ^ s0, w[1] ^ s1) ^ mum(w[2] ^ s2, w[3] ^ s3);
  return mum(h ^ s1, w[4] ^ s0);
}

// What an ICMP error is about: a fragment and its payload as queued.
struct IcmpSubject {
  Fragment about;
  std::span<const uint8_t> payload;
};
// ip_expire, ip6_frag_expire: an expiring queue (either design's) sends
// Time Exceeded about its first fragment, if that arrived (RFC 792; RFC
// 8200 4.5). The subject views `ns` and the queue's first skb: it lives no
// longer than either.
std::optional<IcmpSubject> expiry_subject(std::string_view ns, Family family, const QueueKey& key,
                                          const QueueState& q);

struct FragQueue : QueueState {
  using Key = QueueKey;

  // Identity and hash-table linkage.
  QueueKey key;
  uint64_t hash = 0;
  FragQueue* hash_next = nullptr;
  FragNetns* ns = nullptr;
  Family family = Family::kV4;

  // Expiry (inet_frag_queue: timer), ordered by (deadline, creation seq).
  TimerHook timer;

  std::optional<std::string> check() const;
};

}  // namespace nv::frag
