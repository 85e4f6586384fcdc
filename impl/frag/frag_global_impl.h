// GlobalFragImpl: fragment reassembly as Linux built it before 4.17, the
// design that frags-rhashtable-per-netns.txt replaced ("--design
// frag=global"), checked against the same model as FragImpl (today's,
// "pernet").
//
// What differs from FragImpl, each as the old kernel had it:
//   * one hash table for every namespace (struct inet_frags' hash[]): a fixed
//     number of buckets, chains linked through the queues, the namespace part
//     of the key (inet_frag_find compared q->net); its hash is seeded with a
//     secret that a rebuild replaces, rehashing every queue at once with the
//     table's lock held (inet_frag_secret_rebuild: the seed's 25 ms softirq
//     stall every 5 s), on a timer on the engine's virtual clock;
//   * one lock for the table and every queue (inet_frags.lock, taken for
//     writing; the per-queue locks are not separate here): every receive,
//     tick, sysctl write and pernet call is one critical section;
//   * per namespace and family an LRU list of its queues and the memory they
//     are charged (netns_frags: lru_list, mem), for the evictor of
//     Policy::kEvict (inet_frag_evictor), which this design implements
//     beside today's refusal (trace/frag/frag_ops.h, Policy).
// Shared with FragImpl: the queue key and its mix (frag_queue.h), the run
// tree of skbs with the in-order fast path (run_tree.h), the timer heap
// (timer_heap.h), the object pools. Expiry, the numbered rules and the
// events are the model's (model/frag/frag_model.h).
//
// Concurrency: lock_ is a std::mutex, not a scheduling point, held for a
// whole operation, within which there is none (the frees through the defer
// engine, which has them, come after it is released). Under a scheduler an
// operation is thus one atomic step; the netns cleanup pass, which must have
// no scheduling point between relabel and pre_exit, takes it too. A
// namespace is looked up by its label under lock_, so exit frees its state
// at once: nobody holds it outside the lock. snapshot, digest, describe and
// the invariant check take lock_ as well.
//
// Invariants (find_invariant_violation checks them after every operation in
// debug builds):
//   * the table holds exactly the live queues, each in the bucket its key,
//     namespace and the current secret hash to; each is on exactly its
//     namespace's family's LRU list, and fam[f].queues counts them;
//   * fam[f].mem is the sum over those queues of kQueueTruesize[f] plus the
//     truesizes of their skbs; each queue's check() holds;
//   * a queue's timer is armed unless its namespace is dead.
#pragma once

#include <boost/intrusive/list.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "impl/frag/frag_queue.h"
#include "impl/frag/object_pool.h"
#include "impl/frag/queue_state.h"
#include "impl/frag/skb.h"
#include "impl/frag/timer_heap.h"
#include "trace/defer/defer_ops.h"
#include "trace/engine.h"
#include "trace/frag/frag_ops.h"
#include "trace/netns/netns_ops.h"

namespace nv::frag {

class GlobalFragImpl final : public trace::Engine, public netns::PernetOps {
 public:
  // INETFRAGS_HASHSZ: the fixed bucket count (the seed's 1024).
  static constexpr size_t kBuckets = 1024;
  // The rebuild timer's period on the virtual clock (the seed's 5 s).
  static constexpr uint64_t kRebuildIntervalMs = 5000;

  // Registers itself with the netns engine it builds on; a reassembled
  // datagram's fragments are freed through `defer` (null: at once).
  GlobalFragImpl(netns::PernetHost& host, defer::DeferHost* defer);
  // Standing on a netns impl of its own: for tests and benchmarks.
  GlobalFragImpl();
  ~GlobalFragImpl() override;
  GlobalFragImpl(const GlobalFragImpl&) = delete;
  GlobalFragImpl& operator=(const GlobalFragImpl&) = delete;

  // trace::Engine: "frag", "tick", "policy frag", "policy frag-reasm" and the sysctls
  // Sysctls::owns; every other op is ignored (GlobalFragImpl(): netns ops
  // go to its own netns impl).
  void apply(const trace::Op& op, std::vector<trace::Event>& out) override;
  void snapshot(trace::Snapshot& out) const override;
  void snapshot(std::string_view ns, trace::Snapshot& out) const override;
  uint64_t digest() const override;
  uint64_t digest(std::string_view ns) const override;
  std::string describe() const override;

