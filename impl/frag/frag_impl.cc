#include "impl/frag/frag_impl.h"

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <tuple>

#include "impl/frag/reasm_skb.h"
#include "impl/netns/netns_impl.h"
#include "sched/rcu.h"
#include "sched/scheduler.h"

namespace nv::frag {
namespace {

// Turns what the engine reports into trace events, as the model builds them.
class EventSink final : public DeliverSink {
 public:
  explicit EventSink(std::vector<trace::Event>& out) : out_(out) {}

  void deliver(const Fragment& head, std::span<const uint8_t> bytes, uint64_t truesize) override {
    Fnv1a64 h;
    h.update(bytes.data(), bytes.size());
    out_.push_back(deliver_event(head, uint32_t(bytes.size()), h.value(), truesize));
  }
  void drop(const Fragment& f, std::string_view reason) override {
    out_.push_back(drop_event(f, reason));
  }
  void kill(std::string_view ns, Family family, uint32_t id, std::string_view reason) override {
    out_.push_back(kill_event(ns, family, id, reason));
  }
  void icmp(const Fragment& about, IcmpError error, std::span<const uint8_t> payload) override {
    if (auto e = icmp_event(about, error, payload)) out_.push_back(std::move(*e));
  }
  std::vector<trace::Event>* events() override { return &out_; }

 private:
  std::vector<trace::Event>& out_;
};

// The namespace each OS thread found last, while the engine's namespaces
// have not changed (its serial and generation): names are looked up per
// fragment. Fibers of one thread share it; a lookup has no scheduling point.
// Trivially constructed, so that reaching it costs no TLS wrapper call; a
// name longer than a trace's (32 bytes) is not cached.
struct NetnsCache {
  uint64_t engine = 0;  // FragImpl::serial_; 0: empty
  uint64_t generation = 0;
  FragNetns* ns = nullptr;
  uint32_t len = 0;
  char name[32] = {};
};
constinit thread_local NetnsCache netns_cache;
std::atomic<uint64_t> next_engine_serial{1};

template <typename Word>
Word load(const char* p) {
  Word w;
  std::memcpy(&w, p, sizeof w);
  return w;
}

// Whether the n bytes at a and b are equal, for a name the cache holds (n at
// most 32): a word at a time, the tail an overlapping word, so no call and no
// loop over bytes on the per-fragment path. Reads only a[0, n) and b[0, n).
inline bool same_bytes(const char* a, const char* b, size_t n) {
  if (n >= 8) {
    uint64_t diff = load<uint64_t>(a + n - 8) ^ load<uint64_t>(b + n - 8);
    for (size_t i = 0; i + 8 < n; i += 8) diff |= load<uint64_t>(a + i) ^ load<uint64_t>(b + i);
    return diff == 0;
  }
  if (n >= 4)
    return ((load<uint32_t>(a) ^ load<uint32_t>(b)) |
            (load<uint32_t>(a + n - 4) ^ load<uint32_t>(b + n - 4))) == 0;
  for (size_t i = 0; i < n; ++i)
    if (a[i] != b[i]) return false;
  return true;
}

// Both table locks of a namespace, v4 then v6: for what both families read.
class BothTables {
 public:
  explicit BothTables(FragNetns& ns) : ns_(ns) {
    ns_.fam[0].lock.lock();
    ns_.fam[1].lock.lock();
  }
  ~BothTables() {
    ns_.fam[1].lock.unlock();
    ns_.fam[0].lock.unlock();
  }
  BothTables(const BothTables&) = delete;
  BothTables& operator=(const BothTables&) = delete;

