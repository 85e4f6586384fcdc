#include "impl/frag/frag_impl.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <tuple>

#include "impl/netns/netns_impl.h"
#include "sched/rcu.h"
#include "sched/scheduler.h"

namespace nv::frag {
namespace {

// Turns what the engine reports into trace events, as the model builds them.
class EventSink final : public DeliverSink {
 public:
  explicit EventSink(std::vector<trace::Event>& out) : out_(out) {}

  void deliver(const Fragment& head, std::span<const uint8_t> bytes) override {
    Fnv1a64 h;
    h.update(bytes.data(), bytes.size());
    out_.push_back(deliver_event(head, uint32_t(bytes.size()), h.value()));
  }
  void drop(const Fragment& f, std::string_view reason) override {
    out_.push_back(drop_event(f, reason));
  }
  void kill(std::string_view ns, Family family, uint32_t id, std::string_view reason) override {
    out_.push_back(kill_event(ns, family, id, reason));
  }
  std::vector<trace::Event>* events() override { return &out_; }

 private:
  std::vector<trace::Event>& out_;
};

// Namespace names are short (at most 32 bytes): an inline loop beats a
// call to memcmp on the per-fragment path.
bool same_name(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i]) return false;
  return true;
}

uint32_t v4_addr_word(const trace::Addr& a) {
  uint32_t w;
  std::memcpy(&w, a.bytes.data(), 4);
  return w;
}

}  // namespace

FragImpl::FragImpl(netns::PernetHost& host, MutantSet mutants, defer::DeferHost* defer)
    : host_(&host), defer_(defer), mutants_(mutants) {
  host.register_pernet("frag", this, /*device=*/false);
}

FragImpl::FragImpl(MutantSet mutants) : mutants_(mutants) {
  auto own = std::make_unique<netns::NetnsImpl>();
  host_ = own.get();
  own_netns_ = std::move(own);
  host_->register_pernet("frag", this, /*device=*/false);
}

FragImpl::~FragImpl() {
  // Queues and skbs go back to their pools before the pools go.
  std::vector<netns::NetId> ids;
  for (const auto& [id, ns] : ns_) ids.push_back(id);
  for (netns::NetId id : ids) exit(id);
}

bool FragImpl::init(netns::NetId id, std::string_view label) {
  auto ns = std::make_unique<FragNetns>();
  ns->id = id;
  ns->name = std::string(label);
  ns_[id] = std::move(ns);
  return true;
}

// fqdir_pre_exit: no new queues (high_thresh 0), and timers that fire from
// now on do nothing (dead).
void FragImpl::pre_exit(netns::NetId id) {
  FragNetns& ns = *ns_.at(id);
  ns.sysctls.high_thresh[0] = ns.sysctls.high_thresh[1] = 0;
  ns.dead = true;
}

void FragImpl::exit(netns::NetId id) {
  auto it = ns_.find(id);
  // The kernel would dereference the NULL data of a namespace whose init
  // never ran (a broken pernet core: netns-register-race): a WARN here.
  if (it == ns_.end())
    sched::fail("frag: pernet exit of namespace " + std::to_string(id) + ", whose init never ran");
  // fqdir_exit: every queue goes, uncounted.
  for (FragNetns::PerFamily& fam : it->second->fam) {
    fam.queues.clear([&](FragQueue* q) {  // unhashes each queue
      if (q->timer.armed()) timers_.cancel(q);
      destroy(q);
    });
  }
  if (last_ns_ == it->second.get()) last_ns_ = nullptr;
  ns_.erase(it);
}

void FragImpl::relabel(netns::NetId id, std::string_view label) {
  auto it = ns_.find(id);
  if (it == ns_.end()) return;  // its exit already ran
  it->second->name = std::string(label);
  if (last_ns_ == it->second.get()) last_ns_ = nullptr;
}

