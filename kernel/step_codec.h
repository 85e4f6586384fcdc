// How the kernel engine's child reports to its parent over a pipe: a stream
// of records, each a sequence of netstrings ("5:hello"), so that no value
// needs escaping and a truncated stream (a child that died) is detected.
//
//   step  OP_INDEX LINE N_EVENTS EVENT... N_NS (NS N (NAME VALUE)...)...
//   end   N_EVENTS EVENT...
//   fail  STATUS MESSAGE          (STATUS: "unavailable" or "failed")
//   EVENT = KIND N_FIELDS (KEY u|s VALUE)...
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kernel/kernel_engine.h"

namespace nv::kernel {

std::string encode_step(const KernelStep& step);
std::string encode_end(const std::vector<trace::Event>& events);
std::string encode_fail(KernelResult::Status status, const std::string& message);

// Decodes the complete records at the front of `stream` into *result
// (steps, end events, a failure's status and message); returns how many
// bytes they take. A record cut short, or a malformed one, is left: the
// stream decodes record by record as it arrives, and a whole stream is
// valid when every byte is taken.
size_t decode_records(std::string_view stream, KernelResult* result);

}  // namespace nv::kernel