 private:
  FragNetns& ns_;
};

// The reassembly buffer: one per OS thread, grown to the largest datagram
// seen. A thread uses it from the copy to the delivery under its table lock
// with no scheduling point between, so fibers of one OS thread do not overlap
// in it.
std::vector<uint8_t>& reasm_buffer(size_t len) {
  static thread_local std::vector<uint8_t> buf;
  if (buf.size() < len) buf.resize(len);
  return buf;
}

uint32_t v4_addr_word(const trace::Addr& a) {
  uint32_t w;
  std::memcpy(&w, a.bytes.data(), 4);
  return w;
}

}  // namespace

FragImpl::FragImpl(netns::PernetHost& host, MutantSet mutants, defer::DeferHost* defer)
    : host_(&host),
      defer_(defer),
      mutants_(mutants),
      serial_(next_engine_serial.fetch_add(1, std::memory_order_relaxed)) {
  host.register_pernet("frag", this, /*device=*/false);
}

FragImpl::FragImpl(MutantSet mutants)
    : mutants_(mutants), serial_(next_engine_serial.fetch_add(1, std::memory_order_relaxed)) {
  auto own = std::make_unique<netns::NetnsImpl>();
  host_ = own.get();
  own_netns_ = std::move(own);
  host_->register_pernet("frag", this, /*device=*/false);
}

FragImpl::~FragImpl() {
  // Nothing runs any more: queues and skbs go back to their pools before
  // the pools go, and retired namespaces' callbacks run.
  for (auto& [id, ns] : ns_) dismantle(*ns);
  if (retired_in_production_.load(std::memory_order_relaxed)) sched::rcu_barrier();
}

bool FragImpl::init(netns::NetId id, std::string_view label) {
  auto ns = std::make_unique<FragNetns>();
  ns->id = id;
  ns->name = std::string(label);
  std::lock_guard guard(ns_lock_);
  ns_[id] = std::move(ns);
  generation_.fetch_add(1, std::memory_order_release);
  return true;
}

// The kernel would dereference the NULL data of a namespace whose init
// never ran (a broken pernet core: netns-register-race): a WARN here.
[[noreturn]] static void no_init(netns::NetId id, const char* what) {
  sched::fail(std::string("frag: pernet ") + what + " of namespace " + std::to_string(id) +
              ", whose init never ran");
}

// fqdir_pre_exit: no new queues, and timers that fire from now on do
// nothing. The kernel sets high_thresh to 0; here the receive path needs
// no such gate: the cleanup pass unbound the name first, and a receive that
// finds its namespace unbound under the table lock looks the name up again.
void FragImpl::pre_exit(netns::NetId id) {
  FragNetns* found;
  {
    std::lock_guard guard(ns_lock_);
    auto it = ns_.find(id);
    found = it == ns_.end() ? nullptr : it->second.get();
  }
  if (!found) no_init(id, "pre_exit");
  FragNetns& ns = *found;
  // Pairs with the acquire load of expires().
  ns.dead.store(true, std::memory_order_release);
}

void FragImpl::exit(netns::NetId id) {
  std::unique_ptr<FragNetns> gone;
  {
    std::lock_guard guard(ns_lock_);
    if (auto it = ns_.find(id); it != ns_.end()) {
      gone = std::move(it->second);
      ns_.erase(it);
      generation_.fetch_add(1, std::memory_order_release);
    }
  }
  if (!gone) no_init(id, "exit");
  dismantle(*gone);
  // A tick may have seen one of its queues' timers and be waiting for its
  // table lock, inside its read-side section: free after a grace period.
  if (!sched::current_scheduler()) retired_in_production_.store(true, std::memory_order_relaxed);
  sched::call_rcu([held = std::shared_ptr<FragNetns>(std::move(gone))] {});
}

void FragImpl::dismantle(FragNetns& ns) {
  for (Table& fam : ns.fam) {
    std::lock_guard table(fam.lock);
    fam.queues.clear([&](FragQueue* q) {  // unhashes each queue
      {
        std::lock_guard timers(timer_lock_);
        if (q->timer.armed()) timers_.cancel(q);
      }
      destroy(q);
    });
  }
}

void FragImpl::relabel(netns::NetId id, std::string_view label) {
  FragNetns* ns;
  {
    std::lock_guard guard(ns_lock_);
    auto it = ns_.find(id);
    if (it == ns_.end()) return;  // its exit already ran
    ns = it->second.get();
  }
  std::lock_guard guard(ns->name_lock);
  ns->name = std::string(label);
  ns->unbound.store(true, std::memory_order_release);   // pairs with lock_netns
  generation_.fetch_add(1, std::memory_order_release);  // its name is unbound or taken
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
  if (id == op_id("policy frag-reasm"))
    return reasm_.store(reasm_of(op), std::memory_order_relaxed);
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

inline FragNetns* FragImpl::netns(std::string_view name) {
  // Acquire pairs with the release increments of init, relabel and exit.
  const uint64_t generation = generation_.load(std::memory_order_acquire);
  const NetnsCache& c = netns_cache;
  if (c.engine == serial_ && c.generation == generation && c.len == name.size() &&
      same_bytes(c.name, name.data(), name.size())) [[likely]]
    return c.ns;
  return lookup(name, generation);
}

FragNetns* FragImpl::lookup(std::string_view name, uint64_t generation) {
  FragNetns* found;
  {
    std::lock_guard guard(ns_lock_);
    found = const_cast<FragNetns*>(find(name));
  }
  NetnsCache& c = netns_cache;
  if (found && name.size() <= sizeof(c.name)) {
    c.engine = serial_;
    c.generation = generation;
    c.ns = found;
    c.len = uint32_t(name.size());
    std::memcpy(c.name, name.data(), name.size());
  }
  return found;
}

inline FragNetns* FragImpl::lock_netns(std::string_view name, Family family, TableLock& table) {
  for (;;) {
    FragNetns* ns = netns(name);
    if (!ns) return nullptr;
    table.lock(ns->fam[int(family)].lock);
    if (!ns->unbound.load(std::memory_order_acquire) || mutants_.has(FragMutant::kPreExitOpen))
        [[likely]]
      return ns;
    table.unlock();  // its name was unbound meanwhile
  }
}

// The numbered rules are those of docs/trace.md ("What happens to a
// fragment"), in the model's order; each names the kernel check it mirrors.
void FragImpl::receive_owned(const Fragment& f, const uint8_t* payload,
                             std::unique_ptr<uint8_t[]> owned, DeliverSink& sink) {
  const int fi = int(f.family);
  const bool v4 = f.family == Family::kV4;
  // Before any rule: the IP layer's checks of options and extension
  // headers (frag_ops.h).
  const std::optional<HeaderDrop> header = header_dropped(f);
  // 1. ip_rcv: a v4 packet with offset 0 and MF clear is not a fragment
  //    (one whose headers are dropped takes the table lock below, for
  //    the counter).
  if (v4 && f.off == 0 && !f.mf && !header) {
    if (!netns(f.ns)) return sink.drop(f, "no-netns");  // its creation failed
    return sink.deliver(f, {payload, f.len}, frag_truesize(f.family, f.len, f.ext));
  }
  TableLock table;
  FragNetns* found = lock_netns(f.ns, f.family, table);
  if (!found) return sink.drop(f, "no-netns");
  FragNetns& ns = *found;
  if (header) return drop_header(ns.counters, f, payload, *header, sink);
  Table& fam = ns.fam[fi];
  ns.counters.reqds[fi]++;
  if (!v4) {
    // 1. ipv6_frag_rcv counts every packet carrying a Fragment header.
    // 2. An atomic fragment (RFC 6946) is delivered as is, counted as reassembled.
    if (f.off == 0 && !f.mf) {
      ns.counters.oks[fi]++;
      table.unlock();
      return sink.deliver(f, {payload, f.len}, frag_truesize(f.family, f.len, f.ext));
    }
    // 3. RFC 8200 4.5: a first fragment must hold the upper-layer header.
    if (f.off == 0 && !mutants_.has(FragMutant::kV6TruncatedQueued) &&
        v6_first_fragment_truncated(f.proto, payload, f.len))
      return refuse(ns.counters, f, payload, "v6-truncated", IcmpError::kParamIncomplete, sink);
  }
  // 4. inet_frag_find: above high_thresh (or with high_thresh 0) nothing is
  //    queued, not even for an existing queue.
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
      sink.kill(ns.label(), f.family, f.id, "too-far");
    }
  }

