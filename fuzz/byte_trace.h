// Fuzz input bytes <-> traces.
//
// decode() turns ANY byte string into a valid trace, so that no fuzzer input
// is wasted on parse errors. It is driven by the Registry's OpSpecs, so it
// covers every operation of the op tables it is given without knowing them.
// The input is a sequence of records:
//
//   record  = [slot:u8]  selector:u8  [presence:u8]  field*
//   slot      only in a slotted target (fuzz_all): which subsystem's table,
//             modulo kSlots; a slot no subsystem holds skips the record
//   selector  picks the operation, modulo the size of the op table (an
//             entry "go OP" decodes to OP started on a thread of its own)
//   presence  one bit per optional field, in order (only if the op has any)
//   field     kUint: one byte, the value itself when below 0xf0 (or when
//               the range fits a byte); else ceil(log256(range)) more
//               bytes, little endian; folded into the range.
//             kWord: u8 index into the vocabulary as the table froze it
//               (ByteTraceOptions::words), modulo its size.
//             kName: u8, an index among the live names of the field's
//               scope (namespaces: past "init" when destroying), or into
//               the scope's table of names when creating one ("a".."h" for
//               namespaces, SCOPE0..SCOPE7 otherwise).
//             kDuration: u8 tag, then u16 ms (even tag) or u32 ms (odd).
//             kAddr: u8 table index, or 0xf0+ followed by 4 or 16 literal
//               bytes (16 when FieldSpec::family_field says v6).
//             kHex64: 8 bytes.
//             kData: u8 mode, then a fill byte, or literal bytes: as many
//               as FieldSpec::length_field gives, else a u8 count first.
//
// Op tables are frozen: a subsystem's table (Subsystem::fuzz_ops) only
// ever grows by a new table (Subsystem::fuzz_later, a slot of fuzz_all),
// never by appending, and each table keeps its slot, so an input keeps its
// meaning when subsystems or ops are added (byte_trace_test.cc holds inputs
// with the traces they must decode to). A field added to an op after its
// tables froze (FieldSpec::late: frag's ecn=) is decoded only for table
// entries that name it, "frag+ecn", which only a new table can have; an
// entry "frag" decodes the op without it, and a trace using it cannot be
// encoded for such a table.
//
// A record that cannot be made valid (a namespace to delete when none can
// be) is skipped; op.normalize and op.check repair or reject the rest. Small
// byte changes make small trace changes: a byte changes one field's value.
// encode() is the inverse for any valid trace: decode(encode(t)) prints as t
// except that namespaces are renamed to the decoder's name table in order of
// creation. Expectations are not decoded (fuzzing has no ground truth).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "trace/op.h"
#include "trace/registry.h"

namespace nv::fuzz {

// Slots of a slotted target: the slot byte is taken modulo this.
inline constexpr size_t kSlots = 16;

struct ByteTraceOptions {
  // The op table, by op name, in its frozen order (one subsystem's target).
  std::vector<std::string> ops;
  // Or, when not empty, a slotted target: the op table of each slot.
  std::vector<std::vector<std::string>> slots;
  // Frozen vocabularies: a word field of a table's op decodes among the
  // words listed for its vocabulary, in that order (absent: the registry's
  // whole vocabulary), so that words another subsystem registers (its
  // sysctl keys) do not change what old inputs mean. One map for `ops`, one
  // per slot.
  std::map<std::string, std::vector<std::string>, std::less<>> words;
  std::vector<std::map<std::string, std::vector<std::string>, std::less<>>> slot_words;
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
