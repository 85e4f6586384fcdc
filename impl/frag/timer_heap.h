// TimerHeap<T, &T::timer>: the expiry timers of every reassembly queue of an
// engine, as one indexed binary min-heap ordered by (deadline, creation seq).
// It stands in for the kernel's timer wheel: arming, re-arming and cancelling
// a queue's timer are O(log n), and a tick pops only the timers that fall due,
// in the same (deadline, seq) order as the reference model's global sort.
//
// Each T embeds a TimerHook; the heap stores, per armed timer, a copy of its
// (deadline, seq) next to the T*, so that sifting touches only the heap array
// (and writes the moved timer's index back into its hook).
//
// Invariants (check() verifies them):
//   * heap order: no entry's (deadline, seq) is below its parent's;
//   * a T is armed iff hook.index != kUnarmed, and then heap_[hook.index]
//     names that T and carries hook's deadline and seq;
//   * seq values are unique (the owner hands them out), so the order of
//     expiry is total and deterministic.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace nv::frag {

struct TimerHook {
  static constexpr size_t kUnarmed = SIZE_MAX;
  uint64_t deadline_ms = 0;
  uint64_t seq = 0;
  size_t index = kUnarmed;
  bool armed() const { return index != kUnarmed; }
};

template <class T, TimerHook T::*Hook>
class TimerHeap {
 public:
  // t is not armed.
  void arm(T* t, uint64_t deadline_ms, uint64_t seq) {
    TimerHook& h = t->*Hook;
    h.deadline_ms = deadline_ms;
    h.seq = seq;
    h.index = heap_.size();
    heap_.push_back({deadline_ms, seq, t});
    sift_up(h.index);
  }

  // mod_timer: t is armed; its seq (tie-breaker) stays.
  void rearm(T* t, uint64_t deadline_ms) {
    TimerHook& h = t->*Hook;
    const uint64_t old = h.deadline_ms;
    h.deadline_ms = deadline_ms;
    heap_[h.index].deadline_ms = deadline_ms;
    if (deadline_ms < old) {
      sift_up(h.index);
    } else {
      sift_down(h.index);
    }
  }

  // del_timer: t is armed.
  void cancel(T* t) {
    TimerHook& h = t->*Hook;
    const size_t i = h.index;
    h.index = TimerHook::kUnarmed;
    const size_t last = heap_.size() - 1;
    if (i != last) {
      place(i, heap_[last]);
      heap_.pop_back();
      if (i > 0 && less(heap_[i], heap_[(i - 1) / 2])) {
        sift_up(i);
      } else {
        sift_down(i);
      }
    } else {
      heap_.pop_back();
    }
  }

  // The armed timer with the smallest (deadline, seq) if it is due at
  // now_ms, disarmed; nullptr otherwise.
  T* pop_expired(uint64_t now_ms) {
    if (heap_.empty() || heap_[0].deadline_ms > now_ms) return nullptr;
    T* t = heap_[0].owner;
    cancel(t);
    return t;
  }

  // Calls f(t) for every armed timer due at now_ms, in no particular order,
  // without disarming any: O(number due), since a heap entry above now_ms
  // has none due below it.
  template <class F>
  void for_each_due(uint64_t now_ms, F&& f) const {
    std::vector<size_t> todo;
    if (!heap_.empty()) todo.push_back(0);
    while (!todo.empty()) {
      const size_t i = todo.back();
      todo.pop_back();
      if (i >= heap_.size() || heap_[i].deadline_ms > now_ms) continue;
      f(heap_[i].owner);
      todo.push_back(2 * i + 1);
      todo.push_back(2 * i + 2);
    }
  }

  size_t size() const { return heap_.size(); }
  bool empty() const { return heap_.empty(); }

  std::optional<std::string> check() const {
    for (size_t i = 0; i < heap_.size(); ++i) {
      const Entry& e = heap_[i];
      const TimerHook& h = e.owner->*Hook;
      if (h.index != i) return "timer heap: stale index in hook";
      if (h.deadline_ms != e.deadline_ms || h.seq != e.seq)
        return "timer heap: entry disagrees with its hook";
      if (i > 0 && less(e, heap_[(i - 1) / 2])) return "timer heap: heap order broken";
    }
    return std::nullopt;
  }

 private:
  struct Entry {
    uint64_t deadline_ms;
    uint64_t seq;
    T* owner;
  };

  static bool less(const Entry& a, const Entry& b) {
    return a.deadline_ms != b.deadline_ms ? a.deadline_ms < b.deadline_ms : a.seq < b.seq;
  }

  void place(size_t i, const Entry& e) {
    heap_[i] = e;
    (e.owner->*Hook).index = i;
  }

  void sift_up(size_t i) {
    const Entry e = heap_[i];
    while (i > 0) {
      const size_t parent = (i - 1) / 2;
      if (!less(e, heap_[parent])) break;
      place(i, heap_[parent]);
      i = parent;
    }
    place(i, e);
  }

  void sift_down(size_t i) {
    const Entry e = heap_[i];
    const size_t n = heap_.size();
    for (;;) {
      size_t child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && less(heap_[child + 1], heap_[child])) ++child;
      if (!less(heap_[child], e)) break;
      place(i, heap_[child]);
      i = child;
    }
    place(i, e);
  }

  std::vector<Entry> heap_;
};

}  // namespace nv::frag