  uint32_t end = f.off + f.len;
  // 7. v6: a fragment ending past 65535 gets a Parameter Problem; the queue
  //    found or created for it stays.
  if (!v4 && end > 65535)
    return refuse(ns.counters, f, payload, "v6-too-big", IcmpError::kParamOffset, sink);
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
      if (!v4) return refuse(ns.counters, f, payload, "v6-bad-len", IcmpError::kParamLength, sink);
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

  Skb* skb = fam.skb_pool.make();
  skb->off = f.off;
  skb->len = end - f.off;
  skb->truesize = uint32_t(frag_truesize(f.family, f.len, f.ext));
  skb->proto = f.proto;
  skb->cpu = uint8_t(defer_ ? defer_->rx_cpu() : 0);
  skb->ecn = f.ecn;
  skb->df = f.df;
  skb->ext = f.ext;
  skb->data = payload;
  // 12. RFC 5722 as amended by erratum 3089: an overlap discards the whole
  //     datagram; a duplicate is dropped, uncounted, and the queue kept.
  switch (q->runs.insert(skb)) {
    case RunTree::Insert::kOk:
      break;
    case RunTree::Insert::kDup:
      fam.skb_pool.destroy(skb);
      return sink.drop(f, "dup");
    case RunTree::Insert::kOverlap:
      fam.skb_pool.destroy(skb);
      if (mutants_.has(FragMutant::kOverlapAccept)) {
        // Before Linux 4.19 the overlapping fragment was only trimmed or
        // dropped, uncounted; reassembly went on.
        return sink.drop(f, "overlap");
      }
      if (v4) ns.counters.overlaps++;
      return discard(ns, q, "overlap", sink);
  }
  skb->owned = std::move(owned);
  q->queued(*skb, f.family);
  fam.mem += skb->truesize;
  if (mutants_.has(FragMutant::kTimerRefresh)) {
    std::lock_guard timers(timer_lock_);
    timers_.rearm(q, now_ms_ + ns.sysctls.time_s[fi] * 1000);
  }
  // 13. Complete when the first and last fragments are in and every byte in
  //     between is queued.
  if (q->complete()) reassemble(ns, q, f, table, sink);
}