void FragImpl::apply(const trace::Op& op, std::vector<trace::Event>& out) {
  using trace::op_id;
  if (own_netns_ && op.spec->subsystem == "netns") {
    std::vector<trace::Event> dropped;
    own_netns_->apply(op, dropped);
    own_netns_->settle(dropped);
    return;
  }
  // Another subsystem's op touches nothing here (in production the netns
  // worker may be running this engine's pernet exits on its own thread).
  const uint64_t id = op.spec->id;
  if (id != op_id("frag") && id != op_id("tick") && id != op_id("sysctl")) return;
  EventSink sink(out);
  // Receive and expiry run in softirq context, under rcu_read_lock(): a
  // namespace's cleanup pass waits for them at its grace period. Only under
  // the runner's scheduler (production callers of apply are single-threaded
  // tests that need no RCU registration).
  std::optional<sched::RcuReadGuard> rcu;
  if (sched::current_scheduler()) rcu.emplace();
  switch (id) {
    case op_id("frag"): {
      Fragment f = fragment_of(op);
      auto payload = std::make_unique_for_overwrite<uint8_t[]>(f.len);
      fill_payload(f, payload.get());
      const uint8_t* data = payload.get();
      receive_owned(f, data, std::move(payload), sink);
      break;
    }
    case op_id("tick"):
      advance(op.u(trace::core::kTickDuration), sink);
      break;
    case op_id("sysctl"):
      if (!write_sysctl(op.name(trace::core::kSysctlNs), op.word_text(trace::core::kSysctlKey),
                        op.u(trace::core::kSysctlValue)))
        out.push_back(sysctl_refused_event(op));
      break;
  }
  debug_check();
}

void FragImpl::receive(const Fragment& f, const uint8_t* payload, DeliverSink& sink) {
  receive_owned(f, payload, nullptr, sink);
  debug_check();
}

FragNetns* FragImpl::netns(std::string_view name) {
  // The cache holds a namespace whose name is bound (relabel drops it), so
  // its label is its name.
  if (last_ns_ && same_name(last_ns_->name, name)) return last_ns_;
  FragNetns* found = const_cast<FragNetns*>(find(name));
  if (found) last_ns_ = found;
  return found;
}

