// Text -> Trace, with FILE:LINE:COL diagnostics.
//
// The parser is driven entirely by the Registry's OpSpecs. It checks the
// lexical rules of docs/trace.md, each field's kind and range, each op's
// cross-field check, and namespace liveness (a namespace must be added before
// it is used and cannot be used after it is deleted). It never throws and
// never crashes on arbitrary bytes (parser_test.cc feeds it random input).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "trace/op.h"
#include "trace/registry.h"

namespace nv::trace {

struct Diagnostic {
  uint32_t line = 0;
  uint32_t col = 0;
  std::string message;
};

struct ParseResult {
  Trace trace;
  std::optional<Diagnostic> error;  // set: the trace is invalid and must not run
};

ParseResult parse(std::string_view text, const Registry& registry);

// A trace's text parsed one operation at a time, as an OpSource: next()
// returns false at the end or at the first invalid line (error() then says
// where). parse() is this, collected.
class Parser final : public OpSource {
 public:
  Parser(std::string_view text, const Registry& registry);
  ~Parser() override;
  bool next(Op* op) override;
  void rewind() override;
  bool has_expectations() const override;
  const std::optional<Diagnostic>& error() const { return error_; }

 private:
  struct State;
  std::string_view text_;
  const Registry& registry_;
  std::unique_ptr<State> state_;
  std::optional<Diagnostic> error_;
};

// Whether ops built in memory (a mutated trace) make a trace the parser
// accepts, as far as ranges aside it checks: who may be started with "go",
// each op's cross-field check, names alive where used. std::nullopt, or
// the first failure's message. (Field values within their ranges are the
// builder's to keep.)
std::optional<std::string> check_ops(std::span<const Op> ops);

// `text` as an error message quotes it: at most `max_bytes` of it, then
// "...", and every byte outside printable ASCII escaped (\0, \t, \r, \n,
// \xEF, and \\ for a backslash), so that a message never carries a whole
// 10 MB token or an invisible byte such as a byte-order mark.
std::string excerpt(std::string_view text, size_t max_bytes = 40);

// "FILE:LINE:COL: message"
std::string format_diagnostic(std::string_view file, const Diagnostic& d);

// Reads and parses a file; an unreadable file is a Diagnostic at line 0.
ParseResult parse_file(const std::string& path, const Registry& registry);

}  // namespace nv::trace