FragQueue* FragImpl::create_queue(FragNetns& ns, const Fragment& f, const QueueKey& key,
                                  uint64_t hash) {
  // inet_frag_alloc: the queue is charged, its timer armed once.
  const int fi = int(f.family);
  Table& fam = ns.fam[fi];
  FragQueue* q = fam.queue_pool.make();
  q->key = key;
  q->hash = hash;
  q->ns = &ns;
  q->family = f.family;
  q->has_peer = f.family == Family::kV4 && ns.sysctls.max_dist != 0;
  if (q->has_peer) q->peer_rid = &ns.peer_rid[v4_addr_word(f.src)];
  fam.queues.insert(q);
  fam.mem += kQueueTruesize[fi];
  std::lock_guard timers(timer_lock_);
  timers_.arm(q, now_ms_ + ns.sysctls.time_s[fi] * 1000, next_seq_++);
  return q;
}

void FragImpl::reinit(FragNetns& ns, FragQueue* q) {
  Table& fam = ns.fam[int(q->family)];
  fam.mem -= q->truesize;
  q->runs.release([&](Skb* s) { fam.skb_pool.destroy(s); });
  q->first_in = q->last_in = false;
  q->ecn = 0;
  q->len = q->meat = 0;
  q->truesize = 0;
  std::lock_guard timers(timer_lock_);
  timers_.rearm(q, now_ms_ + ns.sysctls.time_s[int(q->family)] * 1000);
}

void FragImpl::kill(FragQueue* q) {
  q->ns->fam[int(q->family)].queues.erase(q);
  std::lock_guard timers(timer_lock_);
  if (q->timer.armed()) timers_.cancel(q);
}

void FragImpl::destroy(FragQueue* q) {
  Table& fam = q->ns->fam[int(q->family)];
  fam.mem -= kQueueTruesize[int(q->family)] + q->truesize;
  q->runs.release([&](Skb* s) { fam.skb_pool.destroy(s); });
  fam.queue_pool.destroy(q);
}

