#include "properties/shape_op.h"

#include "runner/subsystem.h"

namespace nv::gen {

trace::Op shape_op(std::string_view spec, std::initializer_list<trace::Value> values, bool async) {
  trace::Op op;
  op.spec = runner::registry().find(spec);
  op.args.assign(op.spec->fields.size(), std::nullopt);
  size_t i = 0;
  for (const trace::Value& v : values) op.args[i++] = v;
  op.async = async;
  return op;
}

}  // namespace nv::gen