// The numbered rules are those of docs/trace.md ("What happens to a
// fragment"), in the model's order; each names the kernel check it mirrors.
void FragImpl::receive_owned(const Fragment& f, const uint8_t* payload,
                             std::unique_ptr<uint8_t[]> owned, DeliverSink& sink) {
  FragNetns* found = netns(f.ns);
  if (!found) return sink.drop(f, "no-netns");  // its creation failed
  FragNetns& ns = *found;
  const int fi = int(f.family);
  const bool v4 = f.family == Family::kV4;
  if (v4) {
    // 1. ip_rcv: a v4 packet with offset 0 and MF clear is not a fragment.
    if (f.off == 0 && !f.mf) return sink.deliver(f, {payload, f.len});
    ns.counters.reqds[fi]++;
  } else {
    // 1. ipv6_frag_rcv counts every packet carrying a Fragment header.
    ns.counters.reqds[fi]++;
    // 2. An atomic fragment (RFC 6946) is delivered as is, counted as reassembled.
    if (f.off == 0 && !f.mf) {
      ns.counters.oks[fi]++;
      return sink.deliver(f, {payload, f.len});
    }
    // 3. RFC 8200 4.5: a first fragment must hold the upper-layer header.
    if (f.off == 0 && v6_first_fragment_truncated(f.proto, payload, f.len))
      return sink.drop(f, "v6-truncated");
  }
  // 4. inet_frag_find: above high_thresh (or with high_thresh 0) nothing is
  //    queued, not even for an existing queue.
  FragNetns::PerFamily& fam = ns.fam[fi];
  if (ns.sysctls.over_limit(f.family, fam.mem)) {
    ns.counters.fails[fi]++;
    return sink.drop(f, "mem-limit");
  }
  // 5. The queue key: v4 (src, dst, id, protocol); v6 (src, dst, id).
  const QueueKey key = QueueKey::of(f, v4 || mutants_.has(FragMutant::kV6KeyNexthdr));
  const uint64_t hash = queue_hash(key);
  FragQueue* q = fam.queues.find(key, hash);
  if (!q) q = create_queue(ns, f, key, hash);

  // 6. v4 ip_frag_too_far: more than ipfrag_max_dist fragments from this
  //    source since this queue's previous one: ip_frag_reinit, then the
  //    fragment is queued afresh.
  if (q->has_peer && ns.sysctls.max_dist != 0) {
    const uint32_t start = q->rid;
    const uint32_t end = ++*q->peer_rid;
    q->rid = end;
    if (!q->runs.empty() && end - start > uint32_t(ns.sysctls.max_dist)) {
      ns.counters.fails[fi]++;
      reinit(ns, q);
      sink.kill(ns.name, f.family, f.id, "too-far");
    }
  }

  uint32_t end = f.off + f.len;
  // 7. v6: a fragment ending past 65535 gets a Parameter Problem; the queue
  //    found or created for it stays.
  if (!v4 && end > 65535) return sink.drop(f, "v6-too-big");
  if (!f.mf) {
    // 8. A last fragment may not end below data already queued, nor
    //    disagree with an earlier last fragment.
    if (end < q->len || (q->last_in && end != q->len)) return discard(ns, q, "bad-end", sink);
    q->last_in = true;
    q->len = end;
  } else {
    // 9. A non-last fragment's length must be a multiple of 8: v4 trims it,
    //    v6 sends a Parameter Problem and drops the fragment.
    if (end % 8 != 0) {
      if (!v4) return sink.drop(f, "v6-bad-len");
      if (!mutants_.has(FragMutant::kNoTrim)) end &= ~7u;
    }
    // 10. Nothing may lie beyond the last fragment's end.
    if (end > q->len) {
      if (q->last_in) return discard(ns, q, "bad-end", sink);
      q->len = end;
    }
  }
  // 11. An empty fragment (possibly after trimming) discards the datagram.
  if (end == f.off) return discard(ns, q, "zero-len", sink);

  Skb* skb = skbs_.make();
  skb->off = f.off;
  skb->len = end - f.off;
  skb->truesize = uint32_t(frag_truesize(f.family, f.len));
  skb->proto = f.proto;
  skb->cpu = uint8_t(defer_ ? defer_->rx_cpu() : 0);
  skb->data = payload;
  // 12. RFC 5722 as amended by erratum 3089: an overlap discards the whole
  //     datagram; a duplicate is dropped, uncounted, and the queue kept.
  switch (q->runs.insert(skb)) {
    case RunTree::Insert::kOk:
      break;
    case RunTree::Insert::kDup:
      skbs_.destroy(skb);
      return sink.drop(f, "dup");
    case RunTree::Insert::kOverlap:
      skbs_.destroy(skb);
      if (mutants_.has(FragMutant::kOverlapAccept)) {
        // Before Linux 4.19 the overlapping fragment was only trimmed or
        // dropped, uncounted; reassembly went on.
        return sink.drop(f, "overlap");
      }
      if (v4) ns.counters.overlaps++;
      return discard(ns, q, "overlap", sink);
  }
  skb->owned = std::move(owned);
  q->meat += skb->len;
  q->truesize += skb->truesize;
  fam.mem += skb->truesize;
  if (f.off == 0) {
    q->first_in = true;
    q->first_proto = f.proto;
  }
  if (mutants_.has(FragMutant::kTimerRefresh))
    timers_.rearm(q, now_ms_ + ns.sysctls.time_s[fi] * 1000);
  // 13. Complete when the first and last fragments are in and every byte in
  //     between is queued.
  if (q->complete()) reassemble(ns, q, f, sink);
}