void FragImpl::refuse(Counters& c, const Fragment& f, const uint8_t* payload,
                      std::string_view reason, IcmpError error, DeliverSink& sink) {
  c.hdr_errors[int(f.family)]++;
  sink.drop(f, reason);
  sink.icmp(f, error, {payload, f.len});
}

void FragImpl::drop_header(Counters& c, const Fragment& f, const uint8_t* payload,
                           const HeaderDrop& h, DeliverSink& sink) {
  if (h.param_problem) return refuse(c, f, payload, h.reason, IcmpError::kParamOption, sink);
  sink.drop(f, h.reason);
}

void FragImpl::discard(FragNetns& ns, FragQueue* q, std::string_view reason, DeliverSink& sink) {
  const Family family = q->family;
  const uint32_t id = q->key.id();
  ns.counters.fails[int(family)]++;
  kill(q);
  destroy(q);
  sink.kill(ns.label(), family, id, reason);
}

void FragImpl::reassemble(FragNetns& ns, FragQueue* q, const Fragment& f, TableLock& table,
                          DeliverSink& sink) {
  const int fi = int(f.family);
  const uint32_t len = q->len;
  kill(q);
  // 14. ip_frag_reasm: the fragments' ECN combined, then with its
  //     unfragmentable part (v4 its header, v6 the first fragment's
  //     extension headers) the datagram may not exceed 65535 bytes. The
  //     mutant keeps the head's codepoint.
  const uint8_t ecn = mutants_.has(FragMutant::kEcnBlind) ? q->first_ecn : q->reasm_ecn();
  if (ecn == kEcnDrop) {
    destroy(q);
    ns.counters.fails[fi]++;
    return sink.kill(ns.label(), f.family, f.id, "ecn");
  }
  if (q->reasm_oversize(f.family) && !mutants_.has(FragMutant::kOversizeAccept)) {
    destroy(q);
    ns.counters.fails[fi]++;
    return sink.kill(ns.label(), f.family, f.id, "oversize");
  }
  ns.counters.oks[fi]++;
  std::vector<uint8_t>& buf = reasm_buffer(len);
  uint8_t* out = buf.data();
  const Skb* first = q->runs.first();
  ReasmSkb skb(f.family, *first, reasm_.load(std::memory_order_relaxed));
  q->runs.for_each_skb([&](const Skb& s) {
    std::memcpy(out, s.data, s.len);
    out += s.len;
    if (&s != first) skb.append(s);
  });
  assert(!skb.check());
  Fragment head = f;
  head.proto = q->first_proto;  // v6 takes the next header from the first fragment
  head.ecn = ecn;
  head.df = q->reasm_df() && !mutants_.has(FragMutant::kDfCleared);
  head.ext = q->first_ext;  // v4: the first fragment's options
  // The queue releases every skb's truesize as charged (sum_truesize); the
  // mutant releases the delivered head's, smaller by what coalescing saved.
  if (mutants_.has(FragMutant::kCoalesceHeadTruesize)) q->truesize = skb.truesize();
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
  const std::string label = remote.empty() ? std::string() : ns.label();
  // Delivered before the unlock, a scheduling point: another thread of this
  // OS thread's may reassemble into the same buffer after it.
  sink.deliver(head, {buf.data(), len}, skb.truesize());
  table.unlock();
  const std::optional<netns::NetId> hold =
      mutants_.has(FragMutant::kDeferKeepsNetnsRef) ? std::optional(ns.id) : std::nullopt;
  for (const auto& [off, cpu] : remote)
    defer_->free_skb(fragment_skb_name(label, f.family, f.id, off), cpu, rx_cpu, hold, *events);
}

void FragImpl::tick(uint64_t ms, DeliverSink& sink) {
  advance(ms, sink);
  debug_check();
}

bool FragImpl::expires(const FragQueue& q) const {
  // ip_expire: in a dead namespace the queue waits for fqdir_exit.
  return !q.ns->dead.load(std::memory_order_acquire) || mutants_.has(FragMutant::kExpireDead);
}

