#include "model/frag/frag_model.h"

#include <algorithm>
#include <tuple>

namespace nv::frag {

void FragModel::apply(const trace::Op& op, std::vector<trace::Event>& out) {
  const std::string& name = op.spec->name;
  if (name == "frag") {
    Fragment f = fragment_of(op);
    std::vector<uint8_t> payload(f.len);
    fill_payload(f, payload.data());
    receive(f, payload, out);
  } else if (name == "tick") {
    tick(op.u(trace::core::kTickDuration), out);
  } else if (name == "netns add") {
    ns_.emplace(op.name(trace::core::kNetnsName), Netns{});
  } else if (name == "netns del") {
    // The namespace's fqdirs are dismantled: every queue goes, uncounted.
    ns_.erase(op.name(trace::core::kNetnsName));
  } else if (name == "sysctl") {
    const std::string& key = op.word_text(trace::core::kSysctlKey);
    Netns& ns = ns_.find(op.name(trace::core::kSysctlNs))->second;
    if (Sysctls::owns(key) && !ns.sysctls.write(key, op.u(trace::core::kSysctlValue)))
      out.push_back(sysctl_refused_event(op));
  }
}

void FragModel::receive(const Fragment& f, std::span<const uint8_t> payload,
                        std::vector<trace::Event>& out) {
  Netns& ns = ns_.find(f.ns)->second;
  const int fi = int(f.family);
  auto deliver_whole = [&] {
    Fnv1a64 h;
    h.update(payload.data(), payload.size());
    out.push_back(deliver_event(f, f.len, h.value()));
  };
  if (f.family == Family::kV4) {
    // 1. ip_rcv: a v4 packet with offset 0 and MF clear is not a fragment.
    if (f.off == 0 && !f.mf) return deliver_whole();
    ns.counters.reqds[fi]++;
  } else {
    // 1. ipv6_frag_rcv counts every packet carrying a Fragment header.
    ns.counters.reqds[fi]++;
    // 2. An atomic fragment (offset 0, M 0; RFC 6946) is delivered as is
    //    and counted as reassembled.
    if (f.off == 0 && !f.mf) {
      ns.counters.oks[fi]++;
      return deliver_whole();
    }
    // 3. RFC 8200 4.5: a first fragment must hold the upper-layer header.
    if (f.off == 0 && v6_first_fragment_truncated(f.proto, payload.data(), f.len))
      return out.push_back(drop_event(f, "v6-truncated"));
  }
  // 4. inet_frag_find: above high_thresh, or with high_thresh 0, no fragment
  //    is queued, not even one for an existing queue.
  if (ns.sysctls.over_limit(f.family, ns.fam[fi].mem)) {
    ns.counters.fails[fi]++;
    return out.push_back(drop_event(f, "mem-limit"));
  }
  receive_queued(ns, f, payload, out);
}

void FragModel::receive_queued(Netns& ns, const Fragment& f, std::span<const uint8_t> payload,
                               std::vector<trace::Event>& out) {
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
    fam.mem += kQueueTruesize[fi];
  }
  auto discard = [&](std::string_view reason) {
    ns.counters.fails[fi]++;
    kill(f.ns, ns, key, reason, out);
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

  uint32_t end = f.off + f.len;
  // 7. v6: a fragment ending past 65535 gets a Parameter Problem; the queue
  //    found or created for it stays.
  if (!v4 && end > 65535) return out.push_back(drop_event(f, "v6-too-big"));
  if (!f.mf) {
    // 8. A last fragment may not end below data already queued, nor
    //    disagree with an earlier last fragment.
    if (end < q.len || (q.last_in && end != q.len)) return discard("bad-end");
    q.last_in = true;
    q.len = end;
  } else {
    // 9. A non-last fragment's length must be a multiple of 8: v4 trims it,
    //    v6 sends a Parameter Problem and drops the fragment.
    if (end % 8 != 0) {
      if (!v4) return out.push_back(drop_event(f, "v6-bad-len"));
      end &= ~7u;
    }
    // 10. Nothing may lie beyond the last fragment's end.
    if (end > q.len) {
      if (q.last_in) return discard("bad-end");
      q.len = end;
    }
  }
  // 11. An empty fragment (possibly after trimming) discards the datagram.
  if (end == f.off) return discard("zero-len");

  const uint64_t truesize = frag_truesize(f.family, f.len);
  Frag frag{f.off, std::vector<uint8_t>(payload.begin(), payload.begin() + (end - f.off)), truesize,
            f.proto};
  // 12. RFC 5722 as amended by erratum 3089: an overlap discards the whole
  //     datagram; a duplicate is dropped, uncounted, and the queue kept.
  switch (insert(q, std::move(frag))) {
    case Insert::kOk:
      break;
    case Insert::kDup:
      return out.push_back(drop_event(f, "dup"));
    case Insert::kOverlap:
      if (v4) ns.counters.overlaps++;
      return discard("overlap");
  }
  q.meat += end - f.off;
  fam.mem += truesize;
  if (f.off == 0) q.first_in = true;
  // 13. Complete when the first and last fragments are in and every byte
  //     in between is queued.
  if (q.first_in && q.last_in && q.meat == q.len) reassemble(ns, f, key, out);
}

FragModel::Insert FragModel::insert(Queue& q, Frag frag) {
  const uint32_t off = frag.off, end = off + uint32_t(frag.bytes.size());
  if (q.runs.empty()) {
    q.runs.push_back(Run{off, end, {std::move(frag)}});
    return Insert::kOk;
  }
  Run& last = q.runs.back();
  if (end > last.end) {
    // Past the highest fragment: in order if it starts where that one ends.
    if (off < last.end) return Insert::kOverlap;
    if (off == last.end) {
      last.end = end;
      last.frags.push_back(std::move(frag));
    } else {
      q.runs.push_back(Run{off, end, {std::move(frag)}});
    }
    return Insert::kOk;
  }
  for (const Run& r : q.runs) {
    if (end <= r.off || off >= r.end) continue;
    return off >= r.off && end <= r.end ? Insert::kDup : Insert::kOverlap;
  }
  auto pos = std::find_if(q.runs.begin(), q.runs.end(), [&](const Run& r) { return r.off > off; });
  q.runs.insert(pos, Run{off, end, {std::move(frag)}});
  return Insert::kOk;
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

void FragModel::kill(std::string_view ns_name, Netns& ns, const Key& key, std::string_view reason,
                     std::vector<trace::Event>& out) {
  unlink(ns.fam[int(key.family)], key);
  out.push_back(kill_event(ns_name, key.family, key.id, reason));
}

void FragModel::reassemble(Netns& ns, const Fragment& f, const Key& key,
                           std::vector<trace::Event>& out) {
  const int fi = int(f.family);
  // The queue is unhashed and every skb's truesize released with it.
  const Queue q = unlink(ns.fam[fi], key);
  // 14. ip_frag_reasm: with its IPv4 header the datagram may not exceed
  //     65535 bytes (v6 bounded every fragment's end in rule 7).
  if (f.family == Family::kV4 && header_len(f.family) + q.len > 65535) {
    ns.counters.fails[fi]++;
    return out.push_back(kill_event(f.ns, f.family, f.id, "oversize"));
  }
  ns.counters.oks[fi]++;
  std::vector<uint8_t> bytes;
  Fragment head = f;
  for (const Run& r : q.runs) {
    for (const Frag& fr : r.frags) {
      bytes.insert(bytes.end(), fr.bytes.begin(), fr.bytes.end());
      if (fr.off == 0) head.proto = fr.proto;  // v6 takes the next header from the first
    }
  }
  Fnv1a64 h;
  h.update(bytes.data(), bytes.size());
  out.push_back(deliver_event(head, uint32_t(bytes.size()), h.value()));
}

void FragModel::tick(uint64_t ms, std::vector<trace::Event>& out) {
  now_ms_ += ms;
  // Every queue whose timer falls due expires, earliest deadline first
  // (ip_expire / ip6_frag_expire): counted as a failure and a timeout.
  std::vector<std::tuple<uint64_t, uint64_t, std::string, Family, Key>> due;
  for (auto& [name, ns] : ns_)
    for (int fi = 0; fi < 2; ++fi)
      for (auto& [key, q] : ns.fam[fi].queues)
        if (q.deadline_ms <= now_ms_) due.emplace_back(q.deadline_ms, q.seq, name, Family(fi), key);
  std::sort(due.begin(), due.end(), [](const auto& a, const auto& b) {
    return std::tie(std::get<0>(a), std::get<1>(a)) < std::tie(std::get<0>(b), std::get<1>(b));
  });
  for (auto& [deadline, seq, name, fam, key] : due) {
    Netns& ns = ns_.find(name)->second;
    ns.counters.fails[int(fam)]++;
    ns.counters.timeout[int(fam)]++;
    kill(name, ns, key, "timeout", out);
  }
}

void FragModel::snapshot(trace::Snapshot& out) const {
  for (const auto& [name, ns] : ns_) {
    uint64_t mem[2] = {ns.fam[0].mem, ns.fam[1].mem};
    uint64_t queues[2] = {ns.fam[0].queues.size(), ns.fam[1].queues.size()};
    add_to_snapshot(out, name, ns.counters, mem, queues);
  }
}

uint64_t FragModel::digest() const {
  uint64_t sum = 0;
  for (const auto& [name, ns] : ns_) {
    uint64_t mem[2] = {ns.fam[0].mem, ns.fam[1].mem};
    uint64_t queues[2] = {ns.fam[0].queues.size(), ns.fam[1].queues.size()};
    sum += snapshot_digest(name, ns.counters, mem, queues);
  }
  return sum;
}

std::string FragModel::describe() const {
  std::string out = "now=" + std::to_string(now_ms_) + "ms\n";
  for (const auto& [name, ns] : ns_) {
    for (int fi = 0; fi < 2; ++fi) {
      for (const auto& [key, q] : ns.fam[fi].queues) {
        out += "  " + name + " " + family_name(Family(fi)) + " id=" + std::to_string(key.id) +
               " proto=" + std::to_string(key.proto) + " len=" + std::to_string(q.len) +
               " meat=" + std::to_string(q.meat) + (q.first_in ? " first" : "") +
               (q.last_in ? " last" : "") + " deadline=" + std::to_string(q.deadline_ms) +
               "ms runs=";
        for (const Run& r : q.runs)
          out += "[" + std::to_string(r.off) + "," + std::to_string(r.end) + ")";
        out += "\n";
      }
    }
  }
  return out;
}

}  // namespace nv::frag
