// FragImpl: the optimized engine of IPv4/IPv6 fragment reassembly, built the
// way Linux builds it (net/ipv4/inet_fragment.c, ip_fragment.c,
// net/ipv6/reassembly.c) and required to behave exactly like the reference
// model (model/frag/frag_model.h): same events in the same order, same
// counters and gauges, after every operation.
//
// Data structures, each in its own header with its invariants:
//   * per namespace and family, an IntrusiveHashTable of FragQueues and the
//     ObjectPools they and their skbs come from, so the steady state
//     allocates nothing per fragment (hash_table.h, frag_queue.h,
//     frag_netns.h, object_pool.h);
//   * per queue, a RunTree of skbs with the kernel's O(1) in-order fast path
//     and O(log n) dup/overlap lookup (run_tree.h, skb.h);
//   * one TimerHeap of every queue's expiry, global to the engine so that
//     ties across namespaces break by creation order as in the model
//     (timer_heap.h).
// Payloads are never copied while queued; reassembly copies each byte once,
// into a buffer of the calling thread's.
//
// Two ways in:
//   * trace::Engine::apply, for the differential runner: it materializes each
//     frag op's payload (fill_payload) into a buffer the skb owns, and turns
//     what the engine reports into trace events (computing FNV-1a of each
//     delivered datagram);
//   * the fast API (receive, tick, write_sysctl), for
//     benchmarks: receive() does NOT copy `payload`; the caller keeps those
//     f.len bytes alive and unchanged until the engine is done with them:
//     until the sink reports that fragment dropped, or its datagram delivered
//     or killed (and the ICMP error that follows, if any), or the namespace
//     is deleted, or the engine is destroyed.
//     Nothing is hashed on this path; the sink sees the reassembled bytes.
// Mutants (frag_mutants.h) are fixed at construction.
//
// Concurrency: receives, ticks, sysctl writes and the namespace's pernet
// calls may run on several threads at once (the runner's "go" lines; the
// netns worker runs pre_exit and exit). Receives and ticks run in softirq
// context, under rcu_read_lock (apply takes it under a scheduler), so a
// namespace's cleanup pass, whose grace period separates pre_exit from exit,
// never dismantles a table a receive is still in. The pass unbinds a
// namespace's name, relabels it and runs pre_exit with no scheduling point
// in between (impl/netns), so relabel and pre_exit take no lock that is one:
// the label is under the namespace's name_lock, unbound and dead are atomic.
// A receive or sysctl write that finds its namespace unbound once it holds
// the table lock looked it up before the name went (to its cleanup pass, or
// to a new namespace): it looks the name up again, as the model, in which a
// frag op names the namespace bound at its one step, would have it. Locking, outermost
// first:
//   1. ns_lock_: ns_, the namespaces by id (init inserts, exit erases);
//      held only to find one, never with another lock but by the
//      invariant check, which takes every lock in this order. A std::mutex,
//      not a scheduling point: relabel and pre_exit take it inside the
//      cleanup pass.
//   2. A namespace family's table lock (FragNetns::PerFamily::lock): its
//      table, queues, skbs, memory, counters (frag_netns.h). A receive holds
//      it from rule 1's count to the reassembly copy: the memory-limit check
//      and the charge of the fragment it admits are one critical section, so
//      concurrent receives are linearizable against the model's exact limit
//      (the kernel's check is a racy read; its limit is soft). Queues have no
//      lock of their own: the table lock is the kernel's bucket lock and
//      q->lock in one. A tick takes the table locks of every queue it
//      expires, in (namespace id, family) order, before it moves the clock;
//      nobody else holds two.
//   3. timer_lock_ (innermost): timers_, now_ms_, next_seq_. A
//      sched::LeafLock, not a scheduling point: no section under it contains
//      one, so under a scheduler no thread ever finds it held, and a
//      receive's section under the table lock stays one step
//      (linearizable). A queue's timer is armed, re-armed and cancelled
//      under its table lock and this one; the tick pops it under this one
//      while holding its table lock, except in a dead namespace, whose
//      queues it pops and leaves alone (their exit frees them).
// A tick is thus atomic with respect to every receive that could see its
// effects: it moves the clock and pops the due timers in one critical
// section, with every table holding a due queue locked (ip_expire runs under
// q->lock). Exit frees a namespace's state after a grace period (call_rcu),
// since a tick may have found one of its queues' timers before the table was
// dismantled (the 2019 race; frag-expire-dead). snapshot, digest, describe
// and the invariant check read without locks: call them when nothing runs.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "impl/frag/deliver_sink.h"
#include "impl/frag/frag_mutants.h"
#include "impl/frag/frag_netns.h"
#include "impl/frag/frag_queue.h"
#include "impl/frag/skb.h"
#include "impl/frag/timer_heap.h"
#include "sched/leaf_lock.h"
#include "sched/spinlock.h"
#include "trace/defer/defer_ops.h"
#include "trace/engine.h"
#include "trace/frag/frag_ops.h"