void FragImpl::advance(uint64_t ms, DeliverSink& sink) {
  // The tables of the queues that fall due, to be locked in (namespace id,
  // family) order before the clock moves; a receive may arm a timer that
  // falls due while they are being locked, so the set is computed again
  // under the timer lock until the tables held cover it.
  using TableRef = std::pair<netns::NetId, Table*>;  // sorted by id, then family
  std::vector<TableRef> held, need;
  std::vector<FragQueue*> due;
  for (;;) {
    need.clear();
    {
      std::lock_guard timers(timer_lock_);
      const uint64_t until = now_ms_ + ms;
      timers_.for_each_due(until, [&](FragQueue* q) {
        if (expires(*q)) need.push_back({q->ns->id, &q->ns->fam[int(q->family)]});
      });
      // (pair order: by id, then by address, which within one namespace is
      // the family: both tables are in one array.)
      std::sort(need.begin(), need.end());
      need.erase(std::unique(need.begin(), need.end()), need.end());
      if (std::includes(held.begin(), held.end(), need.begin(), need.end())) {
        // Every queue that falls due, earliest (deadline, seq) first; a dead
        // namespace's are left to its exit.
        now_ms_ = until;
        while (FragQueue* q = timers_.pop_expired(until))
          if (expires(*q)) due.push_back(q);
        break;
      }
    }
    for (auto it = held.rbegin(); it != held.rend(); ++it) it->second->lock.unlock();
    held.swap(need);
    for (const TableRef& t : held) t.second->lock.lock();
  }
  // ip_expire / ip6_frag_expire: a failure and a timeout each.
  for (FragQueue* q : due) {
    FragNetns& ns = *q->ns;
    const Family family = q->family;
    const uint32_t id = q->key.id();
    ns.counters.fails[int(family)]++;
    ns.counters.timeout[int(family)]++;
    ns.fam[int(family)].queues.erase(q);   // kill: the timer is already popped
    const std::string label = ns.label();  // the subject's ns views it
    sink.kill(label, family, id, "timeout");
    if (auto subject = expiry_subject(label, family, q->key, *q))
      sink.icmp(subject->about, IcmpError::kTimeExceeded, subject->payload);
    destroy(q);
  }
  for (auto it = held.rbegin(); it != held.rend(); ++it) it->second->lock.unlock();
}

bool FragImpl::write_sysctl(std::string_view ns, std::string_view key, uint64_t value) {
  if (!Sysctls::owns(key)) return true;
  for (;;) {
    FragNetns* found = netns(ns);
    if (!found) return true;
    BothTables tables(*found);
    if (!found->unbound.load(std::memory_order_acquire)) return found->sysctls.write(key, value);
  }
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
  // (No evictor: the refuse policy is the only one it runs.)
  std::string out =
      describe_engine(now_ms_, Policy::kRefuse, reasm_.load(std::memory_order_relaxed));
  std::vector<const FragNetns*> spaces;
  for (const auto& [id, ns] : ns_) spaces.push_back(ns.get());
  std::sort(spaces.begin(), spaces.end(),
            [](const FragNetns* a, const FragNetns* b) { return a->id < b->id; });
  std::vector<QueueDescription> descriptions;
  for (const FragNetns* ns : spaces) {
    if (!ns->dead.load(std::memory_order_relaxed)) {
      std::vector<std::pair<trace::Addr, uint32_t>> peers;
      for (const auto& [word, rid] : ns->peer_rid) {
        trace::Addr a;
        std::memcpy(a.bytes.data(), &word, 4);
        peers.emplace_back(a, rid);
      }
      out += describe_hidden(ns->name, ns->sysctls, std::move(peers));
    }
    for (int fi = 0; fi < 2; ++fi) {
      const Family family = Family(fi);
      std::vector<const FragQueue*> queues;
      ns->fam[fi].queues.for_each([&](const FragQueue* q) { queues.push_back(q); });
      auto order = [family](const FragQueue* q) {
        return std::make_tuple(q->key.src(family), q->key.dst(family), q->key.id(), q->key.proto());
      };
      std::sort(queues.begin(), queues.end(),
                [&](const FragQueue* a, const FragQueue* b) { return order(a) < order(b); });
      for (const FragQueue* q : queues)
        descriptions.push_back(queue_description(*q, ns->name, family));
    }
  }
  return out + describe_queues(descriptions);
}

