#include "properties/dst/dst_shapes.h"

#include <string>
#include <vector>

#include "properties/shape_op.h"
#include "trace/dst/dst_ops.h"

namespace nv::gen {
namespace {

namespace f = dst::fields;

// A reference name no op of t uses.
std::string fresh_ref(const trace::Trace& t) {
  for (uint32_t k = 0;; ++k) {
    const std::string name = "late" + std::to_string(k);
    bool used = false;
    for (const trace::Op& o : t.ops)
      for (size_t i = 0; i < o.spec->fields.size() && !used; ++i)
        used = o.spec->fields[i].kind == trace::Kind::kName && o.has(i) && o.name(i) == name;
    if (!used) return name;
  }
}

}  // namespace

bool dst_put_late(trace::Trace& t, uint64_t random) {
  std::vector<size_t> frees;
  for (size_t i = 0; i < t.ops.size(); ++i)
    if (t.ops[i].spec->id == trace::op_id("dst free") && !t.ops[i].async) frees.push_back(i);
  if (frees.empty()) return false;
  const size_t i = frees[random % frees.size()];
  const std::string ref = fresh_ref(t);
  static_assert(f::kHoldDst == 0 && f::kHoldRef == 1);
  trace::Op hold = shape_op("dst hold", {*t.ops[i].args[f::kFreeDst], ref});
  const std::vector<trace::Op> after = {
      shape_op("tick", {uint64_t(100)}),     // DST_GC_MIN: the worker's first run finds it held
      shape_op("dst put", {ref}),            // the last reference goes
      shape_op("tick", {uint64_t(121000)}),  // past DST_GC_MAX + DST_GC_MIN
  };
  t.ops.insert(t.ops.begin() + std::ptrdiff_t(i + 1), after.begin(), after.end());
  t.ops.insert(t.ops.begin() + std::ptrdiff_t(i), std::move(hold));
  return true;
}

}  // namespace nv::gen