FragQueue* FragImpl::create_queue(FragNetns& ns, const Fragment& f, const QueueKey& key,
                                  uint64_t hash) {
  // inet_frag_alloc: the queue is charged, its timer armed once.
  const int fi = int(f.family);
  FragQueue* q = queues_.make();
  q->key = key;
  q->hash = hash;
  q->ns = &ns;
  q->family = f.family;
  q->has_peer = f.family == Family::kV4 && ns.sysctls.max_dist != 0;
  if (q->has_peer) q->peer_rid = &ns.peer_rid[v4_addr_word(f.src)];
  ns.fam[fi].queues.insert(q);
  ns.fam[fi].mem += kQueueTruesize[fi];
  timers_.arm(q, now_ms_ + ns.sysctls.time_s[fi] * 1000, next_seq_++);
  return q;
}

void FragImpl::reinit(FragNetns& ns, FragQueue* q) {
  ns.fam[int(q->family)].mem -= q->truesize;
  q->runs.release([&](Skb* s) { skbs_.destroy(s); });
  q->first_in = q->last_in = false;
  q->len = q->meat = 0;
  q->truesize = 0;
  timers_.rearm(q, now_ms_ + ns.sysctls.time_s[int(q->family)] * 1000);
}

void FragImpl::kill(FragQueue* q) {
  q->ns->fam[int(q->family)].queues.erase(q);
  if (q->timer.armed()) timers_.cancel(q);
}

void FragImpl::destroy(FragQueue* q) {
  q->ns->fam[int(q->family)].mem -= kQueueTruesize[int(q->family)] + q->truesize;
  q->runs.release([&](Skb* s) { skbs_.destroy(s); });
  queues_.destroy(q);
}

void FragImpl::discard(FragNetns& ns, FragQueue* q, std::string_view reason, DeliverSink& sink) {
  const Family family = q->family;
  const uint32_t id = q->key.id();
  ns.counters.fails[int(family)]++;
  kill(q);
  destroy(q);
  sink.kill(ns.name, family, id, reason);
}

void FragImpl::reassemble(FragNetns& ns, FragQueue* q, const Fragment& f, DeliverSink& sink) {
  const int fi = int(f.family);
  const uint32_t len = q->len;
  kill(q);
  // 14. ip_frag_reasm: with its IPv4 header the datagram may not exceed
  //     65535 bytes (v6 bounded every fragment's end in rule 7).
  if (f.family == Family::kV4 && header_len(f.family) + len > 65535 &&
      !mutants_.has(FragMutant::kOversizeAccept)) {
    destroy(q);
    ns.counters.fails[fi]++;
    return sink.kill(ns.name, f.family, f.id, "oversize");
  }
  ns.counters.oks[fi]++;
  // Grows to the largest datagram seen, not beyond.
  if (reasm_buf_.size() < len) reasm_buf_.resize(len);
  uint8_t* out = reasm_buf_.data();
  q->runs.for_each_skb([&](const Skb& s) {
    std::memcpy(out, s.data, s.len);
    out += s.len;
  });
  Fragment head = f;
  head.proto = q->first_proto;  // v6 takes the next header from the first fragment
  // Every skb's truesize is released with the queue; the mutant releases
  // only the head's, as if the others had been coalesced into it.
  if (mutants_.has(FragMutant::kCoalesceHeadTruesize)) q->truesize = q->runs.first()->truesize;
  // The receiver consumes the datagram on the CPU packets arrive on:
  // fragments received on another go back to it (skb_attempt_defer_free).
  // Their conntrack references are dropped here (the 2026 fix); the mutant
  // leaves them on, so a deferred fragment holds its namespace until its
  // CPU's rx frees it.
  std::vector<std::pair<uint32_t, uint8_t>> remote;  // (off, cpu)
  std::vector<trace::Event>* events = sink.events();
  const uint32_t rx_cpu = defer_ ? defer_->rx_cpu() : 0;  // read once: see DeferHost
  if (defer_ && events)
    q->runs.for_each_skb([&](const Skb& s) {
      if (s.cpu != rx_cpu) remote.emplace_back(s.off, s.cpu);
    });
  destroy(q);
  sink.deliver(head, {reasm_buf_.data(), len});
  const std::optional<netns::NetId> hold =
      mutants_.has(FragMutant::kDeferKeepsNetnsRef) ? std::optional(ns.id) : std::nullopt;
  for (const auto& [off, cpu] : remote)
    defer_->free_skb(fragment_skb_name(ns.name, f.family, f.id, off), cpu, rx_cpu, hold, *events);
}

