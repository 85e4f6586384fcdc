#include "impl/frag/frag_global_impl.h"

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <tuple>

#include "impl/frag/reasm_skb.h"
#include "impl/netns/netns_impl.h"
#include "trace/digest.h"

namespace nv::frag {
namespace {

// The secrets rebuilds draw, in order: splitmix64 of their count, so that
// runs are reproducible (the kernel draws get_random_bytes).
uint64_t secret_number(uint64_t n) {
  uint64_t z = n * 0x9e3779b97f4a7c15ull + 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void deliver(const Fragment& head, const uint8_t* bytes, uint32_t len, uint64_t truesize,
             std::vector<trace::Event>& out) {
  Fnv1a64 h;
  h.update(bytes, len);
  out.push_back(deliver_event(head, len, h.value(), truesize));
}

}  // namespace

GlobalFragImpl::GlobalFragImpl(netns::PernetHost& host, defer::DeferHost* defer)
    : host_(&host), defer_(defer), secret_(secret_number(0)) {
  host.register_pernet("frag", this, /*device=*/false);
}

GlobalFragImpl::GlobalFragImpl() : secret_(secret_number(0)) {
  auto own = std::make_unique<netns::NetnsImpl>();
  host_ = own.get();
  own_netns_ = std::move(own);
  host_->register_pernet("frag", this, /*device=*/false);
}

GlobalFragImpl::~GlobalFragImpl() {
  // Queues and skbs go back to their pools before the pools go.
  std::vector<netns::NetId> ids;
  for (const auto& [id, ns] : ns_) ids.push_back(id);
  for (netns::NetId id : ids) exit(id);
}

bool GlobalFragImpl::init(netns::NetId id, std::string_view label) {
  auto ns = std::make_unique<Netns>();
  ns->id = id;
  ns->label = std::string(label);
  std::lock_guard guard(lock_);
  by_label_[ns->label] = ns.get();
  ns_[id] = std::move(ns);
  return true;
}

void GlobalFragImpl::relabel(netns::NetId id, std::string_view label) {
  std::lock_guard guard(lock_);
  auto it = ns_.find(id);
  if (it == ns_.end()) return;
  Netns& ns = *it->second;
  if (auto old = by_label_.find(ns.label); old != by_label_.end() && old->second == &ns)
    by_label_.erase(old);
  ns.label = std::string(label);
  by_label_[ns.label] = &ns;
}

void GlobalFragImpl::pre_exit(netns::NetId id) {
  std::lock_guard guard(lock_);
  Netns& ns = *ns_.at(id);
  ns.dead = true;
  ns.sysctls.high_thresh[0] = ns.sysctls.high_thresh[1] = 0;
}

void GlobalFragImpl::exit(netns::NetId id) {
  {
    // inet_frags_exit_net: every queue of the namespace goes, uncounted;
    // nobody holds the namespace outside the lock, so it is freed at once.
    std::lock_guard guard(lock_);
    auto it = ns_.find(id);
    if (it == ns_.end()) return;
    Netns& ns = *it->second;
    for (auto& fam : ns.fam)
      while (!fam.lru.empty()) {
        Queue* q = &fam.lru.front();
        unlink(q);
        destroy(q);
      }
    if (auto at = by_label_.find(ns.label); at != by_label_.end() && at->second == &ns)
      by_label_.erase(at);
    ns_.erase(it);
  }
  debug_check();
}

void GlobalFragImpl::apply(const trace::Op& op, std::vector<trace::Event>& out) {
  using trace::op_id;
  if (netns::forward_to_own(own_netns_.get(), op)) return;
  switch (op.spec->id) {
    case op_id("frag"): {
      const Fragment f = fragment_of(op);
      std::vector<uint8_t> payload(f.len);
      fill_payload(f, payload.data());
      receive(f, payload.data(), out);
      break;
    }
    case op_id("tick"):
      tick(op.u(trace::core::kTickDuration), out);
      break;
    case op_id("policy frag"):
      set_policy(policy_of(op));
      break;
    case op_id("policy frag-reasm"): {
      std::lock_guard guard(lock_);
      reasm_ = reasm_of(op);
      break;
    }
    case op_id("sysctl"): {
      const std::string& key = op.word_text(trace::core::kSysctlKey);
      if (!Sysctls::owns(key)) break;
      std::lock_guard guard(lock_);
      Netns* ns = find(op.name(trace::core::kSysctlNs));
      if (ns && !ns->sysctls.write(key, op.u(trace::core::kSysctlValue)))
        out.push_back(sysctl_refused_event(op));
      break;
    }
  }
  debug_check();
}

void GlobalFragImpl::set_policy(Policy p) {
  std::lock_guard guard(lock_);
  policy_ = p;
}

GlobalFragImpl::Netns* GlobalFragImpl::find(std::string_view label) const {
  auto it = by_label_.find(std::string(label));
  return it == by_label_.end() ? nullptr : it->second;
}

size_t GlobalFragImpl::bucket_of(const QueueKey& key, netns::NetId net) const {
  // The key's mix, seeded by the secret and the namespace (the kernel's
  // jhash_3words(id, saddr, daddr ^ protocol, secret) with the namespace
  // compared on each chain entry), folded to the fixed bucket count.
  QueueKey seeded = key;
  seeded.words[0] ^= secret_;
  seeded.words[3] ^= uint64_t(net) * 0x9e3779b97f4a7c15ull;
  return size_t(queue_hash(seeded) % kBuckets);
}

GlobalFragImpl::Queue* GlobalFragImpl::lookup(const Netns& ns, const QueueKey& key) const {
  for (Queue* q = buckets_[bucket_of(key, ns.id)]; q; q = q->chain_next)
    if (q->ns == &ns && q->key == key) return q;
  return nullptr;
}

GlobalFragImpl::Queue* GlobalFragImpl::create(Netns& ns, const Fragment& f, const QueueKey& key) {
  // inet_frag_alloc + inet_frag_intern: charged, hashed, on the LRU's tail,
  // its timer armed once.
  const int fi = int(f.family);
  Queue* q = queue_pool_.make();
  q->key = key;
  q->ns = &ns;
  q->family = f.family;
  q->has_peer = f.family == Family::kV4 && ns.sysctls.max_dist != 0;
  if (q->has_peer) q->peer_rid = &ns.peer_rid[f.src];
  Queue*& head = buckets_[bucket_of(key, ns.id)];
  q->chain_next = head;
  head = q;
  ns.fam[fi].lru.push_back(*q);
  ns.fam[fi].queues++;
  ns.fam[fi].mem += kQueueTruesize[fi];
  timers_.arm(q, now_ms_ + ns.sysctls.time_s[fi] * 1000, next_seq_++);
  return q;
}

void GlobalFragImpl::unlink(Queue* q) {
  for (Queue** at = &buckets_[bucket_of(q->key, q->ns->id)];; at = &(*at)->chain_next) {
    if (*at == q) {
      *at = q->chain_next;
      break;
    }
  }
  q->chain_next = nullptr;
  auto& fam = q->ns->fam[int(q->family)];
  fam.lru.erase(fam.lru.iterator_to(*q));
  fam.queues--;
  if (q->timer.armed()) timers_.cancel(q);
}

void GlobalFragImpl::destroy(Queue* q) {
  q->ns->fam[int(q->family)].mem -= kQueueTruesize[int(q->family)] + q->truesize;
  q->runs.release([&](Skb* s) { skb_pool_.destroy(s); });
  queue_pool_.destroy(q);
}

void GlobalFragImpl::refuse(Counters& c, const Fragment& f, const uint8_t* payload,
                            std::string_view reason, IcmpError error,
                            std::vector<trace::Event>& out) {
  c.hdr_errors[int(f.family)]++;
  out.push_back(drop_event(f, reason));
  if (auto e = icmp_event(f, error, {payload, f.len})) out.push_back(std::move(*e));
}

void GlobalFragImpl::discard(Queue* q, std::string_view reason, std::vector<trace::Event>& out) {
  Netns& ns = *q->ns;
  const Family family = q->family;
  const uint32_t id = q->key.id();
  ns.counters.fails[int(family)]++;
  unlink(q);
  destroy(q);
  out.push_back(kill_event(ns.label, family, id, reason));
}

void GlobalFragImpl::evict(Netns& ns, Family family, std::vector<trace::Event>& out) {
  // inet_frag_evictor: from the head of the namespace's LRU list until the
  // family's memory is at most low_thresh; each eviction is a failure.
  auto& fam = ns.fam[int(family)];
  while (!fam.lru.empty() && !ns.sysctls.evicted_enough(family, fam.mem))
    discard(&fam.lru.front(), "evict", out);
}

// The numbered rules are those of docs/trace.md ("What happens to a
// fragment"), in the model's order.
void GlobalFragImpl::receive(const Fragment& f, const uint8_t* payload,
                             std::vector<trace::Event>& out) {
  const int fi = int(f.family);
  const bool v4 = f.family == Family::kV4;
  std::vector<RemoteFree> remote;
  {
    std::lock_guard guard(lock_);
    Netns* found = find(f.ns);
    if (!found) return out.push_back(drop_event(f, "no-netns"));
    Netns& ns = *found;
    // Before any rule: the IP layer's checks of options and extension
    // headers (frag_ops.h).
    if (const std::optional<HeaderDrop> h = header_dropped(f)) {
      if (h->param_problem)
        return refuse(ns.counters, f, payload, h->reason, IcmpError::kParamOption, out);
      return out.push_back(drop_event(f, h->reason));
    }
    // 1. ip_rcv: a v4 packet with offset 0 and MF clear is not a fragment.
    if (v4 && f.off == 0 && !f.mf)
      return deliver(f, payload, f.len, frag_truesize(f.family, f.len, f.ext), out);
    ns.counters.reqds[fi]++;
    // 2. An atomic v6 fragment is delivered as is, counted as reassembled.
    if (!v4 && f.off == 0 && !f.mf) {
      ns.counters.oks[fi]++;
      return deliver(f, payload, f.len, frag_truesize(f.family, f.len, f.ext), out);
    }
    // 3. RFC 8200 4.5: a v6 first fragment must hold the upper-layer header.
    if (!v4 && f.off == 0 && v6_first_fragment_truncated(f.proto, payload, f.len))
      return refuse(ns.counters, f, payload, "v6-truncated", IcmpError::kParamIncomplete, out);
    // 4. Over high_thresh: refused (today), or room made by the evictor
    //    (before 4.17); a namespace pre_exit closed refuses under either.
    const bool over_limit =
        policy_ == Policy::kEvict ? ns.dead : ns.sysctls.over_limit(f.family, ns.fam[fi].mem);
    if (over_limit) {
      ns.counters.fails[fi]++;
      return out.push_back(drop_event(f, "mem-limit"));
    }
    if (policy_ == Policy::kEvict && ns.sysctls.must_evict(f.family, ns.fam[fi].mem))
      evict(ns, f.family, out);
    // 5. The key: v4 (src, dst, id, protocol); v6 (src, dst, id).
    const QueueKey key = QueueKey::of(f, v4);
    Queue* q = lookup(ns, key);
    if (!q) q = create(ns, f, key);
    // 6. v4 ip_frag_too_far: the queue restarts with this fragment.
    if (q->has_peer && ns.sysctls.max_dist != 0) {
      const uint32_t start = q->rid;
      q->rid = ++*q->peer_rid;
      if (!q->runs.empty() && q->rid - start > uint32_t(ns.sysctls.max_dist)) {
        ns.counters.fails[fi]++;
        ns.fam[fi].mem -= q->truesize;
        q->runs.release([&](Skb* s) { skb_pool_.destroy(s); });
        q->first_in = q->last_in = false;
        q->ecn = 0;
        q->len = q->meat = 0;
        q->truesize = 0;
        timers_.rearm(q, now_ms_ + ns.sysctls.time_s[fi] * 1000);
        out.push_back(kill_event(ns.label, f.family, f.id, "too-far"));
      }
    }
    // 7. v6: ending past 65535 is a Parameter Problem; the queue stays.
    uint32_t end = f.off + f.len;
    if (!v4 && end > 65535)
      return refuse(ns.counters, f, payload, "v6-too-big", IcmpError::kParamOffset, out);
    if (!f.mf) {
      // 8. A last fragment may not end below queued data or disagree with
      //    an earlier last fragment.
      if (end < q->len || (q->last_in && end != q->len)) return discard(q, "bad-end", out);
      q->last_in = true;
      q->len = end;
    } else {
      // 9. A non-last length must be a multiple of 8: v4 trims, v6 drops.
      if (end % 8 != 0) {
        if (!v4) return refuse(ns.counters, f, payload, "v6-bad-len", IcmpError::kParamLength, out);
        end &= ~7u;
      }
      // 10. Nothing beyond the last fragment's end.
      if (end > q->len) {
        if (q->last_in) return discard(q, "bad-end", out);
        q->len = end;
      }
    }
    // 11. An empty fragment discards the datagram.
    if (end == f.off) return discard(q, "zero-len", out);
    enqueue(ns, q, f, payload, end, out, remote);
  }
  for (RemoteFree& r : remote)
    defer_->free_skb(std::move(r.name), r.alloc_cpu, r.rx_cpu, std::nullopt, out);
}

void GlobalFragImpl::enqueue(Netns& ns, Queue* q, const Fragment& f, const uint8_t* payload,
                             uint32_t end, std::vector<trace::Event>& out,
                             std::vector<RemoteFree>& remote) {
  const int fi = int(f.family);
  Skb* skb = skb_pool_.make();
  skb->off = f.off;
  skb->len = end - f.off;
  skb->truesize = uint32_t(frag_truesize(f.family, f.len, f.ext));
  skb->proto = f.proto;
  skb->cpu = uint8_t(defer_ ? defer_->rx_cpu() : 0);
  skb->ecn = f.ecn;
  skb->df = f.df;
  skb->ext = f.ext;
  // 12. RFC 5722: an overlap discards the datagram, a duplicate is dropped.
  switch (q->runs.insert(skb)) {
    case RunTree::Insert::kOk:
      break;
    case RunTree::Insert::kDup:
      skb_pool_.destroy(skb);
      return out.push_back(drop_event(f, "dup"));
    case RunTree::Insert::kOverlap:
      skb_pool_.destroy(skb);
      if (f.family == Family::kV4) ns.counters.overlaps++;
      return discard(q, "overlap", out);
  }
  // The queue owns a copy: the trace path's payload dies with the op.
  skb->owned = std::make_unique<uint8_t[]>(skb->len);
  std::memcpy(skb->owned.get(), payload, skb->len);
  skb->data = skb->owned.get();
  q->queued(*skb, f.family);
  ns.fam[fi].mem += skb->truesize;
  // 13. Complete: reassembled; otherwise the queue moves to the LRU's tail
  //     (ip_frag_queue: inet_frag_lru_move).
  if (q->complete()) return reassemble(ns, q, f, out, remote);
  auto& lru = ns.fam[fi].lru;
  lru.splice(lru.end(), lru, lru.iterator_to(*q));
}

void GlobalFragImpl::reassemble(Netns& ns, Queue* q, const Fragment& f,
                                std::vector<trace::Event>& out, std::vector<RemoteFree>& remote) {
  const int fi = int(f.family);
  const uint32_t len = q->len;
  unlink(q);
  // 14. ip_frag_reasm: the fragments' ECN combined, then the datagram with
  //     its unfragmentable part may not pass 65535.
  const uint8_t ecn = q->reasm_ecn();
  if (ecn == kEcnDrop) {
    destroy(q);
    ns.counters.fails[fi]++;
    return out.push_back(kill_event(ns.label, f.family, f.id, "ecn"));
  }
  if (q->reasm_oversize(f.family)) {
    destroy(q);
    ns.counters.fails[fi]++;
    return out.push_back(kill_event(ns.label, f.family, f.id, "oversize"));
  }
  ns.counters.oks[fi]++;
  std::vector<uint8_t> bytes;
  bytes.reserve(len);
  const uint32_t cpu = defer_ ? defer_->rx_cpu() : 0;
  const Skb* first = q->runs.first();
  ReasmSkb skb(f.family, *first, reasm_);
  q->runs.for_each_skb([&](const Skb& s) {
    bytes.insert(bytes.end(), s.data, s.data + s.len);
    if (&s != first) skb.append(s);
    if (defer_ && s.cpu != cpu)
      remote.push_back({fragment_skb_name(ns.label, f.family, f.id, s.off), s.cpu, cpu});
  });
  assert(!skb.check());
  Fragment head = f;
  head.proto = q->first_proto;  // v6 takes the next header from the first fragment
  head.ecn = ecn;
  head.df = q->reasm_df();
  head.ext = q->first_ext;  // v4: the first fragment's options
  destroy(q);
  deliver(head, bytes.data(), len, skb.truesize(), out);
}

void GlobalFragImpl::tick(uint64_t ms, std::vector<trace::Event>& out) {
  {
    std::lock_guard guard(lock_);
    now_ms_ += ms;
    // ip_expire: earliest (deadline, creation) first; a dead namespace's
    // queues wait for its exit.
    while (Queue* q = timers_.pop_expired(now_ms_)) {
      if (q->ns->dead) continue;
      q->ns->counters.timeout[int(q->family)]++;
      std::optional<trace::Event> icmp;
      if (auto subject = expiry_subject(q->ns->label, q->family, q->key, *q))
        icmp = icmp_event(subject->about, IcmpError::kTimeExceeded, subject->payload);
      discard(q, "timeout", out);
      if (icmp) out.push_back(std::move(*icmp));
    }
    // The rebuild timer: what each rebuild it missed would have done is
    // what one does now (the secret is not observable).
    if (now_ms_ >= next_rebuild_ms_) {
      rebuild_locked();
      next_rebuild_ms_ = now_ms_ - now_ms_ % kRebuildIntervalMs + kRebuildIntervalMs;
    }
  }
  debug_check();
}

void GlobalFragImpl::rebuild() {
  std::lock_guard guard(lock_);
  rebuild_locked();
}

void GlobalFragImpl::rebuild_locked() {
  secret_ = secret_number(++rebuilds_);
  std::vector<Queue*> old(kBuckets, nullptr);
  old.swap(buckets_);
  for (Queue* chain : old) {
    while (Queue* q = chain) {
      chain = q->chain_next;
      Queue*& head = buckets_[bucket_of(q->key, q->ns->id)];
      q->chain_next = head;
      head = q;
    }
  }
}

size_t GlobalFragImpl::queues() const {
  std::lock_guard guard(lock_);
  return queue_pool_.live();
}

void GlobalFragImpl::snapshot(const Netns& ns, trace::Snapshot& out) {
  const uint64_t mem[2] = {ns.fam[0].mem, ns.fam[1].mem};
  const uint64_t queues[2] = {ns.fam[0].queues, ns.fam[1].queues};
  add_to_snapshot(out, ns.label, ns.counters, mem, queues);
}

uint64_t GlobalFragImpl::digest(const Netns& ns) {
  const uint64_t mem[2] = {ns.fam[0].mem, ns.fam[1].mem};
  const uint64_t queues[2] = {ns.fam[0].queues, ns.fam[1].queues};
  return snapshot_digest(ns.label, ns.counters, mem, queues);
}

void GlobalFragImpl::snapshot(trace::Snapshot& out) const {
  std::lock_guard guard(lock_);
  for (const auto& [id, ns] : ns_) snapshot(*ns, out);
}

void GlobalFragImpl::snapshot(std::string_view name, trace::Snapshot& out) const {
  std::lock_guard guard(lock_);
  if (const Netns* ns = find(name)) snapshot(*ns, out);
}

uint64_t GlobalFragImpl::digest() const {
  std::lock_guard guard(lock_);
  uint64_t sum = 0;
  for (const auto& [id, ns] : ns_) sum += digest(*ns);
  return sum;
}

uint64_t GlobalFragImpl::digest(std::string_view name) const {
  std::lock_guard guard(lock_);
  const Netns* ns = find(name);
  return ns ? digest(*ns) : 0;
}

// The model's describe(): namespaces by id, queues by key, and under the
// eviction policy each queue's place on its LRU list.
std::string GlobalFragImpl::describe() const {
  std::lock_guard guard(lock_);
  std::string out = describe_engine(now_ms_, policy_, reasm_);
  std::vector<const Netns*> spaces;
  for (const auto& [id, ns] : ns_) spaces.push_back(ns.get());
  std::sort(spaces.begin(), spaces.end(), [](auto* a, auto* b) { return a->id < b->id; });
  std::vector<QueueDescription> descriptions;
  for (const Netns* ns : spaces) {
    if (!ns->dead)
      out += describe_hidden(ns->label, ns->sysctls, {ns->peer_rid.begin(), ns->peer_rid.end()});
    for (int fi = 0; fi < 2; ++fi) {
      const Family family = Family(fi);
      std::vector<std::pair<const Queue*, size_t>> queues;  // with its LRU rank
      for (const Queue& q : ns->fam[fi].lru) queues.emplace_back(&q, queues.size());
      auto order = [family](const Queue* q) {
        return std::make_tuple(q->key.src(family), q->key.dst(family), q->key.id(), q->key.proto());
      };
      std::sort(queues.begin(), queues.end(),
                [&](const auto& a, const auto& b) { return order(a.first) < order(b.first); });
      for (const auto& [q, rank] : queues) {
        QueueDescription d = queue_description(*q, ns->label, family);
        if (policy_ == Policy::kEvict) d.lru_rank = rank;
        descriptions.push_back(std::move(d));
      }
    }
  }
  return out + describe_queues(descriptions);
}

std::optional<std::string> GlobalFragImpl::find_invariant_violation() const {
  std::lock_guard guard(lock_);
  if (auto e = timers_.check()) return e;
  size_t hashed = 0;
  for (size_t b = 0; b < kBuckets; ++b)
    for (const Queue* q = buckets_[b]; q; q = q->chain_next, ++hashed)
      if (bucket_of(q->key, q->ns->id) != b) return "global table: a queue in the wrong bucket";
  size_t listed = 0;
  for (const auto& [id, ns] : ns_) {
    for (int fi = 0; fi < 2; ++fi) {
      uint64_t mem = 0;
      size_t n = 0;
      for (const Queue& q : ns->fam[fi].lru) {
        ++n;
        if (q.ns != ns.get() || int(q.family) != fi) return "global table: queue on a foreign LRU";
        if (lookup(*ns, q.key) != &q) return "global table: a listed queue is not hashed";
        if (!ns->dead && !q.timer.armed()) return "global table: a live queue's timer is off";
        if (auto e = q.check()) return e;
        mem += kQueueTruesize[fi] + q.truesize;
      }
      if (n != ns->fam[fi].queues) return "global table: queue count is off";
      if (mem != ns->fam[fi].mem) return "global table: memory is not the sum of its queues";
      listed += n;
    }
  }
  if (hashed != listed || listed != queue_pool_.live())
    return "global table: hashed, listed and live queues differ";
  return std::nullopt;
}

void GlobalFragImpl::debug_check() const {
#ifndef NDEBUG
  if (auto e = find_invariant_violation()) {
    std::fprintf(stderr, "GlobalFragImpl invariant broken: %s\n%s", e->c_str(), describe().c_str());
    std::abort();
  }
#endif
}

}  // namespace nv::frag
