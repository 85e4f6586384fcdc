#include "impl/frag/frag_queue.h"

#include <cstring>

#include "impl/frag/frag_netns.h"

namespace nv::frag {
namespace {

trace::Addr addr_of(Family family, uint64_t lo, uint64_t hi) {
  trace::Addr a;
  a.v6 = family == Family::kV6;
  std::memcpy(a.bytes.data(), &lo, 8);
  std::memcpy(a.bytes.data() + 8, &hi, 8);
  return a;
}

}  // namespace

trace::Addr QueueKey::src(Family family) const {
  return addr_of(family, words[0], words[1]);
}
trace::Addr QueueKey::dst(Family family) const {
  return addr_of(family, words[2], words[3]);
}

std::optional<IcmpSubject> expiry_subject(std::string_view ns, Family family, const QueueKey& key,
                                          const QueueState& q) {
  if (!q.first_in) return std::nullopt;
  const Skb& first = *q.runs.first();
  return IcmpSubject{{.ns = ns,
                      .family = family,
                      .id = key.id(),
                      .off = 0,
                      .len = first.len,
                      .mf = true,
                      .src = key.src(family),
                      .dst = key.dst(family),
                      .proto = first.proto},
                     {first.data, first.len}};
}

std::optional<std::string> FragQueue::check() const {
  if (auto e = QueueState::check()) return e;
  if (hash != queue_hash(key)) return "queue: stale hash";
  if (!timer.armed() && !ns->dead) return "queue: timer not armed";
  if (family == Family::kV6 && has_peer) return "queue: v6 queue with a peer";
  return std::nullopt;
}

std::optional<std::string> QueueState::check() const {
  if (auto e = runs.check()) return e;
  uint64_t meat_sum = 0, truesize_sum = 0;
  uint8_t ecn_bits = 0;
  bool sizes_cover = max_df_len <= max_len;
  runs.for_each_skb([&](const Skb& s) {
    meat_sum += s.len;
    truesize_sum += s.truesize;
    ecn_bits |= uint8_t(1 << s.ecn);
    sizes_cover = sizes_cover && s.len <= max_len && (!s.df || s.len <= max_df_len);
  });
  if (!sizes_cover) return "queue: max_len or max_df_len below a queued skb's length";
  if (ecn_bits != ecn) return "queue: ecn is not the queued skbs' codepoints";
  if (meat_sum != meat) return "queue: meat is not the sum of skb lengths";
  if (truesize_sum != truesize) return "queue: truesize is not the sum of skb truesizes";
  const Skb* first = runs.first();
  const bool has_first = first && first->off == 0;
  if (first_in != has_first) return "queue: first_in disagrees with the run tree";
  if (first_in &&
      (first_proto != first->proto || first_ecn != first->ecn || first_ext != first->ext))
    return "queue: first_proto, first_ecn or first_ext is not the head's";
  if (len < runs.end()) return "queue: a fragment ends past len";
  if (runs.empty() && (first_in || last_in || len != 0 || meat != 0))
    return "queue: empty queue with reassembly state";
  if (has_peer && !peer_rid) return "queue: has_peer without a peer";
  return std::nullopt;
}

}  // namespace nv::frag
