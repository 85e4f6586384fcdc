// The lines the fuzzers' targeted shapes insert (Subsystem::fuzz_shapes):
// an op of a registered spec with its leading fields set, the rest absent.
#pragma once

#include <initializer_list>
#include <string_view>

#include "trace/op.h"

namespace nv::gen {

// `spec` names a registered op ("dst hold"); `values` fill its fields in
// order. Started with "go" when `async`.
trace::Op shape_op(std::string_view spec, std::initializer_list<trace::Value> values,
                   bool async = false);

}  // namespace nv::gen
