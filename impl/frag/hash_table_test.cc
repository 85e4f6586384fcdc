#include "impl/frag/hash_table.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

namespace nv::frag {
namespace {

struct Item {
  using Key = uint64_t;
  Key key = 0;
  uint64_t hash = 0;
  Item* hash_next = nullptr;
};

// A weak hash on purpose: every key of the same residue mod 64 collides in
// small tables, so chains are long and rehashing must split them.
uint64_t weak_hash(uint64_t k) {
  return k * 64 + k / 1000;
}

std::vector<std::unique_ptr<Item>> make_items(size_t n) {
  std::vector<std::unique_ptr<Item>> items;
  for (size_t i = 0; i < n; ++i) {
    auto it = std::make_unique<Item>();
    it->key = i * 7919;
    it->hash = weak_hash(it->key);
    items.push_back(std::move(it));
  }
  return items;
}

TEST(IntrusiveHashTable, EmptyTableHoldsNoBuckets) {
  IntrusiveHashTable<Item> table;
  EXPECT_EQ(table.bucket_count(), 0u);
  EXPECT_EQ(table.find(1, weak_hash(1)), nullptr);
  EXPECT_EQ(table.check(), std::nullopt);
}

TEST(IntrusiveHashTable, GrowsAndFindsEverythingAfterResize) {
  IntrusiveHashTable<Item> table;
  auto items = make_items(5000);
  size_t resizes = 0, buckets = 0;
  for (auto& it : items) {
    table.insert(it.get());
    if (table.bucket_count() != buckets) {
      ++resizes;
      buckets = table.bucket_count();
      // Every element inserted so far survives the rehash.
      for (auto& prev : items) {
        if (prev.get() == it.get()) break;
        ASSERT_EQ(table.find(prev->key, prev->hash), prev.get());
      }
    }
    ASSERT_LE(table.size(), table.bucket_count());
  }
  EXPECT_GE(resizes, 8u);  // 16 -> 8192 buckets
  EXPECT_EQ(table.bucket_count(), 8192u);
  EXPECT_EQ(table.size(), 5000u);
  EXPECT_EQ(table.check(), std::nullopt);
  for (auto& it : items) EXPECT_EQ(table.find(it->key, it->hash), it.get());
  EXPECT_EQ(table.find(1, weak_hash(1)), nullptr);
}

TEST(IntrusiveHashTable, EqualHashesAreToldApartByKey) {
  IntrusiveHashTable<Item> table;
  Item a{.key = 1, .hash = 42}, b{.key = 2, .hash = 42};
  table.insert(&a);
  table.insert(&b);
  EXPECT_EQ(table.find(1, 42), &a);
  EXPECT_EQ(table.find(2, 42), &b);
  EXPECT_EQ(table.find(3, 42), nullptr);
}

TEST(IntrusiveHashTable, EraseUnlinksFromTheMiddleOfAChain) {
  IntrusiveHashTable<Item> table;
  auto items = make_items(100);
  for (auto& it : items) table.insert(it.get());
  for (size_t i = 0; i < items.size(); i += 2) table.erase(items[i].get());
  EXPECT_EQ(table.size(), 50u);
  EXPECT_EQ(table.check(), std::nullopt);
  for (size_t i = 0; i < items.size(); ++i)
    EXPECT_EQ(table.find(items[i]->key, items[i]->hash), i % 2 ? items[i].get() : nullptr);
}

TEST(IntrusiveHashTable, ClearDisposesEveryElementOnce) {
  IntrusiveHashTable<Item> table;
  auto items = make_items(300);
  for (auto& it : items) table.insert(it.get());
  size_t disposed = 0;
  table.clear([&](Item* it) {
    EXPECT_EQ(it->hash_next, nullptr);
    ++disposed;
  });
  EXPECT_EQ(disposed, 300u);
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.find(items[0]->key, items[0]->hash), nullptr);
  EXPECT_EQ(table.check(), std::nullopt);
}

TEST(IntrusiveHashTable, CheckReportsAnElementInTheWrongBucket) {
  IntrusiveHashTable<Item> table;
  Item a{.key = 1, .hash = 3};
  table.insert(&a);
  a.hash = 4;  // the key's hash changed behind the table's back
  EXPECT_NE(table.check(), std::nullopt);
}

}  // namespace
}  // namespace nv::frag