std::optional<std::string> FragImpl::find_invariant_violation() const {
  if (auto e = timers_.check()) return e;
  size_t armed = 0;
  const bool leaky = mutants_.has(FragMutant::kCoalesceHeadTruesize);
  for (const auto& entry : ns_) {
    // Not a structured binding: clang 14 cannot capture one in a lambda.
    const std::unique_ptr<FragNetns>& ns = entry.second;
    const std::string& name = ns->name;
    if (ns->id != entry.first) return "netns: map key is not the namespace's id";
    const bool dead = ns->dead.load(std::memory_order_relaxed);
    for (int fi = 0; fi < 2; ++fi) {
      const FragNetns::PerFamily& fam = ns->fam[fi];
      if (auto e = fam.queues.check()) return name + ": " + *e;
      uint64_t mem = 0;
      size_t skbs = 0;
      std::optional<std::string> error;
      // Not `ns` in the lambda: clang 14 cannot capture a structured binding.
      const FragNetns* netns = ns.get();
      fam.queues.for_each([&](const FragQueue* q) {
        if (error) return;
        if (q->ns != netns || q->family != Family(fi)) {
          error = "queue in the wrong namespace or family table";
        } else if (auto e = q->check()) {
          error = e;
        } else if (!q->timer.armed() && !dead) {
          error = "queue: timer not armed in a live namespace";
        } else if (q->has_peer) {
          auto it = netns->peer_rid.find(v4_addr_word(q->key.src(Family::kV4)));
          if (it == netns->peer_rid.end() || &it->second != q->peer_rid)
            error = "queue: peer_rid is not its source's counter";
        }
        mem += kQueueTruesize[fi] + q->truesize;
        armed += q->timer.armed();
        q->runs.for_each_skb([&](const Skb&) { ++skbs; });
      });
      if (error) return name + " " + family_name(Family(fi)) + " id: " + *error;
      if (leaky ? fam.mem < mem : fam.mem != mem)
        return name + " " + family_name(Family(fi)) + ": mem " + std::to_string(fam.mem) +
               " is not the sum of its queues' " + std::to_string(mem);
      if (fam.queue_pool.live() != fam.queues.size())
        return name + " " + family_name(Family(fi)) + ": live queues not in its table";
      if (fam.skb_pool.live() != skbs)
        return name + " " + family_name(Family(fi)) + ": live skbs not in any of its queues";
    }
  }
  if (timers_.size() != armed) return "timer heap: not one timer per armed queue";
  return std::nullopt;
}

void FragImpl::check_invariants() const {
  // Every lock, in their order, so that no other thread is half-way through
  // a critical section (production threads; under a scheduler this runs only
  // where no thread holds any).
  std::lock_guard guard(ns_lock_);
  std::vector<std::unique_lock<sched::SpinLock>> tables;
  std::vector<const FragNetns*> order;
  for (const auto& entry : ns_) order.push_back(entry.second.get());
  std::sort(order.begin(), order.end(),
            [](const FragNetns* a, const FragNetns* b) { return a->id < b->id; });
  for (const FragNetns* ns : order)
    for (const Table& fam : ns->fam) tables.emplace_back(fam.lock);
  std::lock_guard timers(timer_lock_);
  if (auto e = find_invariant_violation()) {
    std::fprintf(stderr, "netverify: FragImpl invariant broken: %s\n%s", e->c_str(),
                 describe().c_str());
    std::abort();
  }
}

void FragImpl::debug_check() const {
#ifndef NDEBUG
  // Only while nothing else runs: not on a scheduler's thread, where another
  // may be inside a critical section (the runner compares states at the end
  // of each section, where the next sequential op checks).
  if (sched::Scheduler* s = sched::current_scheduler(); !s || !s->in_thread()) check_invariants();
#endif
}

}  // namespace nv::frag
