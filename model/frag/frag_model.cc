#include "model/frag/frag_model.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "model/netns/netns_model.h"
#include "trace/digest.h"

namespace nv::frag {

FragModel::FragModel(netns::PernetHost& host, defer::DeferHost* defer)
    : host_(&host), defer_(defer) {
  host.register_pernet("frag", this, /*device=*/false);
}

FragModel::FragModel() {
  auto own = std::make_unique<netns::NetnsModel>();
  host_ = own.get();
  own_netns_ = std::move(own);
  host_->register_pernet("frag", this, /*device=*/false);
}

FragModel::~FragModel() = default;

FragModel::FragModel(const FragModel& other, netns::PernetHost& host, defer::DeferHost* defer)
    : host_(&host),
      defer_(defer),
      ns_(other.ns_),
      now_ms_(other.now_ms_),
      next_seq_(other.next_seq_),
      policy_(other.policy_),
      reasm_(other.reasm_),
      next_lru_(other.next_lru_) {
  host.rebind(const_cast<FragModel*>(&other), this);
}

namespace {

std::string_view addr_bytes(const trace::Addr& a) {
  return {reinterpret_cast<const char*>(a.bytes.data()), a.bytes.size()};
}

}  // namespace

uint64_t FragModel::fingerprint() const {
  trace::Fingerprint f;
  f.add(now_ms_).add(next_seq_).add(uint8_t(policy_)).add(uint8_t(reasm_)).add(next_lru_);
  for (const auto& [id, ns] : ns_) {
    f.add(id).add(digest(ns)).add(ns.dead).add(ns.label).add(ns.sysctls.max_dist);
    for (int fi = 0; fi < 2; ++fi) {
      f.add(ns.sysctls.high_thresh[fi]).add(ns.sysctls.low_thresh[fi]).add(ns.sysctls.time_s[fi]);
      for (const auto& [key, q] : ns.fam[fi].queues) {
        f.add(addr_bytes(key.src))
            .add(addr_bytes(key.dst))
            .add(key.id)
            .add(key.proto)
            .add(q.len)
            .add(q.meat)
            .add(q.deadline_ms)
            .add(q.seq);
        f.add(q.first_in).add(q.last_in).add(q.has_peer).add(q.rid).add(q.lru).add(q.runs.size());
        f.add(q.max_size).add(q.max_df_size);
        for (const Run& r : q.runs) {
          f.add(r.off).add(r.end).add(r.frags.size());
          for (const Frag& fr : r.frags)
            f.add(fr.off)
                .add(fr.cpu)
                .add(fr.ecn)
                .add(fr.ext)
                .add(fr.truesize)
                .add(fr.proto)
                .add(std::string_view(reinterpret_cast<const char*>(fr.bytes.data()),
                                      fr.bytes.size()));
        }
      }
    }
    for (const auto& [addr, rid] : ns.peer_rid) f.add(addr_bytes(addr)).add(rid);
  }
  return f.value();
}

std::unique_ptr<trace::Engine> FragModel::clone(
    const std::function<trace::Engine*(std::string_view)>& deps) const {
  auto* host = dynamic_cast<netns::PernetHost*>(deps("netns"));
  if (!host) return nullptr;
  auto* defer = defer_ ? dynamic_cast<defer::DeferHost*>(deps("defer")) : nullptr;
  return std::unique_ptr<trace::Engine>(new FragModel(*this, *host, defer));
}

bool FragModel::init(netns::NetId id, std::string_view label) {
  ns_[id].label = std::string(label);
  return true;
}

void FragModel::pre_exit(netns::NetId id) {
  Netns& ns = ns_.at(id);
  ns.dead = true;
  ns.sysctls.high_thresh[0] = ns.sysctls.high_thresh[1] = 0;
}

void FragModel::exit(netns::NetId id) {
  // The namespace's fqdirs are dismantled: every queue goes, uncounted.
  ns_.erase(id);
}

void FragModel::relabel(netns::NetId id, std::string_view label) {
  if (auto it = ns_.find(id); it != ns_.end()) it->second.label = std::string(label);
}

FragModel::Netns* FragModel::find(std::string_view name) {
  return const_cast<Netns*>(std::as_const(*this).find(name));
}

void FragModel::apply(const trace::Op& op, std::vector<trace::Event>& out) {
  using trace::op_id;
  if (netns::forward_to_own(own_netns_.get(), op)) return;
  switch (op.spec->id) {
    case op_id("frag"): {
      Fragment f = fragment_of(op);
      std::vector<uint8_t> payload(f.len);
      fill_payload(f, payload.data());
      receive(f, payload, out);
      break;
    }
    case op_id("tick"):
      tick(op.u(trace::core::kTickDuration), out);
      break;
    case op_id("policy frag"):
      policy_ = policy_of(op);
      break;
    case op_id("policy frag-reasm"):
      reasm_ = reasm_of(op);
      break;
    case op_id("sysctl"): {
      const std::string& key = op.word_text(trace::core::kSysctlKey);
      Netns* ns = find(op.name(trace::core::kSysctlNs));
      if (ns && Sysctls::owns(key) && !ns->sysctls.write(key, op.u(trace::core::kSysctlValue)))
        out.push_back(sysctl_refused_event(op));
      break;
    }
  }
}

void FragModel::receive(const Fragment& f, std::span<const uint8_t> payload,
                        std::vector<trace::Event>& out) {
  Netns* found = find(f.ns);
  if (!found) return out.push_back(drop_event(f, "no-netns"));  // its creation failed
  Netns& ns = *found;
  // Before any rule: the IP layer's checks of options and extension
  // headers (frag_ops.h).
  if (const std::optional<HeaderDrop> h = header_dropped(f)) {
    if (h->param_problem)
      return refuse(ns.counters, f, payload, h->reason, IcmpError::kParamOption, out);
    return out.push_back(drop_event(f, h->reason));
  }
  const int fi = int(f.family);
  const bool v4 = f.family == Family::kV4;
  auto deliver_whole = [&] {
    Fnv1a64 h;
    h.update(payload.data(), payload.size());
    out.push_back(deliver_event(f, f.len, h.value(), frag_truesize(f.family, f.len, f.ext)));
  };
  // Rules 1-4 (frag_rule.h): not a fragment, an atomic fragment, a truncated
  // v6 first fragment, over the memory limit.
  rule::Decision<rule::Concrete> d;
  const rule::Input<rule::Concrete> in{f.family, f.off, f.len, f.mf, extra_len(f.family, f.ext)};
  const bool truncated =
      !v4 && f.off == 0 && f.mf && v6_first_fragment_truncated(f.proto, payload.data(), f.len);
  rule::admit(d, in, truncated, ns.sysctls.high_thresh[fi], ns.fam[fi].mem, policy_, ns.dead);
  // 1. ip_rcv counts v4 fragments only; ipv6_frag_rcv counts every packet
  //    carrying a Fragment header.
  if (!(v4 && d.fired(rule::Outcome::kWhole))) ns.counters.reqds[fi]++;
  if (!d.open()) {
    switch (d.outcome()) {
      case rule::Outcome::kWhole:
        if (!v4) ns.counters.oks[fi]++;  // 2. an atomic fragment counts as reassembled
        return deliver_whole();
      case rule::Outcome::kV6Truncated:
        return refuse(ns.counters, f, payload, "v6-truncated", IcmpError::kParamIncomplete, out);
      default:  // kMemLimit
        ns.counters.fails[fi]++;
        return out.push_back(drop_event(f, "mem-limit"));
    }
  }
  // 4e. Policy::kEvict: ip_evictor, before the queue is looked up.
  if (policy_ == Policy::kEvict && ns.sysctls.must_evict(f.family, ns.fam[fi].mem))
    evict(ns, f.family, out);
  receive_queued(ns, f, payload, d, out);
}

void FragModel::evict(Netns& ns, Family family, std::vector<trace::Event>& out) {
  Family_& fam = ns.fam[int(family)];
  // Each evicted queue counts a failure (ip_evictor adds what
  // inet_frag_evictor returns to REASMFAILS).
  while (!fam.queues.empty() && !ns.sysctls.evicted_enough(family, fam.mem)) {
    const Key oldest =
        std::min_element(fam.queues.begin(), fam.queues.end(), [](const auto& a, const auto& b) {
          return a.second.lru < b.second.lru;
        })->first;
    ns.counters.fails[int(family)]++;
    kill(ns, oldest, "evict", out);
  }
}

void FragModel::receive_queued(Netns& ns, const Fragment& f, std::span<const uint8_t> payload,
                               rule::Decision<rule::Concrete>& d, std::vector<trace::Event>& out) {
  const int fi = int(f.family);
  const bool v4 = f.family == Family::kV4;
  Family_& fam = ns.fam[fi];
  // 5. The queue key: v4 (src, dst, id, protocol); v6 (src, dst, id).
  const Key key{f.family, f.src, f.dst, f.id, uint8_t(v4 ? f.proto : 0)};
  auto [it, created] = fam.queues.try_emplace(key);
  Queue& q = it->second;
  if (created) {
    // inet_frag_alloc: the queue is charged, its timer armed once.
    q.seq = next_seq_++;
    q.deadline_ms = now_ms_ + ns.sysctls.time_s[fi] * 1000;
    q.has_peer = v4 && ns.sysctls.max_dist != 0;
    q.lru = next_lru_++;
    fam.mem += kQueueTruesize[fi];
  }
  auto discard = [&](std::string_view reason) {
    ns.counters.fails[fi]++;
    kill(ns, key, reason, out);
  };

  // 6. v4 ip_frag_too_far: more than ipfrag_max_dist fragments from this
  //    source since this queue's previous one empty the queue and restart
  //    its timer (ip_frag_reinit); the fragment is then queued afresh.
  if (q.has_peer && ns.sysctls.max_dist != 0) {
    const uint32_t start = q.rid;
    const uint32_t end = ++ns.peer_rid[f.src];
    q.rid = end;
    if (!q.runs.empty() && end - start > uint32_t(ns.sysctls.max_dist)) {
      ns.counters.fails[fi]++;
      for (const Run& r : q.runs)
        for (const Frag& fr : r.frags) fam.mem -= fr.truesize;
      q.runs.clear();
      q.first_in = q.last_in = false;
      q.len = q.meat = 0;
      q.deadline_ms = now_ms_ + ns.sysctls.time_s[fi] * 1000;
      out.push_back(kill_event(f.ns, f.family, f.id, "too-far"));
    }
  }

  // Rules 7-14 (frag_rule.h) decide against the queue's runs.
  rule::QueueState<rule::Concrete> state{{}, q.first_in, q.last_in, q.len, q.meat};
  for (const Run& r : q.runs) state.runs.push_back({r.off, r.end});
  if (q.first_in) state.unfrag = extra_len(f.family, q.runs.front().frags.front().ext);
  rule::queue(d, {f.family, f.off, f.len, f.mf, extra_len(f.family, f.ext)}, state);
  switch (d.outcome()) {
    case rule::Outcome::kV6TooBig:
      return refuse(ns.counters, f, payload, "v6-too-big", IcmpError::kParamOffset, out);
    case rule::Outcome::kV6BadLen:
      return refuse(ns.counters, f, payload, "v6-bad-len", IcmpError::kParamLength, out);
    case rule::Outcome::kBadLast:
    case rule::Outcome::kBadBeyond:
      return discard("bad-end");
    case rule::Outcome::kZeroLen:
      return discard("zero-len");
    case rule::Outcome::kDup:
      q.last_in = d.last_in;  // a last fragment fixes the end even as a duplicate
      q.len = d.len;
      return out.push_back(drop_event(f, "dup"));
    case rule::Outcome::kOverlap:
      if (v4) ns.counters.overlaps++;
      return discard("overlap");
    default:  // kQueued, kReassembled, kOversize
      break;
  }
  const uint64_t truesize = frag_truesize(f.family, f.len, f.ext);
  place(q,
        Frag{f.off, std::vector<uint8_t>(payload.begin(), payload.begin() + (d.end - f.off)),
             truesize, f.proto, defer_ ? defer_->rx_cpu() : 0, f.ecn, f.ext},
        d.placement());
  q.last_in = d.last_in;
  q.len = d.len;
  q.meat = d.meat;
  q.first_in = d.first_in;
  const uint32_t size = uint32_t(header_len(f.family, f.ext)) + (d.end - f.off);
  q.max_size = std::max(q.max_size, size);
  if (f.df) q.max_df_size = std::max(q.max_df_size, size);
  fam.mem += truesize;
  if (d.outcome() == rule::Outcome::kQueued)
    q.lru = next_lru_++;
  else
    reassemble(ns, f, key, d.outcome() == rule::Outcome::kOversize, out);
}

void FragModel::place(Queue& q, Frag frag, rule::Placement where) {
  const uint32_t off = frag.off, end = off + uint32_t(frag.bytes.size());
  switch (where) {
    case rule::Placement::kAppend:
      q.runs.back().end = end;
      q.runs.back().frags.push_back(std::move(frag));
      return;
    case rule::Placement::kFirst:
    case rule::Placement::kAfter:
      q.runs.push_back(Run{off, end, {std::move(frag)}});
      return;
    case rule::Placement::kBefore: {
      auto pos =
          std::find_if(q.runs.begin(), q.runs.end(), [&](const Run& r) { return r.off > off; });
      q.runs.insert(pos, Run{off, end, {std::move(frag)}});
      return;
    }
  }
}

void FragModel::refuse(Counters& c, const Fragment& f, std::span<const uint8_t> payload,
                       std::string_view reason, IcmpError error, std::vector<trace::Event>& out) {
  c.hdr_errors[int(f.family)]++;
  out.push_back(drop_event(f, reason));
  if (auto icmp = icmp_event(f, error, payload)) out.push_back(std::move(*icmp));
}

FragModel::Queue FragModel::unlink(Family_& fam, const Key& key) {
  auto it = fam.queues.find(key);
  Queue q = std::move(it->second);
  fam.queues.erase(it);
  fam.mem -= kQueueTruesize[int(key.family)];
  for (const Run& r : q.runs)
    for (const Frag& fr : r.frags) fam.mem -= fr.truesize;
  return q;
}

void FragModel::kill(Netns& ns, const Key& key, std::string_view reason,
                     std::vector<trace::Event>& out) {
  unlink(ns.fam[int(key.family)], key);
  out.push_back(kill_event(ns.label, key.family, key.id, reason));
}

uint64_t FragModel::delivered_truesize(const Queue& q, Family family) const {
  std::vector<const Frag*> skbs;  // in offset order: the head first
  for (const Run& r : q.runs)
    for (const Frag& fr : r.frags) skbs.push_back(&fr);
  uint64_t truesize = skbs[0]->truesize;
  uint64_t tailroom =
      skb_tailroom(family, skbs[0]->truesize, uint32_t(skbs[0]->bytes.size()), skbs[0]->ext);
  uint32_t page_frags = 0;
  bool chained = reasm_ == Reasm::kList;  // the head has a frag_list
  for (size_t i = 1; i < skbs.size(); ++i) {
    const Frag& fr = *skbs[i];
    if (!chained && page_frags == 0 && fr.bytes.size() <= tailroom) {
      tailroom -= fr.bytes.size();  // copied into the linear head
    } else if (!chained && page_frags < kMaxSkbFrags) {
      page_frags++;  // its head stolen as a page fragment, its sk_buff freed
      truesize += fr.truesize - kSkbStruct;
    } else {
      chained = true;  // on the frag_list, whole
      truesize += fr.truesize;
    }
  }
  return truesize;
}

void FragModel::reassemble(Netns& ns, const Fragment& f, const Key& key, bool oversize,
                           std::vector<trace::Event>& out) {
  const int fi = int(f.family);
  // The queue is unhashed and every skb's truesize released with it.
  const Queue q = unlink(ns.fam[fi], key);
  // 14. ip_frag_reasm: the fragments' ECN codepoints combined (frag_rule.h).
  uint32_t seen = 0, head_ecn = 0;
  for (const Run& r : q.runs)
    for (const Frag& fr : r.frags) {
      seen |= 1u << fr.ecn;
      if (fr.off == 0) head_ecn = fr.ecn;
    }
  const uint32_t ecn = rule::ecn<rule::Concrete>(seen, head_ecn);
  if (ecn == rule::kEcnDiscard) {
    ns.counters.fails[fi]++;
    return out.push_back(kill_event(f.ns, f.family, f.id, "ecn"));
  }
  //     With its unfragmentable part (the first fragment's header with
  //     its options, v6 its extension headers) the datagram may not exceed
  //     65535 bytes (frag_rule.h decided it).
  if (oversize) {
    ns.counters.fails[fi]++;
    return out.push_back(kill_event(f.ns, f.family, f.id, "oversize"));
  }
  ns.counters.oks[fi]++;
  std::vector<uint8_t> bytes;
  Fragment head = f;
  head.ecn = uint8_t(ecn);
  //     v4: DF when the largest fragment had it (so a router refragments
  //     no larger than the sender did).
  head.df = q.max_df_size == q.max_size;
  for (const Run& r : q.runs) {
    for (const Frag& fr : r.frags) {
      bytes.insert(bytes.end(), fr.bytes.begin(), fr.bytes.end());
      if (fr.off != 0) continue;
      head.proto = fr.proto;  // v6 takes the next header from the first
      head.ext = fr.ext;      // v4 its options (v6 ext are not delivered)
    }
  }
  Fnv1a64 h;
  h.update(bytes.data(), bytes.size());
  out.push_back(
      deliver_event(head, uint32_t(bytes.size()), h.value(), delivered_truesize(q, f.family)));
  // The receiver consumes the datagram on the CPU packets arrive on:
  // fragments received on another go back to it (skb_attempt_defer_free),
  // their conntrack references dropped at reassembly (the 2026 fix), so
  // they hold no namespace.
  if (!defer_) return;
  const uint32_t cpu = defer_->rx_cpu();
  for (const Run& r : q.runs)
    for (const Frag& fr : r.frags)
      if (fr.cpu != cpu)
        defer_->free_skb(fragment_skb_name(ns.label, f.family, f.id, fr.off), fr.cpu, cpu,
                         std::nullopt, out);
}

void FragModel::tick(uint64_t ms, std::vector<trace::Event>& out) {
  now_ms_ += ms;
  // Every queue whose timer falls due expires, earliest deadline first
  // (ip_expire / ip6_frag_expire): counted as a failure and a timeout,
  // except in a dead namespace, where the timer does nothing and the queue
  // waits for the namespace's exit.
  std::vector<std::tuple<uint64_t, uint64_t, netns::NetId, Family, Key>> due;
  for (auto& [id, ns] : ns_)
    for (int fi = 0; fi < 2 && !ns.dead; ++fi)
      for (auto& [key, q] : ns.fam[fi].queues)
        if (q.deadline_ms <= now_ms_) due.emplace_back(q.deadline_ms, q.seq, id, Family(fi), key);
  std::sort(due.begin(), due.end(), [](const auto& a, const auto& b) {
    return std::tie(std::get<0>(a), std::get<1>(a)) < std::tie(std::get<0>(b), std::get<1>(b));
  });
  for (auto& [deadline, seq, id, fam, key] : due) {
    Netns& ns = ns_.at(id);
    ns.counters.fails[int(fam)]++;
    ns.counters.timeout[int(fam)]++;
    // The queue's first fragment, if it arrived: what the Time Exceeded
    // error is about (RFC 792, RFC 8200 4.5: only then is one sent).
    const Queue& q = ns.fam[int(fam)].queues.at(key);
    std::optional<trace::Event> icmp;
    if (q.first_in) {
      const Frag& first = q.runs.front().frags.front();
      Fragment about{.ns = ns.label,
                     .family = fam,
                     .id = key.id,
                     .off = 0,
                     .len = uint32_t(first.bytes.size()),
                     .mf = true,
                     .src = key.src,
                     .dst = key.dst,
                     .proto = first.proto};
      icmp = icmp_event(about, IcmpError::kTimeExceeded, first.bytes);
    }
    kill(ns, key, "timeout", out);
    if (icmp) out.push_back(std::move(*icmp));
  }
}

void FragModel::snapshot(const Netns& ns, trace::Snapshot& out) {
  uint64_t mem[2] = {ns.fam[0].mem, ns.fam[1].mem};
  uint64_t queues[2] = {ns.fam[0].queues.size(), ns.fam[1].queues.size()};
  add_to_snapshot(out, ns.label, ns.counters, mem, queues);
}

void FragModel::snapshot(trace::Snapshot& out) const {
  for (const auto& [id, ns] : ns_) snapshot(ns, out);
}

void FragModel::snapshot(std::string_view name, trace::Snapshot& out) const {
  if (const Netns* ns = find(name)) snapshot(*ns, out);
}

uint64_t FragModel::digest(const Netns& ns) {
  uint64_t mem[2] = {ns.fam[0].mem, ns.fam[1].mem};
  uint64_t queues[2] = {ns.fam[0].queues.size(), ns.fam[1].queues.size()};
  return snapshot_digest(ns.label, ns.counters, mem, queues);
}

uint64_t FragModel::digest() const {
  uint64_t sum = 0;
  for (const auto& [id, ns] : ns_) sum += digest(ns);
  return sum;
}

uint64_t FragModel::digest(std::string_view name) const {
  const Netns* ns = find(name);
  return ns ? digest(*ns) : 0;
}

const FragModel::Netns* FragModel::find(std::string_view name) const {
  netns::NetId id;
  if (!host_->lookup(name, &id)) return nullptr;
  auto it = ns_.find(id);
  return it == ns_.end() ? nullptr : &it->second;
}

std::string FragModel::describe() const {
  std::string out = describe_engine(now_ms_, policy_, reasm_);
  std::vector<QueueDescription> queues;
  for (const auto& [id, ns] : ns_) {
    if (!ns.dead)
      out += describe_hidden(ns.label, ns.sysctls, {ns.peer_rid.begin(), ns.peer_rid.end()});
    for (int fi = 0; fi < 2; ++fi) {
      std::vector<uint64_t> recency;
      for (const auto& [key, q] : ns.fam[fi].queues) recency.push_back(q.lru);
      std::sort(recency.begin(), recency.end());
      for (const auto& [key, q] : ns.fam[fi].queues) {
        QueueDescription d{.label = ns.label,
                           .family = Family(fi),
                           .src = key.src,
                           .dst = key.dst,
                           .id = key.id,
                           .proto = key.proto,
                           .len = q.len,
                           .meat = q.meat,
                           .first_in = q.first_in,
                           .last_in = q.last_in,
                           .deadline_ms = q.deadline_ms,
                           .seq = q.seq,
                           .has_peer = q.has_peer,
                           .rid = q.rid};
        if (q.first_in) d.unfrag = extra_len(Family(fi), q.runs.front().frags.front().ext);
        const uint32_t header = uint32_t(header_len(Family(fi)));
        d.max_len = q.max_size ? q.max_size - header : 0;
        d.max_df_len = q.max_df_size ? q.max_df_size - header : 0;
        for (const Run& r : q.runs) {
          d.runs.emplace_back(r.off, r.end);
          for (const Frag& fr : r.frags) d.cpus.push_back(fr.cpu);
        }
        if (policy_ == Policy::kEvict)
          d.lru_rank =
              size_t(std::lower_bound(recency.begin(), recency.end(), q.lru) - recency.begin());
        queues.push_back(std::move(d));
      }
    }
  }
  return out + describe_queues(queues);
}

}  // namespace nv::frag