namespace nv::frag {

class FragImpl final : public trace::Engine, public netns::PernetOps {
 public:
  // Registers itself with the netns engine it builds on; a reassembled
  // datagram's fragments are freed through `defer` (null: at once).
  FragImpl(netns::PernetHost& host, MutantSet mutants, defer::DeferHost* defer = nullptr);
  // Standing on a netns impl of its own, to which it hands the netns ops
  // (whose events it drops): for tests and benchmarks.
  explicit FragImpl(MutantSet mutants = {});
  ~FragImpl() override;
  FragImpl(const FragImpl&) = delete;
  FragImpl& operator=(const FragImpl&) = delete;

  // trace::Engine: "frag", "tick", "policy frag-reasm" and the sysctls
  // Sysctls::owns; every other op is ignored (FragImpl(): netns ops go to
  // its own netns impl).
  void apply(const trace::Op& op, std::vector<trace::Event>& out) override;
  void snapshot(trace::Snapshot& out) const override;
  void snapshot(std::string_view ns, trace::Snapshot& out) const override;
  uint64_t digest() const override;
  uint64_t digest(std::string_view ns) const override;
  std::string describe() const override;

  // Fast API. f.ns must name a live namespace; f.data is ignored: the f.len
  // payload bytes are at `payload` (see the lifetime rule above).
  void receive(const Fragment& f, const uint8_t* payload, DeliverSink& sink);
  // Advances the clock by ms and expires every queue that falls due.
  void tick(uint64_t ms, DeliverSink& sink);
  // netns::PernetOps. exit destroys every queue of the namespace: no
  // counters, no events (fqdir_exit); its state is freed a grace period
  // later.
  bool init(netns::NetId id, std::string_view label) override;
  void pre_exit(netns::NetId id) override;
  void exit(netns::NetId id) override;
  void exit_batch(std::span<const netns::NetId>) override {}
  void relabel(netns::NetId id, std::string_view label) override;
  // A write of one of Sysctls::owns' keys, validated as the kernel does:
  // false (nothing changed) when the kernel refuses it. Other keys: true.
  bool write_sysctl(std::string_view ns, std::string_view key, uint64_t value);

  uint64_t now_ms() const { return now_ms_; }
  const MutantSet& mutants() const { return mutants_; }

  // The first broken invariant of any structure, if any. O(state). Only
  // while nothing runs.
  std::optional<std::string> find_invariant_violation() const;
  // Aborts with the violation. Called after every operation in debug builds.
  void check_invariants() const;

 private:
  using Timers = TimerHeap<FragQueue, &FragQueue::timer>;
  using Table = FragNetns::PerFamily;
  // The table lock a receive holds, released at the end of its scope unless
  // unlock() released it first: std::unique_lock without the ownership checks
  // whose out-of-line unlock() cost every fragment a call.
  class TableLock {
   public:
    TableLock() = default;
    TableLock(const TableLock&) = delete;
    TableLock& operator=(const TableLock&) = delete;
    ~TableLock() {
      if (held_) held_->unlock();
    }
    void lock(sched::SpinLock& lock) {
      lock.lock();
      held_ = &lock;
    }
    void unlock() {
      held_->unlock();
      held_ = nullptr;
    }

