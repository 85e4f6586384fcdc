// IntrusiveHashTable<T>: the table of reassembly queues of one namespace and
// family (the kernel's fqdir->rhashtable), with chaining through a pointer
// stored in each T, so that a lookup or an insert allocates nothing.
//
// T provides:
//   using Key = ...;          equality-comparable
//   Key key;                  never changes while T is in a table
//   uint64_t hash;            hash of key, computed once by the caller
//   T* hash_next;             chain link, owned by the table
//
// Invariants (check() verifies them):
//   * buckets_.size() is 0 or a power of two; every element sits in the chain
//     of bucket (hash & (buckets_.size() - 1)) and in no other chain;
//   * no two elements have equal keys; size() counts them;
//   * after any insert, size() <= buckets_.size() (load factor <= 1): the
//     table doubles, rehashing every chain, when an insert would exceed it.
// The table never shrinks; it holds no memory until the first insert.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace nv::frag {

template <class T>
class IntrusiveHashTable {
 public:
  using Key = typename T::Key;

  T* find(const Key& key, uint64_t hash) const {
    if (buckets_.empty()) return nullptr;
    for (T* t = buckets_[hash & mask_]; t; t = t->hash_next)
      if (t->hash == hash && t->key == key) return t;
    return nullptr;
  }

  // t->key and t->hash are set and no element has an equal key.
  void insert(T* t) {
    if (size_ + 1 > buckets_.size()) grow();
    T*& head = buckets_[t->hash & mask_];
    t->hash_next = head;
    head = t;
    ++size_;
  }

  // t is in this table.
  void erase(T* t) {
    T** link = &buckets_[t->hash & mask_];
    while (*link != t) link = &(*link)->hash_next;
    *link = t->hash_next;
    t->hash_next = nullptr;
    --size_;
  }

  // Unlinks every element, calling dispose(T*) on each (which may free it).
  template <class F>
  void clear(F dispose) {
    for (T*& head : buckets_) {
      while (T* t = head) {
        head = t->hash_next;
        t->hash_next = nullptr;
        dispose(t);
      }
    }
    size_ = 0;
  }

  template <class F>
  void for_each(F f) const {
    for (T* head : buckets_)
      for (T* t = head; t; t = t->hash_next) f(t);
  }

  size_t size() const { return size_; }
  size_t bucket_count() const { return buckets_.size(); }

  // The first broken invariant, if any. O(size + buckets).
  std::optional<std::string> check() const {
    if (buckets_.empty()) {
      if (size_ != 0) return "hash table: elements without buckets";
      return std::nullopt;
    }
    if ((buckets_.size() & mask_) != 0 || mask_ + 1 != buckets_.size())
      return "hash table: bucket count not a power of two";
    if (size_ > buckets_.size()) return "hash table: load factor above 1";
    size_t n = 0;
    for (size_t b = 0; b < buckets_.size(); ++b) {
      for (T* t = buckets_[b]; t; t = t->hash_next) {
        if ((t->hash & mask_) != b) return "hash table: element in the wrong bucket";
        for (T* u = t->hash_next; u; u = u->hash_next)
          if (u->key == t->key) return "hash table: duplicate key";
        if (++n > size_) return "hash table: more elements than size()";
      }
    }
    if (n != size_) return "hash table: fewer elements than size()";
    return std::nullopt;
  }

 private:
  static constexpr size_t kInitialBuckets = 16;

  void grow() {
    std::vector<T*> old = std::move(buckets_);
    buckets_.assign(old.empty() ? kInitialBuckets : old.size() * 2, nullptr);
    mask_ = buckets_.size() - 1;
    for (T* head : old) {
      while (T* t = head) {
        head = t->hash_next;
        T*& dst = buckets_[t->hash & mask_];
        t->hash_next = dst;
        dst = t;
      }
    }
  }

  std::vector<T*> buckets_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace nv::frag