  // One fragment with its f.len payload bytes, which the engine copies.
  void receive(const Fragment& f, const uint8_t* payload, std::vector<trace::Event>& out);
  // Advances the clock by ms: expires what falls due, then rebuilds the
  // table if the rebuild timer fell due meanwhile.
  void tick(uint64_t ms, std::vector<trace::Event>& out);
  // inet_frag_secret_rebuild: a new secret, every queue rehashed into its
  // new bucket, under the lock (the benchmark times it).
  void rebuild();
  void set_policy(Policy p);

  bool init(netns::NetId id, std::string_view label) override;
  void pre_exit(netns::NetId id) override;
  void exit(netns::NetId id) override;
  void exit_batch(std::span<const netns::NetId>) override {}
  void relabel(netns::NetId id, std::string_view label) override;

  size_t queues() const;
  std::optional<std::string> find_invariant_violation() const;

 private:
  struct Netns;
  // A queue: its reassembly state, and how the global table finds and
  // times it.
  struct Queue : QueueState {
    QueueKey key;
    Netns* ns = nullptr;
    Family family = Family::kV4;
    Queue* chain_next = nullptr;  // the bucket's chain (the kernel's hlist)
    boost::intrusive::list_member_hook<> lru_hook;
    TimerHook timer;
  };
  using Lru = boost::intrusive::list<
      Queue,
      boost::intrusive::member_hook<Queue, boost::intrusive::list_member_hook<>, &Queue::lru_hook>>;
  struct Netns {
    netns::NetId id = 0;
    std::string label;
    bool dead = false;
    Sysctls sysctls;
    Counters counters;
    struct PerFamily {
      uint64_t mem = 0;
      size_t queues = 0;
      Lru lru;  // least recently used first
    } fam[2];
    std::map<trace::Addr, uint32_t> peer_rid;  // inet_peer rid per v4 source
  };
  using Timers = TimerHeap<Queue, &Queue::timer>;
  // A skb received on another CPU than the one the datagram is consumed on:
  // freed through the defer engine once lock_ is released.
  struct RemoteFree {
    std::string name;
    uint32_t alloc_cpu;
    uint32_t rx_cpu;  // as reassembly read it, once
  };

  size_t bucket_of(const QueueKey& key, netns::NetId net) const;
  Netns* find(std::string_view label) const;  // lock_ held
  Queue* lookup(const Netns& ns, const QueueKey& key) const;
  Queue* create(Netns& ns, const Fragment& f, const QueueKey& key);
  void unlink(Queue* q);   // inet_frag_kill: off the table, the LRU and the timer heap
  void destroy(Queue* q);  // inet_frag_destroy: skbs and queue freed, memory released
  // Rules 3, 7 and 9 and header_dropped: a fragment dropped with a
  // Parameter Problem, counted in InHdrErrors.
  static void refuse(Counters& c, const Fragment& f, const uint8_t* payload,
                     std::string_view reason, IcmpError error, std::vector<trace::Event>& out);
  void discard(Queue* q, std::string_view reason, std::vector<trace::Event>& out);
  void evict(Netns& ns, Family family, std::vector<trace::Event>& out);
  void enqueue(Netns& ns, Queue* q, const Fragment& f, const uint8_t* payload, uint32_t end,
               std::vector<trace::Event>& out, std::vector<RemoteFree>& remote);
  void reassemble(Netns& ns, Queue* q, const Fragment& f, std::vector<trace::Event>& out,
                  std::vector<RemoteFree>& remote);
  void rebuild_locked();
  static void snapshot(const Netns& ns, trace::Snapshot& out);
  static uint64_t digest(const Netns& ns);
  void debug_check() const;

  std::unique_ptr<trace::Engine> own_netns_;  // GlobalFragImpl(): the netns impl it stands on
  netns::PernetHost* host_;
  defer::DeferHost* defer_ = nullptr;
  mutable std::mutex lock_;  // guards everything below
  std::unordered_map<netns::NetId, std::unique_ptr<Netns>> ns_;
  std::unordered_map<std::string, Netns*> by_label_;
  std::vector<Queue*> buckets_ = std::vector<Queue*>(kBuckets, nullptr);
  uint64_t secret_ = 0;
  uint64_t rebuilds_ = 0;  // how many secrets came before this one
  Timers timers_;
  uint64_t now_ms_ = 0;
  uint64_t next_seq_ = 0;  // creation order of queues, global as the model's
  uint64_t next_rebuild_ms_ = kRebuildIntervalMs;
  Policy policy_ = Policy::kRefuse;
  Reasm reasm_ = Reasm::kCoalesce;  // "policy frag-reasm"
  ObjectPool<Queue> queue_pool_;
  ObjectPool<Skb> skb_pool_;
};

}  // namespace nv::frag
