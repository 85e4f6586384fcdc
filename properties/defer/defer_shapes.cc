#include "properties/defer/defer_shapes.h"

#include <vector>

#include "properties/shape_op.h"

namespace nv::gen {

bool defer_steer(trace::Trace& t, uint64_t random) {
  // Ops of the subsystems that use skbs (not this one's own, not the core's).
  std::vector<size_t> users;
  for (size_t i = 0; i < t.ops.size(); ++i) {
    const trace::Op& op = t.ops[i];
    if (!op.async && !op.spec->runner_only && op.spec->subsystem != "defer" &&
        op.spec->subsystem != "core")
      users.push_back(i);
  }
  if (users.empty()) return false;
  const size_t i = users[random % users.size()];
  t.ops.insert(t.ops.begin() + std::ptrdiff_t(i + 1), shape_op("cpu steer", {uint64_t(0)}));
  t.ops.insert(t.ops.begin() + std::ptrdiff_t(i), shape_op("cpu steer", {1 + (random >> 32) % 3}));
  return true;
}

}  // namespace nv::gen