   private:
    sched::SpinLock* held_ = nullptr;
  };
  // The namespace a name is bound to, or nullptr: the calling thread's cached
  // lookup if it is current, else lookup().
  FragNetns* netns(std::string_view name);
  // netns() past the cache: takes ns_lock_, caches what it finds for the
  // engine's namespaces as of `generation`.
  FragNetns* lookup(std::string_view name, uint64_t generation);
  // That namespace with `table` (its family's lock) held, looked up again
  // while the one found is unbound (see "Concurrency"); nullptr, nothing
  // held, when the name is bound to none.
  FragNetns* lock_netns(std::string_view name, Family family, TableLock& table);
  static uint64_t digest(const FragNetns& ns);
  static void snapshot(const FragNetns& ns, trace::Snapshot& out);
  // The state of the namespace bound to `name`, if it has any (ns_lock_ held
  // or nothing running).
  const FragNetns* find(std::string_view name) const;
  void receive_owned(const Fragment& f, const uint8_t* payload, std::unique_ptr<uint8_t[]> owned,
                     DeliverSink& sink);
  // The rest take the queue's table lock held.
  FragQueue* create_queue(FragNetns& ns, const Fragment& f, const QueueKey& key, uint64_t hash);
  // ip_frag_reinit: frees the queue's skbs, clears it, re-arms its timer.
  void reinit(FragNetns& ns, FragQueue* q);
  // inet_frag_kill: unhashes the queue and cancels its timer if armed.
  void kill(FragQueue* q);
  // inet_frag_destroy: frees the queue's skbs and the queue, releasing the
  // memory they are charged (kQueueTruesize plus q->truesize).
  void destroy(FragQueue* q);
  // Rules 3, 7 and 9 and header_dropped: a fragment dropped with a
  // Parameter Problem, counted in InHdrErrors.
  static void refuse(Counters& c, const Fragment& f, const uint8_t* payload,
                     std::string_view reason, IcmpError error, DeliverSink& sink);
  // What header_dropped drops, with its Parameter Problem if any.
  static void drop_header(Counters& c, const Fragment& f, const uint8_t* payload,
                          const HeaderDrop& h, DeliverSink& sink);
  // Counts a failure, kills and destroys the queue, reports it.
  void discard(FragNetns& ns, FragQueue* q, std::string_view reason, DeliverSink& sink);
  // Copies the datagram out and destroys the queue under the table lock,
  // then unlocks it and delivers.
  void reassemble(FragNetns& ns, FragQueue* q, const Fragment& f, TableLock& table,
                  DeliverSink& sink);
  // Whether the timer of q, found due, expires it (not in a dead namespace).
  bool expires(const FragQueue& q) const;
  // tick() without the debug check.
  void advance(uint64_t ms, DeliverSink& sink);
  // fqdir_exit's part here: every queue destroyed, uncounted.
  void dismantle(FragNetns& ns);
  void debug_check() const;

  std::unique_ptr<trace::Engine> own_netns_;  // FragImpl(): the netns impl it stands on
  netns::PernetHost* host_;
  defer::DeferHost* defer_ = nullptr;
  MutantSet mutants_;
  // "policy frag-reasm": written by apply, read by reassembly on any thread
  // (relaxed: a policy line orders nothing else).
  std::atomic<Reasm> reasm_{Reasm::kCoalesce};
  // Which engine a thread's cached lookup (netns()) belongs to: unique per
  // engine in the process, unlike its address.
  const uint64_t serial_;
  // Bumped by every change of which name finds which state (init, relabel,
  // exit): a thread's cached lookup of an older generation is not used.
  std::atomic<uint64_t> generation_{0};
  mutable std::mutex ns_lock_;  // guards ns_
  std::unordered_map<netns::NetId, std::unique_ptr<FragNetns>> ns_;
  mutable sched::LeafLock timer_lock_;  // guards timers_, now_ms_, next_seq_
  Timers timers_;
  uint64_t now_ms_ = 0;
  uint64_t next_seq_ = 0;  // creation order of queues, global to the engine
  // A namespace's state was retired with liburcu's call_rcu (production):
  // the destructor waits for its callbacks.
  std::atomic<bool> retired_in_production_{false};
};

}  // namespace nv::frag
