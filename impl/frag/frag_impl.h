// FragImpl: the optimized engine of IPv4/IPv6 fragment reassembly, built the
// way Linux builds it (net/ipv4/inet_fragment.c, ip_fragment.c,
// net/ipv6/reassembly.c) and required to behave exactly like the reference
// model (model/frag/frag_model.h): same events in the same order, same
// counters and gauges, after every operation.
//
// Data structures, each in its own header with its invariants:
//   * per namespace and family, an IntrusiveHashTable of FragQueues
//     (hash_table.h, frag_queue.h, frag_netns.h);
//   * per queue, a RunTree of skbs with the kernel's O(1) in-order fast path
//     and O(log n) dup/overlap lookup (run_tree.h, skb.h);
//   * one TimerHeap of every queue's expiry, global to the engine so that
//     ties across namespaces break by creation order as in the model
//     (timer_heap.h);
//   * ObjectPools of queues and skbs, so the steady state allocates nothing
//     per fragment (object_pool.h).
// Payloads are never copied while queued; reassembly copies each byte once,
// into one engine-owned buffer.
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
//     or killed, or the namespace is deleted, or the engine is destroyed.
//     Nothing is hashed on this path; the sink sees the reassembled bytes.
// Mutants (frag_mutants.h) are fixed at construction.
//
// Not thread-safe: one caller at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "impl/frag/deliver_sink.h"
#include "impl/frag/frag_mutants.h"
#include "impl/frag/frag_netns.h"
#include "impl/frag/frag_queue.h"
#include "impl/frag/object_pool.h"
#include "impl/frag/skb.h"
#include "impl/frag/timer_heap.h"
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

  // trace::Engine: "frag", "tick" and the sysctls Sysctls::owns; every
  // other op is ignored (FragImpl(): netns ops go to its own netns impl).
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
  // counters, no events (fqdir_exit).
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

  // The first broken invariant of any structure, if any. O(state).
  std::optional<std::string> find_invariant_violation() const;
  // Aborts with the violation. Called after every operation in debug builds.
  void check_invariants() const;

 private:
  using Timers = TimerHeap<FragQueue, &FragQueue::timer>;

  // The namespace a name is bound to, or nullptr.
  FragNetns* netns(std::string_view name);
  static uint64_t digest(const FragNetns& ns);
  static void snapshot(const FragNetns& ns, trace::Snapshot& out);
  // The state of the namespace bound to `name`, if it has any.
  const FragNetns* find(std::string_view name) const;
  void receive_owned(const Fragment& f, const uint8_t* payload, std::unique_ptr<uint8_t[]> owned,
                     DeliverSink& sink);
  FragQueue* create_queue(FragNetns& ns, const Fragment& f, const QueueKey& key, uint64_t hash);
  // ip_frag_reinit: frees the queue's skbs, clears it, re-arms its timer.
  void reinit(FragNetns& ns, FragQueue* q);
  // inet_frag_kill: unhashes the queue and cancels its timer if armed.
  void kill(FragQueue* q);
  // inet_frag_destroy: frees the queue's skbs and the queue, releasing the
  // memory they are charged (kQueueTruesize plus q->truesize).
  void destroy(FragQueue* q);
  // Counts a failure, kills and destroys the queue, reports it.
  void discard(FragNetns& ns, FragQueue* q, std::string_view reason, DeliverSink& sink);
  void reassemble(FragNetns& ns, FragQueue* q, const Fragment& f, DeliverSink& sink);
  // tick() without the debug check.
  void advance(uint64_t ms, DeliverSink& sink);
  void debug_check() const;

  std::unique_ptr<trace::Engine> own_netns_;  // FragImpl(): the netns impl it stands on
  netns::PernetHost* host_;
  defer::DeferHost* defer_ = nullptr;
  MutantSet mutants_;
  ObjectPool<Skb> skbs_;
  ObjectPool<FragQueue> queues_;
  Timers timers_;
  std::unordered_map<netns::NetId, std::unique_ptr<FragNetns>> ns_;
  FragNetns* last_ns_ = nullptr;  // the namespace netns() found last, while its name is bound
  std::vector<uint8_t> reasm_buf_;
  uint64_t now_ms_ = 0;
  uint64_t next_seq_ = 0;  // creation order of queues, global to the engine
};

}  // namespace nv::frag