void FragImpl::tick(uint64_t ms, DeliverSink& sink) {
  advance(ms, sink);
  debug_check();
}

void FragImpl::advance(uint64_t ms, DeliverSink& sink) {
  now_ms_ += ms;
  // Every queue whose timer falls due expires, earliest (deadline, seq)
  // first (ip_expire / ip6_frag_expire): a failure and a timeout.
  while (FragQueue* q = timers_.pop_expired(now_ms_)) {
    FragNetns& ns = *q->ns;
    // ip_expire: in a dead namespace the queue waits for fqdir_exit.
    if (ns.dead && !mutants_.has(FragMutant::kExpireDead)) continue;
    const Family family = q->family;
    const uint32_t id = q->key.id();
    ns.counters.fails[int(family)]++;
    ns.counters.timeout[int(family)]++;
    kill(q);
    destroy(q);
    sink.kill(ns.name, family, id, "timeout");
  }
}

bool FragImpl::write_sysctl(std::string_view ns, std::string_view key, uint64_t value) {
  if (!Sysctls::owns(key)) return true;
  FragNetns* found = netns(ns);
  return !found || found->sysctls.write(key, value);
}

void FragImpl::snapshot(const FragNetns& ns, trace::Snapshot& out) {
  const uint64_t mem[2] = {ns.fam[0].mem, ns.fam[1].mem};
  const uint64_t queues[2] = {ns.fam[0].queues.size(), ns.fam[1].queues.size()};
  add_to_snapshot(out, ns.name, ns.counters, mem, queues);
}

void FragImpl::snapshot(trace::Snapshot& out) const {
  for (const auto& [id, ns] : ns_) snapshot(*ns, out);
}

void FragImpl::snapshot(std::string_view name, trace::Snapshot& out) const {
  if (const FragNetns* ns = find(name)) snapshot(*ns, out);
}

uint64_t FragImpl::digest(const FragNetns& ns) {
  const uint64_t mem[2] = {ns.fam[0].mem, ns.fam[1].mem};
  const uint64_t queues[2] = {ns.fam[0].queues.size(), ns.fam[1].queues.size()};
  return snapshot_digest(ns.name, ns.counters, mem, queues);
}

uint64_t FragImpl::digest() const {
  uint64_t sum = 0;
  for (const auto& [id, ns] : ns_) sum += digest(*ns);
  return sum;
}

uint64_t FragImpl::digest(std::string_view name) const {
  const FragNetns* ns = find(name);
  return ns ? digest(*ns) : 0;
}

const FragNetns* FragImpl::find(std::string_view name) const {
  netns::NetId id;
  if (!host_->lookup(name, &id)) return nullptr;
  auto it = ns_.find(id);
  return it == ns_.end() ? nullptr : it->second.get();
}

