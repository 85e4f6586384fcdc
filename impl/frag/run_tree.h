// RunTree: the fragments of one reassembly queue, as the kernel keeps them
// since Linux 4.19 (net/ipv4/inet_fragment.c, inet_frag_queue_insert): an
// ordered tree of RUNS, each run a chain of skbs that arrived in order, each
// starting exactly where the previous one ended.
//
// insert() is the kernel's algorithm:
//   * fast path, O(1): a fragment ending past the highest run's end is
//     appended to that run when it starts exactly at its end (the common,
//     in-order case), starts a new run at the end of the tree when it starts
//     further on, and is an overlap when it starts inside the run;
//   * otherwise, O(log n): the run with the greatest offset below the
//     fragment's end decides: the fragment is a duplicate when that run
//     contains it, an overlap when it intersects it without being contained,
//     and otherwise becomes a new single-skb run in the tree.
// Runs are never merged except by the fast-path append, so a fragment that
// exactly fills the gap between two runs starts a run of its own, and one
// that covers two adjacent runs is an overlap (RFC 5722 as Linux applies it).
//
// Invariants (check() verifies them):
//   * the tree holds the head skb of every run, ordered by offset; runs are
//     pairwise disjoint: a run's run_end <= the next run's off;
//   * within a run, skbs are chained by next_frag, each starting at the end
//     of the previous one, and the head's run_end is the end of the last one;
//     only run heads are linked in the tree; every skb has len > 0;
//   * last_run_ is the highest run's head and tail_ the last skb of that run
//     (kernel: fragments_tail), both null iff the tree is empty.
// The tree owns no memory: the caller allocates skbs and gets every one of
// them back through release().
#pragma once

#include <boost/intrusive/set.hpp>
#include <cassert>
#include <cstdint>
#include <optional>
#include <string>

#include "impl/frag/skb.h"

namespace nv::frag {

class RunTree {
 public:
  // What inet_frag_queue_insert returns.
  enum class Insert { kOk, kDup, kOverlap };

  RunTree() = default;
  RunTree(const RunTree&) = delete;
  RunTree& operator=(const RunTree&) = delete;
  ~RunTree() { assert(runs_.empty()); }

  // skb->off and skb->len (> 0) are set. On kOk the tree holds skb until
  // release(); otherwise it is untouched and still the caller's.
  Insert insert(Skb* skb);

  bool empty() const { return runs_.empty(); }
  // The skb at the lowest offset, or nullptr.
  const Skb* first() const { return runs_.empty() ? nullptr : &*runs_.begin(); }
  // End of the highest run; 0 when empty.
  uint32_t end() const { return last_run_ ? last_run_->run_end : 0; }

  // f(const Skb&) on every skb in offset order.
  template <class F>
  void for_each_skb(F f) const {
    for (const Skb& head : runs_)
      for (const Skb* s = &head; s; s = s->next_frag) f(*s);
  }
  // f(off, end) on every run in offset order.
  template <class F>
  void for_each_run(F f) const {
    for (const Skb& head : runs_) f(head.off, head.run_end);
  }

  // Unlinks every skb and hands it to dispose(Skb*), in no particular order.
  template <class F>
  void release(F dispose) {
    runs_.clear_and_dispose([&](Skb* head) {
      for (Skb* s = head; s;) {
        Skb* next = s->next_frag;
        s->next_frag = nullptr;
        dispose(s);
        s = next;
      }
    });
    last_run_ = tail_ = nullptr;
  }

  std::optional<std::string> check() const;

 private:
  struct OffsetOf {
    using type = uint32_t;
    const uint32_t& operator()(const Skb& s) const { return s.off; }
  };
  using Tree =
      boost::intrusive::set<Skb, boost::intrusive::member_hook<Skb, Skb::RunHook, &Skb::run_hook>,
                            boost::intrusive::key_of_value<OffsetOf>,
                            boost::intrusive::constant_time_size<false>>;

  void new_run(Tree::const_iterator pos, Skb* skb);

  Tree runs_;
  Skb* last_run_ = nullptr;
  Skb* tail_ = nullptr;
};

}  // namespace nv::frag
