#include "properties/defer/defer_shapes.h"

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
  if (t.ops.empty()) return false;
  const size_t i = random % t.ops.size();
  const trace::Op& op = t.ops[i];
  if (op.async || op.spec->runner_only || op.spec->id == trace::op_id("cpu steer")) return false;
  t.ops.insert(t.ops.begin() + std::ptrdiff_t(i + 1), steer(0));
  t.ops.insert(t.ops.begin() + std::ptrdiff_t(i), steer(1 + (random >> 32) % 3));
  return true;
}

}  // namespace nv::gen
