#include "properties/defer/defer_shapes.h"

#include <vector>

#include "runner/subsystem.h"

namespace nv::gen {
namespace {

trace::Op steer(uint64_t cpu) {
  trace::Op op;
  op.spec = runner::registry().find("cpu steer");
  op.args.assign(op.spec->fields.size(), std::nullopt);
  op.args[0] = cpu;
  return op;
}

}  // namespace

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
  t.ops.insert(t.ops.begin() + std::ptrdiff_t(i + 1), steer(0));
  t.ops.insert(t.ops.begin() + std::ptrdiff_t(i), steer(1 + (random >> 32) % 3));
  return true;
}

}  // namespace nv::gen