// The model's describe() format, line for line, so that two reports of
// agreeing engines are identical text.
std::string FragImpl::describe() const {
  std::string out = "now=" + std::to_string(now_ms_) + "ms\n";
  std::vector<const FragNetns*> spaces;
  for (const auto& [id, ns] : ns_) spaces.push_back(ns.get());
  std::sort(spaces.begin(), spaces.end(),
            [](const FragNetns* a, const FragNetns* b) { return a->id < b->id; });
  for (const FragNetns* ns : spaces) {
    for (int fi = 0; fi < 2; ++fi) {
      const Family family = Family(fi);
      std::vector<const FragQueue*> queues;
      ns->fam[fi].queues.for_each([&](const FragQueue* q) { queues.push_back(q); });
      auto order = [family](const FragQueue* q) {
        return std::make_tuple(q->key.src(family), q->key.dst(family), q->key.id(), q->key.proto());
      };
      std::sort(queues.begin(), queues.end(),
                [&](const FragQueue* a, const FragQueue* b) { return order(a) < order(b); });
      for (const FragQueue* q : queues) {
        out += "  " + ns->name + " " + family_name(family) + " id=" + std::to_string(q->key.id()) +
               " proto=" + std::to_string(q->key.proto()) + " len=" + std::to_string(q->len) +
               " meat=" + std::to_string(q->meat) + (q->first_in ? " first" : "") +
               (q->last_in ? " last" : "") + " deadline=" + std::to_string(q->timer.deadline_ms) +
               "ms seq=" + std::to_string(q->timer.seq) + " runs=";
        q->runs.for_each_run([&](uint32_t off, uint32_t end) {
          out += "[" + std::to_string(off) + "," + std::to_string(end) + ")";
        });
        out += "\n";
      }
    }
  }
  return out;
}

std::optional<std::string> FragImpl::find_invariant_violation() const {
  if (auto e = timers_.check()) return e;
  size_t total_queues = 0, total_skbs = 0, armed = 0;
  const bool leaky = mutants_.has(FragMutant::kCoalesceHeadTruesize);
  for (const auto& entry : ns_) {
    // Not a structured binding: clang 14 cannot capture one in a lambda.
    const std::unique_ptr<FragNetns>& ns = entry.second;
    const std::string& name = ns->name;
    if (ns->id != entry.first) return "netns: map key is not the namespace's id";
    for (int fi = 0; fi < 2; ++fi) {
      const FragNetns::PerFamily& fam = ns->fam[fi];
      if (auto e = fam.queues.check()) return name + ": " + *e;
      uint64_t mem = 0;
      std::optional<std::string> error;
      // Not `ns` in the lambda: clang 14 cannot capture a structured binding.
      const FragNetns* netns = ns.get();
      fam.queues.for_each([&](const FragQueue* q) {
        if (error) return;
        if (q->ns != netns || q->family != Family(fi)) {
          error = "queue in the wrong namespace or family table";
        } else if (auto e = q->check()) {
          error = e;
        } else if (q->has_peer) {
          auto it = netns->peer_rid.find(v4_addr_word(q->key.src(Family::kV4)));
          if (it == netns->peer_rid.end() || &it->second != q->peer_rid)
            error = "queue: peer_rid is not its source's counter";
        }
        mem += kQueueTruesize[fi] + q->truesize;
        armed += q->timer.armed();
        q->runs.for_each_skb([&](const Skb&) { ++total_skbs; });
      });
      if (error) return name + " " + family_name(Family(fi)) + " id: " + *error;
      if (leaky ? fam.mem < mem : fam.mem != mem)
        return name + " " + family_name(Family(fi)) + ": mem " + std::to_string(fam.mem) +
               " is not the sum of its queues' " + std::to_string(mem);
      total_queues += fam.queues.size();
    }
  }
  if (timers_.size() != armed) return "timer heap: not one timer per armed queue";
  if (queues_.live() != total_queues) return "queue pool: live queues not in any table";
  if (skbs_.live() != total_skbs) return "skb pool: live skbs not in any queue";
  if (last_ns_) {
    auto it = ns_.find(last_ns_->id);
    netns::NetId bound;
    if (it == ns_.end() || it->second.get() != last_ns_) return "netns cache: dangling";
    if (!host_->lookup(last_ns_->name, &bound) || bound != last_ns_->id)
      return "netns cache: its name is not bound to it";
  }
  return std::nullopt;
}

void FragImpl::check_invariants() const {
  if (auto e = find_invariant_violation()) {
    std::fprintf(stderr, "netverify: FragImpl invariant broken: %s\n%s", e->c_str(),
                 describe().c_str());
    std::abort();
  }
}

void FragImpl::debug_check() const {
#ifndef NDEBUG
  check_invariants();
#endif
}

}  // namespace nv::frag
