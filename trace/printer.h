// Trace -> canonical text.
//
// One line per op: the op's name, its positional fields, then the key=value
// fields that are present, in spec order; numbers in decimal. The canonical
// form is a fixed point: print(parse(print(t))) == print(t)
// (printer_test.cc checks it on generated traces).
#pragma once

#include <string>

#include "trace/op.h"

namespace nv::trace {

inline constexpr std::string_view kTraceHeader = "netverify-trace 1";

std::string print(const Op& op);
std::string print(const Trace& trace);  // header line, then one line per op

}  // namespace nv::trace
