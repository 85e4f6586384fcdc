// ObjectPool<T>: a free list of T objects carved from large blocks, so that
// the per-fragment and per-queue allocations of the reassembly engine cost a
// pointer pop instead of a malloc (the kernel uses kmem_cache for its queues
// and sk_buffs for the same reason).
//
// Invariants:
//   * every slot of every block is either live (holds a constructed T handed
//     out by make() and not yet given back) or on the free list, never both;
//   * live() counts the live slots; the pool must be empty when destroyed
//     (its owner destroys what it made first; checked in debug builds).
// Memory is never returned to the system before the pool is destroyed.
// Not thread-safe: the owner serializes every call.
#pragma once

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <memory>
#include <new>
#include <utility>
#include <vector>

namespace nv::frag {

template <class T>
class ObjectPool {
 public:
  explicit ObjectPool(size_t block_objects = 256) : block_objects_(block_objects) {}
  ObjectPool(const ObjectPool&) = delete;
  ObjectPool& operator=(const ObjectPool&) = delete;
  ~ObjectPool() { assert(live_ == 0); }

  template <class... Args>
  T* make(Args&&... args) {
    if (!free_) grow();
    Slot* s = free_;
    free_ = s->next;
    ++live_;
    return ::new (static_cast<void*>(s->storage)) T(std::forward<Args>(args)...);
  }

  void destroy(T* t) {
    t->~T();
    Slot* s = reinterpret_cast<Slot*>(t);
    s->next = free_;
    free_ = s;
    --live_;
  }

  size_t live() const { return live_; }

 private:
  union Slot {
    Slot* next;
    alignas(T) unsigned char storage[sizeof(T)];
  };

  // Blocks double from a few slots up to block_objects_, so that a short-
  // lived engine (one fuzz input) does not pay for slots it never uses; the
  // slots are not zeroed, the free list is all that is written.
  void grow() {
    const size_t n = std::min(block_objects_, size_t{8} << std::min<size_t>(blocks_.size(), 16));
    blocks_.push_back(std::make_unique_for_overwrite<Slot[]>(n));
    Slot* block = blocks_.back().get();
    for (size_t i = n; i-- > 0;) {
      block[i].next = free_;
      free_ = &block[i];
    }
  }

  size_t block_objects_;
  std::vector<std::unique_ptr<Slot[]>> blocks_;
  Slot* free_ = nullptr;
  size_t live_ = 0;
};

}  // namespace nv::frag
