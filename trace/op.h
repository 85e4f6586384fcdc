// Operations, their specs, and traces.
//
// An OpSpec describes one operation of the trace language: its name (one or
// two words, "frag", "netns add"), positional fields, then key=value fields.
// Subsystems add OpSpecs to a Registry; the parser, the printer, the
// generators and the fuzz decoder all work from the specs, so a subsystem adds
// operations without touching any of them.
//
// An Op is one parsed line: a pointer to its spec and one optional value per
// field, indexed like spec->fields. Subsystems read their fields through
// index constants declared beside their spec (see frag_ops.h).
#pragma once

#include <boost/container/small_vector.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "trace/event.h"
#include "trace/value.h"

namespace nv::trace {

struct Op;

// How a kName field uses the name it holds. Names live in scopes (FieldSpec::
// scope): namespaces, and whatever else a subsystem names (references,
// devices, pernet operations). The parser keeps the set of live names of each
// scope ("init" always exists among namespaces) and rejects a trace that
// refers to a name that is not alive at that line.
enum class NsUse : uint8_t { kRef, kCreate, kDestroy };

// The scope of namespace names.
inline constexpr std::string_view kScopeNetns = "netns";

struct FieldSpec {
  std::string key;  // key of key=value; for a positional field, its placeholder ("NS")
  Kind kind = Kind::kUint;
  bool positional = false;
  bool required = true;
  uint64_t min = 0;                                 // kUint
  uint64_t max = UINT64_MAX;                        // kUint
  std::string vocab;                                // kWord: vocabulary name
  const std::vector<std::string>* words = nullptr;  // kWord: set by Registry::add_op
  NsUse ns_use = NsUse::kRef;                       // kName
  std::string scope = std::string(kScopeNetns);     // kName: which names
  // kName: the named thing is held by one context at a time (an skb): racing
  // lines cannot share it (trace/section_names.h).
  bool exclusive = false;
  // kAddr: the kWord field whose second word ("v6") makes the address an
  // IPv6 one; kData: the kUint field that gives the data's length. The fuzz
  // decoder follows them; SIZE_MAX: none.
  size_t family_field = SIZE_MAX;
  size_t length_field = SIZE_MAX;
  // Added after the fuzz targets' op tables froze: the fuzz decoder reads it
  // only for a table entry that names it ("frag+ecn"), so that the inputs of
  // older tables keep their meaning (fuzz/byte_trace.h).
  bool late = false;
  std::string help;
};

// A positional name field of `scope` that the operation uses as `use`.
inline FieldSpec name_field(std::string_view key, std::string_view scope, NsUse use,
                            std::string help) {
  return FieldSpec{.key = std::string(key),
                   .kind = Kind::kName,
                   .positional = true,
                   .ns_use = use,
                   .scope = std::string(scope),
                   .help = std::move(help)};
}

// A cross-field check (for example, that an address family matches "v4|v6").
// Returns the offending field's index and a message.
struct FieldError {
  size_t field;
  std::string message;
};
using OpCheck = std::function<std::optional<FieldError>(const Op&)>;

// An expectation's evaluation against one engine's observations so far:
// std::nullopt when it holds, otherwise what was observed instead.
using ExpectFn = std::function<std::optional<std::string>(const Op&, const std::vector<Event>&,
                                                          const Snapshot&)>;

// An operation's name as a number, so that engines dispatch on it with a
// switch instead of string compares: case op_id("frag"). Registry::add_op
// sets OpSpec::id and refuses two names with one id.
constexpr uint64_t op_id(std::string_view name) {
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a
  for (char c : name) h = (h ^ uint8_t(c)) * 0x100000001b3ull;
  return h;
}

struct OpSpec {
  std::string name;
  uint64_t id = 0;  // op_id(name), set by Registry::add_op
  std::string subsystem;
  std::string help;
  std::vector<FieldSpec> fields;
  OpCheck check;  // optional
  // Optional: adjusts field values so that `check` passes where it can (a v4
  // id folded into 16 bits, an offset rounded down to a multiple of 8). The
  // fuzz decoder calls it so that every byte string becomes a valid trace.
  std::function<void(Op&)> normalize;
  ExpectFn expect;  // set for "expect ..." operations, which engines never see
  // The runner's own operations (sched), which engines never see either and
  // which cannot be started with "go".
  bool runner_only = false;

  size_t field_index(std::string_view key) const;  // SIZE_MAX when absent
};

struct Op {
  // Held inline up to kInlineArgs fields (every op registered today): a
  // decoded fuzz input of a few hundred ops then allocates per op nothing.
  static constexpr size_t kInlineArgs = 14;
  using Args = boost::container::small_vector<std::optional<Value>, kInlineArgs>;

  const OpSpec* spec = nullptr;
  Args args;
  uint32_t line = 0;   // 1-based line in the source, 0 for a generated op
  bool async = false;  // "go OP": started on a thread of its own, not waited for

  bool has(size_t i) const { return args[i].has_value(); }
  uint64_t u(size_t i) const { return std::get<uint64_t>(*args[i]); }
  uint64_t u_or(size_t i, uint64_t dflt) const { return has(i) ? u(i) : dflt; }
  uint32_t word(size_t i) const { return std::get<Word>(*args[i]).index; }
  const std::string& word_text(size_t i) const { return (*spec->fields[i].words)[word(i)]; }
  const std::string& name(size_t i) const { return std::get<std::string>(*args[i]); }
  const Addr& addr(size_t i) const { return std::get<Addr>(*args[i]); }
  const Data& data(size_t i) const { return std::get<Data>(*args[i]); }

  friend bool operator==(const Op& a, const Op& b) {
    return a.spec == b.spec && a.args == b.args && a.async == b.async;
  }
};

struct Trace {
  std::vector<Op> ops;
};

// Operations one at a time, in trace order: a parsed Trace, or a trace's
// text parsed as it is read (trace/parser.h), so that a run's memory follows
// the live state rather than the trace's length.
class OpSource {
 public:
  virtual ~OpSource() = default;
  // The next operation into *op; false at the end (or, for text, at an
  // invalid line: the source says which).
  virtual bool next(Op* op) = 0;
  // Back to the first operation.
  virtual void rewind() = 0;
  // Whether any operation is an expectation (they read every earlier event).
  virtual bool has_expectations() const = 0;
};

// A parsed trace as an OpSource.
class TraceSource final : public OpSource {
 public:
  explicit TraceSource(const Trace& trace) : trace_(trace) {}
  bool next(Op* op) override {
    if (next_ == trace_.ops.size()) return false;
    *op = trace_.ops[next_++];
    return true;
  }
  void rewind() override { next_ = 0; }
  bool has_expectations() const override {
    for (const Op& op : trace_.ops)
      if (op.spec->expect) return true;
    return false;
  }

 private:
  const Trace& trace_;
  size_t next_ = 0;
};

}  // namespace nv::trace
