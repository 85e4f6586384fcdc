#include "impl/frag/run_tree.h"

#include <iterator>

namespace nv::frag {

void RunTree::new_run(Tree::const_iterator pos, Skb* skb) {
  skb->next_frag = nullptr;
  skb->run_end = skb->end();
  runs_.insert_before(pos, *skb);
}

RunTree::Insert RunTree::insert(Skb* skb) {
  const uint32_t off = skb->off, end = skb->end();
  if (!last_run_) {
    new_run(runs_.end(), skb);
    last_run_ = tail_ = skb;
    return Insert::kOk;
  }
  if (end > last_run_->run_end) {
    // The common case: the fragment goes to the end.
    if (off < last_run_->run_end) return Insert::kOverlap;
    if (off == last_run_->run_end) {
      skb->next_frag = nullptr;
      tail_->next_frag = skb;
      tail_ = skb;
      last_run_->run_end = end;
    } else {
      new_run(runs_.end(), skb);
      last_run_ = tail_ = skb;
    }
    return Insert::kOk;
  }
  // The fragment ends inside the queued range: only the run with the greatest
  // offset below `end` can intersect it, since runs are disjoint and ordered.
  auto next = runs_.lower_bound(end);
  if (next != runs_.begin()) {
    const Skb& run = *std::prev(next);
    if (run.run_end > off)
      return off >= run.off && end <= run.run_end ? Insert::kDup : Insert::kOverlap;
  }
  new_run(next, skb);
  return Insert::kOk;
}

std::optional<std::string> RunTree::check() const {
  if (runs_.empty()) {
    if (last_run_ || tail_) return "run tree: empty tree with a tail";
    return std::nullopt;
  }
  const Skb* prev = nullptr;
  for (const Skb& head : runs_) {
    if (prev && prev->run_end > head.off) return "run tree: runs overlap or are out of order";
    const Skb* s = &head;
    for (;; s = s->next_frag) {
      if (s->len == 0) return "run tree: empty skb";
      if (s != &head && s->run_hook.is_linked()) return "run tree: run member linked in the tree";
      if (!s->next_frag) break;
      if (s->next_frag->off != s->end()) return "run tree: run is not contiguous";
    }
    if (head.run_end != s->end()) return "run tree: run_end is not the end of the run";
    prev = &head;
  }
  if (last_run_ != prev) return "run tree: last_run is not the highest run";
  const Skb* t = last_run_;
  while (t->next_frag) t = t->next_frag;
  if (tail_ != t) return "run tree: tail is not the last skb of the highest run";
  return std::nullopt;
}

}  // namespace nv::frag
