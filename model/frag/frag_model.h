// The reference model of Linux IPv4/IPv6 fragment reassembly
// (net/ipv4/ip_fragment.c, net/ipv6/reassembly.c, net/ipv4/inet_fragment.c
// as of Linux 6.x), written to be checked by eye, not to be fast.
//
// State is plain values: per namespace, per family, a std::map of queues;
// each queue a sorted vector of runs; each run the fragments appended to it
// in order, with their bytes. What happens to a fragment is fourteen numbered
// rules (docs/trace.md, "What happens to a fragment"), each naming the kernel
// check it mirrors: the decision (rules 1-4, 7-14) is frag_rule.h, written
// once for this model and for the Z3 analysis in symbolic/; receive() applies
// it, with rules 5 and 6 (queue lookup, ipfrag_max_dist) in between.
//
// Runs matter: Linux decides duplicate vs overlap against the run a fragment
// falls in, and only fragments that arrive in order (starting exactly where
// the highest fragment ends) extend a run. A fragment covering two adjacent
// runs is an overlap even if its bytes agree with both.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "model/frag/frag_rule.h"
#include "trace/defer/defer_ops.h"
#include "trace/engine.h"
#include "trace/frag/frag_ops.h"
#include "trace/netns/netns_ops.h"

namespace nv::frag {

class FragModel final : public trace::Engine, public netns::PernetOps {
 public:
  // Registers itself with the netns engine it builds on; a reassembled
  // datagram's fragments are freed through `defer` (null: at once).
  FragModel(netns::PernetHost& host, defer::DeferHost* defer);
  // Standing on a netns model of its own, to which it hands the netns ops
  // (whose events it drops): for tests, benchmarks and symbolic/.
  FragModel();
  ~FragModel() override;

  std::unique_ptr<trace::Engine> clone(
      const std::function<trace::Engine*(std::string_view)>& deps) const override;
  uint64_t fingerprint() const override;
  struct Key {
    Family family;
    trace::Addr src, dst;
    uint32_t id;
    uint8_t proto;  // v4 only; 0 for v6, whose key has no next header
    auto operator<=>(const Key&) const = default;
  };
  struct Frag {
    uint32_t off;
    std::vector<uint8_t> bytes;  // after trimming
    uint64_t truesize;           // of the skb as received
    uint8_t proto;
    uint32_t cpu;  // the CPU it was received (allocated) on
    uint8_t ecn;   // its ECN codepoint
    uint8_t ext;   // v4 its options, v6 its extension headers (Fragment::ext)
  };
  // Fragments [off, end) that arrived in order, each starting where the
  // previous one ended.
  struct Run {
    uint32_t off, end;
    std::vector<Frag> frags;
  };
  struct Queue {
    std::vector<Run> runs;  // sorted by off, pairwise disjoint
    bool first_in = false, last_in = false;
    uint32_t len = 0;   // highest end seen; the datagram's length once last_in
    uint32_t meat = 0;  // bytes queued
    uint64_t deadline_ms = 0;
    uint64_t seq = 0;  // creation order, to break deadline ties
    bool has_peer = false;
    uint32_t rid = 0;  // v4 ipfrag_max_dist bookkeeping (ip_frag_too_far)
    // Recency for Policy::kEvict: stamped when the queue is created and
    // whenever a fragment is queued in it (the old kernel's lru_list, which
    // ip_frag_queue moved the queue to the tail of); the evictor takes the
    // lowest first.
    uint64_t lru = 0;
    // ip_frag_queue's max_size and max_df_size: the largest queued
    // fragment, its header included, and the largest with DF.
    // ip_frag_reinit (rule 6) keeps both.
    uint32_t max_size = 0, max_df_size = 0;
  };
  struct Family_ {
    std::map<Key, Queue> queues;
    uint64_t mem = 0;  // accounted as the kernel does: queues plus skb truesizes
  };
  struct Netns {
    std::string label;  // netns::label
    bool dead = false;  // pre_exit ran
    Sysctls sysctls;
    Counters counters;
    Family_ fam[2];
    std::map<trace::Addr, uint32_t> peer_rid;  // inet_peer rid per v4 source
  };

  void apply(const trace::Op& op, std::vector<trace::Event>& out) override;
  void snapshot(trace::Snapshot& out) const override;
  void snapshot(std::string_view ns, trace::Snapshot& out) const override;
  uint64_t digest() const override;
  uint64_t digest(std::string_view ns) const override;
  std::string describe() const override;

  // One fragment with its payload (f.len bytes).
  void receive(const Fragment& f, std::span<const uint8_t> payload, std::vector<trace::Event>& out);
  void tick(uint64_t ms, std::vector<trace::Event>& out);

  bool init(netns::NetId id, std::string_view label) override;
  void pre_exit(netns::NetId id) override;
  void exit(netns::NetId id) override;
  void exit_batch(std::span<const netns::NetId>) override {}
  void relabel(netns::NetId id, std::string_view label) override;

  const std::map<netns::NetId, Netns>& namespaces() const { return ns_; }

 private:
  void receive_queued(Netns& ns, const Fragment& f, std::span<const uint8_t> payload,
                      rule::Decision<rule::Concrete>& d, std::vector<trace::Event>& out);
  // Rules 3, 7 and 9 and header_dropped: a fragment dropped with a
  // Parameter Problem, counted in InHdrErrors.
  static void refuse(Counters& c, const Fragment& f, std::span<const uint8_t> payload,
                     std::string_view reason, IcmpError error, std::vector<trace::Event>& out);
  // Puts a queued fragment where the decision says (inet_frag_queue_insert).
  static void place(Queue& q, Frag frag, rule::Placement where);
  // Unhashes a queue and releases its memory (inet_frag_kill + destroy).
  static Queue unlink(Family_& fam, const Key& key);
  static void kill(Netns& ns, const Key& key, std::string_view reason,
                   std::vector<trace::Event>& out);
  static uint64_t digest(const Netns& ns);
  static void snapshot(const Netns& ns, trace::Snapshot& out);
  // The state of the namespace bound to `name`, if it has any.
  const Netns* find(std::string_view name) const;
  Netns* find(std::string_view name);
  void reassemble(Netns& ns, const Fragment& f, const Key& key, bool oversize,
                  std::vector<trace::Event>& out);
  // The truesize of the skb a complete queue is delivered as (Reasm): the
  // head's, and what inet_frag_reasm_finish adds for each skb after it.
  uint64_t delivered_truesize(const Queue& q, Family family) const;
  // Policy::kEvict's evictor (inet_frag_evictor): the family's least
  // recently used queues, until its memory is at most low_thresh.
  static void evict(Netns& ns, Family family, std::vector<trace::Event>& out);

  // A copy of `other`'s state on `host`, a copy of other's host.
  FragModel(const FragModel& other, netns::PernetHost& host, defer::DeferHost* defer);

  std::unique_ptr<trace::Engine> own_netns_;  // FragModel(): the netns model it stands on
  netns::PernetHost* host_;
  defer::DeferHost* defer_ = nullptr;
  std::map<netns::NetId, Netns> ns_;
  uint64_t now_ms_ = 0;
  uint64_t next_seq_ = 0;
  Policy policy_ = Policy::kRefuse;  // "policy frag": the whole engine's
  Reasm reasm_ = Reasm::kCoalesce;   // "policy frag-reasm": likewise
  uint64_t next_lru_ = 0;
};

}  // namespace nv::frag
