// Fuzz input bytes <-> traces.
//
// decode() turns ANY byte string into a valid trace, so that no fuzzer input
// is wasted on parse errors. It is driven by the Registry's OpSpecs, so it
// covers every registered operation of the selected subsystems without
// knowing them. The input is a sequence of records:
//
//   record  = selector:u8  [presence:u8]  field*
//   selector  picks the operation (modulo the number of decodable ops)
//   presence  one bit per optional field, in order (only if the op has any)
//   field     kUint: one byte, the value itself when below 0xf0 (or when
//               the range fits a byte); else ceil(log256(range)) more
//               bytes, little endian; folded into the range.
//             kWord: u8 index.
//             namespace: u8, an index among the live namespaces, or into a
//               table of names for "netns add".
//             kDuration: u8 tag, then u16 ms (even tag) or u32 ms (odd).
//             kAddr: u8 table index, or 0xf0+ followed by 4 or 16 literal
//               bytes.
//             kHex64: 8 bytes.
//             kData: u8 mode, then a fill byte, or `len` literal bytes.
//
// A record that cannot be made valid (a namespace to delete when none can
// be) is skipped; op.normalize and op.check repair or reject the rest. Small
// byte changes make small trace changes: a byte changes one field's value.
// encode() is the inverse for any valid trace: decode(encode(t)) prints as t
// except that namespaces are renamed to the decoder's name table in order of
// creation. Expectations are not decoded (fuzzing has no ground truth).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "trace/op.h"
#include "trace/registry.h"

namespace nv::fuzz {

struct ByteTraceOptions {
  // Subsystems whose ops may appear besides the core's; empty: all.
  std::vector<std::string> subsystems;
  size_t max_ops = 1024;
};

// Decodes and encodes for one registry and one choice of subsystems, with
// what it needs of each op worked out once (the fuzz harness keeps one).
class Codec {
 public:
  Codec(const trace::Registry& registry, const ByteTraceOptions& options);
  ~Codec();
  trace::Trace decode(std::span<const uint8_t> bytes) const;
  // Fails (std::nullopt, *error set) for an op the decoder cannot produce.
  std::optional<std::vector<uint8_t>> encode(const trace::Trace& trace, std::string* error) const;

 private:
  struct Plans;
  std::unique_ptr<const Plans> plans_;
};

// One-shot forms of the above.
trace::Trace decode(std::span<const uint8_t> bytes, const trace::Registry& registry,
                    const ByteTraceOptions& options = {});
std::optional<std::vector<uint8_t>> encode(const trace::Trace& trace,
                                           const trace::Registry& registry,
                                           const ByteTraceOptions& options, std::string* error);

}  // namespace nv::fuzz
