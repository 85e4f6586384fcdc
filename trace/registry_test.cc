#include "trace/registry.h"

#include <gtest/gtest.h>

namespace nv::trace {
namespace {

TEST(Registry, EveryOpCarriesTheIdOfItsName) {
  Registry r;
  register_core_ops(r);
  ASSERT_FALSE(r.ops().empty());
  for (const auto& op : r.ops()) EXPECT_EQ(op->id, op_id(op->name)) << op->name;
  static_assert(op_id("netns add") != op_id("netns del"));
  EXPECT_EQ(r.find("tick")->id, op_id("tick"));
}

TEST(RegistryDeathTest, AnOpRegisteredTwiceAborts) {
  Registry r;
  register_core_ops(r);
  EXPECT_DEATH(r.add_op({.name = "tick", .subsystem = "core"}), "registered twice");
}

}  // namespace
}  // namespace nv::trace
