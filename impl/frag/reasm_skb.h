// ReasmSkb: the geometry of the skb a complete queue is delivered as, built
// the way inet_frag_reasm_finish builds it (trace/frag/frag_ops.h, Reasm)
// from the queue's skbs in offset order, head first: how many bytes went into
// the head's linear tailroom, how many heads it took as page fragments, how
// many skbs hang on its frag_list, and its truesize. It copies no byte (the
// engine's final copy is the one per-byte pass) and allocates nothing.
//
// Invariants (check()):
//   * nr_frags <= kMaxSkbFrags;
//   * a head with a frag_list took nothing after it: once frag_list > 0,
//     append only chains (skb_try_coalesce refuses a head with a frag_list);
//   * a nonlinear head has no tailroom: tailroom is 0 once nr_frags or
//     frag_list is;
//   * under Reasm::kList, nr_frags == 0 and truesize is the sum of the skbs'.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "impl/frag/skb.h"
#include "trace/frag/frag_ops.h"

namespace nv::frag {

class ReasmSkb {
 public:
  // inet_frag_reasm_prepare: the head, as received.
  ReasmSkb(Family family, const Skb& head, Reasm design)
      : truesize_(head.truesize),
        tailroom_(design == Reasm::kCoalesce
                      ? skb_tailroom(family, head.truesize, head.len, head.ext)
                      : 0),
        chain_only_(design == Reasm::kList) {}

  // The next skb in offset order: skb_try_coalesce into the head (its tailroom,
  // else its head stolen as a page fragment), else onto the head's frag_list.
  void append(const Skb& s) {
    if (!chain_only_ && s.len <= tailroom_) {
      tailroom_ -= s.len;
      return;
    }
    tailroom_ = 0;
    if (!chain_only_ && nr_frags_ < kMaxSkbFrags) {
      nr_frags_++;
      truesize_ += s.truesize - kSkbStruct;  // kfree_skb_partial frees its sk_buff
      return;
    }
    chain_only_ = true;
    frag_list_++;
    truesize_ += s.truesize;
  }

  uint64_t truesize() const { return truesize_; }
  uint32_t nr_frags() const { return nr_frags_; }
  uint32_t frag_list() const { return frag_list_; }

  std::optional<std::string> check() const {
    if (nr_frags_ > kMaxSkbFrags) return "reasm skb: more page fragments than MAX_SKB_FRAGS";
    if ((nr_frags_ || frag_list_) && tailroom_) return "reasm skb: a nonlinear head with tailroom";
    if (frag_list_ && !chain_only_) return "reasm skb: a head with a frag_list still coalescing";
    return std::nullopt;
  }

 private:
  uint64_t truesize_;
  uint64_t tailroom_;       // the linear head's, 0 once it is nonlinear
  bool chain_only_;         // the head has (or, kList, will have) a frag_list
  uint32_t nr_frags_ = 0;   // heads taken as page fragments
  uint32_t frag_list_ = 0;  // skbs on the frag_list
};

}  // namespace nv::frag
