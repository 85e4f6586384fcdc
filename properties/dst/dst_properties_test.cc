// Properties of dst on generated traces: model == impl after every
// operation and across concurrent sections (which, with the impl's
// self-checks in its state, also says that no entry was destroyed while
// referenced, that no unreferenced freed entry outlived the collector's
// deadline, and that the garbage-list lock did constant work per section).
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "properties/differential.h"

namespace nv {
namespace {

// One model, three designs: the 2007 worker (the default), the softirq
// timer before it, and today's RCU release.
RC_GTEST_PROP(DstProperties, WorkerAgreesWithModel, ()) {
  props::differential_property("dst", {}, {{"dst", "worker"}});
}
RC_GTEST_PROP(DstProperties, TimerAgreesWithModel, ()) {
  props::differential_property("dst", {}, {{"dst", "timer"}});
}
RC_GTEST_PROP(DstProperties, RcuAgreesWithModel, ()) {
  props::differential_property("dst", {}, {{"dst", "rcu"}});
}

}  // namespace
}  // namespace nv
