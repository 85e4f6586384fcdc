#include "impl/frag/object_pool.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace nv::frag {
namespace {

struct Counted {
  static int alive;
  std::string text;
  explicit Counted(std::string t = "") : text(std::move(t)) { ++alive; }
  ~Counted() { --alive; }
};
int Counted::alive = 0;

TEST(ObjectPool, ConstructsAndDestroysInPlace) {
  ObjectPool<Counted> pool(4);
  Counted* a = pool.make("a");
  Counted* b = pool.make("b");
  EXPECT_EQ(a->text, "a");
  EXPECT_EQ(b->text, "b");
  EXPECT_EQ(Counted::alive, 2);
  EXPECT_EQ(pool.live(), 2u);
  pool.destroy(a);
  pool.destroy(b);
  EXPECT_EQ(Counted::alive, 0);
  EXPECT_EQ(pool.live(), 0u);
}

TEST(ObjectPool, ReusesFreedSlotsAndGrowsPastABlock) {
  ObjectPool<Counted> pool(4);
  std::vector<Counted*> made;
  for (int i = 0; i < 10; ++i) made.push_back(pool.make(std::to_string(i)));
  EXPECT_EQ(std::set<Counted*>(made.begin(), made.end()).size(), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(made[i]->text, std::to_string(i));
  Counted* freed = made[3];
  pool.destroy(freed);
  EXPECT_EQ(pool.make("again"), freed);  // LIFO free list: hot in cache
  for (Counted* c : made) pool.destroy(c);
  EXPECT_EQ(pool.live(), 0u);
}

}  // namespace
}  // namespace nv::frag
