#include "properties/dst/dst_shapes.h"

#include <string>
#include <vector>

#include "runner/subsystem.h"
#include "trace/dst/dst_ops.h"

namespace nv::gen {
namespace {

namespace f = dst::fields;

trace::Op op(std::string_view name, trace::Value v) {
  trace::Op o;
  o.spec = runner::registry().find(name);
  o.args.assign(o.spec->fields.size(), std::nullopt);
  o.args[0] = std::move(v);
  return o;
}

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
  trace::Op hold;
  hold.spec = runner::registry().find("dst hold");
  hold.args.assign(hold.spec->fields.size(), std::nullopt);
  hold.args[f::kHoldDst] = t.ops[i].args[f::kFreeDst];
  hold.args[f::kHoldRef] = ref;
  const std::vector<trace::Op> after = {
      op("tick", uint64_t(100)),     // DST_GC_MIN: the worker's first run finds it held
      op("dst put", ref),            // the last reference goes
      op("tick", uint64_t(121000)),  // past DST_GC_MAX + DST_GC_MIN
  };
  t.ops.insert(t.ops.begin() + std::ptrdiff_t(i + 1), after.begin(), after.end());
  t.ops.insert(t.ops.begin() + std::ptrdiff_t(i), std::move(hold));
  return true;
}

}  // namespace nv::gen
